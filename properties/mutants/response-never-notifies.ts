// make_response with RING_PUSH_RESPONSES but no notify_remote_via_irq: rsp_prod is published,
// the frontend is never interrupted, and its responses wait on the ring.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { entryOffset, setRspProd } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const responseNeverNotifies = variantOf('response-never-notifies', {
  blkback: {
    makeResponse(ring: BackRingState, id: number, operation: number, status: number, env: BackEnv) {
      const back = ring.back;
      const slot = entryOffset(back.sring, back.rspProdPvt);
      env.abi.writeResponse(back.sring.view, slot, { id, operation, status });
      back.rspProdPvt = ringIdxAdd(back.rspProdPvt, 1);
      ring.respondedCount += 1;
      setRspProd(back.sring, back.rspProdPvt);
      return false;
    },
  },
});
