// xen_blkif_disconnect without its `inflight` test: after kthread_stop it frees every ring, busy
// or not, instead of returning -EBUSY for a ring whose I/O is still in flight. The pending
// requests are torn down with the ring (their grants unmapped, their slots back in the pool, the
// disk's completions never turned into responses), so each request the ring thread consumed is
// never answered and blkfront fails it when it frees its rings at Closed (blkif_free) or
// requeues it on resume: the guest sees an error, which the guest edge accepts. The shape of the
// bug the `atomic_read(&ring->inflight) > 0` check (xenbus.c, "xen/blkback: fix disconnect while
// I/Os in flight") exists to prevent.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { disconnect } from '../../impl/blkback/connect.ts';
import { releaseSegments } from '../../impl/blkback/persistent-cache.ts';
import { finishIteration } from '../../impl/blkback/ring-worker.ts';
import { variantOf } from './variant.ts';

/** The ring's pending requests dropped unanswered, as if their I/O had never been issued. */
function dropInflight(ring: BackRingState, env: BackEnv): void {
  const pending = [...ring.inflight.values(), ...(ring.barrier ? [ring.barrier] : [])];
  for (const p of pending) {
    releaseSegments(ring, p.segments, env);
    ring.pendingFree.push(p.slot);
  }
  ring.inflight.clear();
  ring.barrier = undefined;
}

export const disconnectFreesBusyRing = variantOf('disconnect-frees-busy-ring', {
  blkback: {
    disconnect(rings: readonly BackRingState[], env: BackEnv, step: number) {
      for (const ring of rings) {
        finishIteration(ring, env);
        dropInflight(ring, env);
      }
      return disconnect(rings, env, step);
    },
  },
});
