// drain_io that finishes and frees the held WRITE_BARRIER's pending slot without submitting it:
// the barrier is never answered and the guest's flush never completes.
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import { variantOf } from './variant.ts';

export const barrierForgotten = variantOf('barrier-forgotten', {
  blkback: {
    submitBarrier(ring: BackRingState) {
      const held = ring.barrier;
      if (held === undefined || ring.inflight.size > 0) return false;
      ring.barrier = undefined;
      ring.pendingFree.push(held.slot);
      return true;
    },
  },
});
