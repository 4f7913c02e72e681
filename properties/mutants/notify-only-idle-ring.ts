// flush_requests that kicks the backend only when the ring looked idle (no response outstanding
// before this request), skipping RING_PUSH_REQUESTS_AND_CHECK_NOTIFY's answer otherwise: a
// backend that consumed everything and armed req_event sleeps through the new request.
import type { FrontEnv } from '../../impl/blkfront/device.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { ringIdxDistance } from '../../impl/xen/ring-index.ts';
import { pushRequestsAndCheckNotify } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const notifyOnlyIdleRing = variantOf('notify-only-idle-ring', {
  blkfront: {
    flushRequests(rinfo: RingInfo, env: FrontEnv) {
      const front = rinfo.front;
      const wasIdle = ringIdxDistance(front.rspCons, front.reqProdPvt) === 1;
      const asked = pushRequestsAndCheckNotify(front);
      const notify = asked && wasIdle;
      if (notify) env.evtchn.notify(env.domid, rinfo.port);
      return notify;
    },
  },
});
