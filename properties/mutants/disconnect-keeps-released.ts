// xen_blkif_disconnect without its per-ring guards (ring->xenblkd, ring->irq, the mapped sring
// are checked and cleared as each is released): with a ring still busy it bails out hoping to be
// called again, and keeps every ring on the list, the ones it already released too; the call
// after the last I/O releases those a second time (the shape of "xen-blkback: fix disconnect
// while I/Os in flight", Linux 4.2, where the early return left the release half done).
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { disconnect } from '../../impl/blkback/connect.ts';
import { variantOf } from './variant.ts';

export const disconnectKeepsReleased = variantOf('disconnect-keeps-released', {
  blkback: {
    disconnect(rings: readonly BackRingState[], env: BackEnv, step: number) {
      const done = disconnect(rings, env, step);
      if (done.kept.length === 0) return done;
      return { kept: [...rings], released: done.released };
    },
  },
});
