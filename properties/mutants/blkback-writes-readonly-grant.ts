// xen_blkbk_map_seg with the GNTMAP_readonly test inverted: the data grants of a READ are mapped
// read-only when grants are one-shot (and a WRITE's writable), so the disk's data for a read is
// stored through a mapping Xen gave no write permission (a page fault in the backend domain).
// Linux passes ro = (operation != BLKIF_OP_READ) and maps read-only only when !use_persistent_gnts.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { mapSegments } from '../../impl/blkback/persistent-cache.ts';
import type { BlkifSegment } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const blkbackWritesReadonlyGrant = variantOf('blkback-writes-readonly-grant', {
  blkback: {
    mapSegments(
      ring: BackRingState,
      requestId: number,
      descriptors: readonly BlkifSegment[],
      isRead: boolean,
      env: BackEnv,
    ) {
      return mapSegments(ring, requestId, descriptors, !isRead, env);
    },
  },
});
