// make_response that raises the event after every response, whatever rsp_event says: a backend
// that ignores RING_PUSH_RESPONSES_AND_CHECK_NOTIFY's answer (as a simple or polling-averse
// implementation might). Spurious events cost the frontend an interrupt, never a request.
import type { CompleteResult } from '../../impl/blkback/ring-worker.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { variantOf } from '../mutants/variant.ts';

export const backendNotifiesAlways = variantOf('backend-notifies-always', {
  blkback: {
    completeIo(ring, slot, env): CompleteResult {
      const result = HONEST_DRIVERS.blkback.completeIo(ring, slot, env);
      if (!result.notify) env.evtchn.notify(env.domid, ring.port);
      return { ...result, notify: true };
    },
  },
});
