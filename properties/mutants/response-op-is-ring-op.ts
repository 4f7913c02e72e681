// blkif_interrupt comparing a response's operation with the operation placed on the ring
// (BLKIF_OP_INDIRECT for an indirect request) instead of the inner READ/WRITE that blkback
// answers with: every honest response to an indirect request is refused and the device broken.
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { validateResponse } from '../../impl/blkfront/interrupt.ts';
import type { BlkifResponse } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const responseOpIsRingOp = variantOf('response-op-is-ring-op', {
  blkfront: {
    validateResponse(rinfo: RingInfo, rsp: BlkifResponse) {
      const refused = validateResponse(rinfo, rsp);
      if (refused !== undefined) return refused;
      const shadow = rinfo.shadow[rsp.id]!;
      if (rsp.operation === shadow.ringOperation) return undefined;
      return {
        code: 'response-wrong-operation',
        message: `response op ${rsp.operation} for request id ${rsp.id} of op ${shadow.ringOperation}`,
      };
    },
  },
});
