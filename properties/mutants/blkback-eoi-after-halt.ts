// xen_blkif_schedule that treats __do_block_io_op's -EACCES like any other pass: instead of
// waiting for kthread_stop it ends the pass with its late EOI and waits for the next event, so
// the guest that overflowed req_prod re-enables the channel and wakes the thread on every
// notification, each pass refusing the same ring again (what "Halting ring processing" stops).
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { consumeRequest } from '../../impl/blkback/ring-worker.ts';
import { variantOf } from './variant.ts';

export const blkbackEoiAfterHalt = variantOf('blkback-eoi-after-halt', {
  blkback: {
    consumeRequest(ring: BackRingState, env: BackEnv) {
      const result = consumeRequest(ring, env);
      if (result.kind === 'halted') ring.worker = 'sleeping';
      return result;
    },
  },
});
