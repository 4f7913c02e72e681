// __do_block_io_op before "xen/blkback: Check for insane amounts of request on the ring" (2013,
// RING_REQUEST_PROD_OVERFLOW): it trusts req_prod and copies the slot at req_cons whatever the
// frontend published, so a req_prod more than a ring ahead makes it consume slots it already
// answered, instead of halting the ring.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { type ConsumeResult, consumeRequest } from '../../impl/blkback/ring-worker.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { backProducerOverflow, reqProd, setReqProd } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const blkbackTrustsReqProd = variantOf('blkback-trusts-req-prod', {
  blkback: {
    consumeRequest(ring: BackRingState, env: BackEnv): ConsumeResult {
      const sring = ring.back.sring;
      if (!backProducerOverflow(ring.back)) return consumeRequest(ring, env);
      // One slot through the honest routine, req_prod put back within the same step.
      const published = reqProd(sring);
      setReqProd(sring, ringIdxAdd(ring.back.reqCons, 1));
      const result = consumeRequest(ring, env);
      setReqProd(sring, published);
      return result;
    },
  },
});
