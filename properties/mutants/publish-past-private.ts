// flush_requests with an off-by-one: req_prod is published one slot beyond req_prod_pvt, so the
// backend is told about a request that was never written (a stale or zeroed slot).
import type { BlockRequest } from '../../impl/blkfront/block-request.ts';
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { queueRequest } from '../../impl/blkfront/queue-request.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { setReqProd } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const publishPastPrivate = variantOf('publish-past-private', {
  blkfront: {
    queueRequest(dev: BlkfrontDevice, rinfo: RingInfo, request: BlockRequest, env: FrontEnv) {
      const result = queueRequest(dev, rinfo, request, env);
      if (result.kind === 'queued')
        setReqProd(rinfo.front.sring, ringIdxAdd(rinfo.front.reqProdPvt, 1));
      return result;
    },
  },
});
