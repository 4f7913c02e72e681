// blkif_queue_rw_req as before "xen/blkfront: don't take local copy of a request from the ring
// page" (2021): the request is built in the ring slot and then copied back into the shadow
// (rinfo->shadow[id].req = *ring_req), so what the frontend later trusts is whatever the backend
// left in the slot, not what it built.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import type { BlockRequest } from '../../impl/blkfront/block-request.ts';
import { queueRequest } from '../../impl/blkfront/queue-request.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { readBackRequest } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const blkfrontCopiesRequestBack = variantOf('blkfront-copies-request-back', {
  blkfront: {
    queueRequest(dev: BlkfrontDevice, rinfo: RingInfo, request: BlockRequest, env: FrontEnv) {
      const result = queueRequest(dev, rinfo, request, env);
      if (result.kind === 'queued')
        readBackRequest(rinfo.front, env.abi, ringIdxAdd(rinfo.front.reqProdPvt, -1));
      return result;
    },
  },
});
