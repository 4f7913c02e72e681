// A backend that takes a WRITE for a READ (dispatch_rw_block_io with the wrong operation): it maps
// the grants as for a read (writable: xen_blkbk_map_seg's ro is operation != BLKIF_OP_READ) and
// its I/O completion reads the disk into the guest's pages. The write never reaches the disk
// (and the guest's buffer is overwritten), yet it completes with OKAY.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { mapSegments } from '../../impl/blkback/persistent-cache.ts';
import { completeIo } from '../../impl/blkback/ring-worker.ts';
import type { BlkifSegment } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const writeBecomesRead = variantOf('write-becomes-read', {
  blkback: {
    mapSegments(
      ring: BackRingState,
      requestId: number,
      descriptors: readonly BlkifSegment[],
      _isRead: boolean,
      env: BackEnv,
    ) {
      return mapSegments(ring, requestId, descriptors, true, env);
    },
    completeIo(ring: BackRingState, slot: number, env: BackEnv) {
      const pending = ring.inflight.get(slot);
      if (pending?.kind === 'write') ring.inflight.set(slot, { ...pending, kind: 'read' });
      return completeIo(ring, slot, env);
    },
  },
});
