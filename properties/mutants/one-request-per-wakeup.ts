// A ring thread that handles one request per wake-up and goes back to sleep with more waiting,
// without RING_FINAL_CHECK_FOR_REQUESTS: the frontend already published them (no new event
// will come for those), so they stay on the ring.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { consumeRequest } from '../../impl/blkback/ring-worker.ts';
import { unconsumedRequests } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const oneRequestPerWakeup = variantOf('one-request-per-wakeup', {
  blkback: {
    consumeRequest(ring: BackRingState, env: BackEnv) {
      const result = consumeRequest(ring, env);
      if (result.kind !== 'halted' && unconsumedRequests(ring.back) > 0) ring.worker = 'sleeping';
      return result;
    },
  },
});
