// A backend whose make_response echoes the ring operation (BLKIF_OP_INDIRECT) instead of the
// inner READ/WRITE for indirect requests: blkfront's hardened response check rejects it.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { completeIo } from '../../impl/blkback/ring-worker.ts';
import { BLKIF_OP_INDIRECT } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const wrongResponseOperation = variantOf('wrong-response-operation', {
  blkback: {
    completeIo(ring: BackRingState, slot: number, env: BackEnv) {
      const pending = ring.inflight.get(slot);
      if (pending !== undefined && pending.segments.length > 11)
        ring.inflight.set(slot, { ...pending, operation: BLKIF_OP_INDIRECT });
      return completeIo(ring, slot, env);
    },
  },
});
