// A ring thread that goes to sleep when it sees no requests without RING_FINAL_CHECK_FOR_REQUESTS:
// req_event is never advanced, so the frontend's next push does not notify and the request
// waits forever on the ring.
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import { variantOf } from './variant.ts';

export const backendSkipsFinalCheck = variantOf('backend-skips-final-check', {
  blkback: {
    finalCheck(ring: BackRingState) {
      ring.worker = 'sleeping';
      return false;
    },
  },
});
