// xen_blkif_schedule without XSA-332's spurious flag: every pass an event started ends with
// xen_irq_lateeoi(ring->irq, 0), so the events core never learns that an event had nothing
// behind it, and a guest that keeps notifying keeps blkback's ring thread waking, unthrottled.
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import { finalCheck } from '../../impl/blkback/ring-worker.ts';
import { variantOf } from './variant.ts';

export const blkbackEoiNeverSpurious = variantOf('blkback-eoi-never-spurious', {
  blkback: {
    finalCheck(ring: BackRingState): boolean {
      ring.eoiSpurious = false;
      return finalCheck(ring);
    },
  },
});
