// A backend whose I/O completion reads the disk into the guest's pages for a WRITE: the write
// never reaches the disk (and the guest's buffer is overwritten), yet it completes with OKAY.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { completeIo } from '../../impl/blkback/ring-worker.ts';
import { variantOf } from './variant.ts';

export const writeBecomesRead = variantOf('write-becomes-read', {
  blkback: {
    completeIo(ring: BackRingState, slot: number, env: BackEnv) {
      const pending = ring.inflight.get(slot);
      if (pending?.kind === 'write') ring.inflight.set(slot, { ...pending, kind: 'read' });
      return completeIo(ring, slot, env);
    },
  },
});
