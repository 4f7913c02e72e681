// blkif_interrupt as before "xen/blkfront: read response from backend only once" (2021): the id
// is checked on the copy, but the status and operation that decide the outcome are fetched
// again from the ring slot when the request is completed. A backend that rewrites the slot in
// between (rewriteResponse on a held copy) changes the outcome of a request it already answered.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { completeResponse } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { BlkifResponse } from '../../impl/xen/blkif-abi.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { readResponseField } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const blkfrontRereadsResponse = variantOf('blkfront-rereads-response', {
  blkfront: {
    completeResponse(dev: BlkfrontDevice, rinfo: RingInfo, rsp: BlkifResponse, env: FrontEnv) {
      // The response being completed is the last one copied: rsp_cons is already past it.
      const index = ringIdxAdd(rinfo.front.rspCons, -1);
      const status = readResponseField(rinfo.front, env.abi, index, 'status');
      return completeResponse(dev, rinfo, { ...rsp, status }, env);
    },
  },
});
