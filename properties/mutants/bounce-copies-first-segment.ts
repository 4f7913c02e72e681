// blkif_completion whose bounce loop copies only the first segment of a bounced READ
// (persistent grants: the data sits in each grant entry's own page) into the guest's pages:
// the rest of the buffer keeps what it held before the read, and the read completes OKAY.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { completeResponse } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { BLKIF_OP_READ, BLKIF_RSP_OKAY, type BlkifResponse } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const bounceCopiesFirstSegment = variantOf('bounce-copies-first-segment', {
  blkfront: {
    completeResponse(dev: BlkfrontDevice, rinfo: RingInfo, rsp: BlkifResponse, env: FrontEnv) {
      const shadow = rinfo.shadow[rsp.id];
      const buffer = shadow?.request?.buffer;
      const first = shadow?.grantsUsed[0]?.frame;
      const bouncedRead =
        dev.bounce && rsp.operation === BLKIF_OP_READ && rsp.status === BLKIF_RSP_OKAY;
      if (!bouncedRead || buffer === undefined || first === undefined)
        return completeResponse(dev, rinfo, rsp, env);
      env.memory.page(buffer.firstFrame).set(env.memory.page(first));
      // The rest of blkif_completion as usual, its own copy skipped.
      return completeResponse({ ...dev, bounce: false }, rinfo, rsp, env);
    },
  },
});
