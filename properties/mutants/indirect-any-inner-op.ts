// dispatch_rw_block_io that takes an indirect request's inner operation for a write unless it is
// a read, instead of refusing anything but BLKIF_OP_READ and BLKIF_OP_WRITE before mapping: a
// well-formed indirect request with a bad inner op is mapped and submitted.
import type { BackEnv } from '../../impl/blkback/back-ring.ts';
import { type RequestCheck, validateRequest } from '../../impl/blkback/ring-worker.ts';
import { BLKIF_OP_READ, BLKIF_OP_WRITE, type BlkifRequest } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const indirectAnyInnerOp = variantOf('blkback-indirect-any-inner-op', {
  blkback: {
    validateRequest(req: BlkifRequest, env: BackEnv): RequestCheck {
      if (req.kind !== 'indirect' || req.indirectOp === BLKIF_OP_READ)
        return validateRequest(req, env);
      return validateRequest({ ...req, indirectOp: BLKIF_OP_WRITE }, env);
    },
  },
});
