// xen_blkbk_map's error path before "xen-blkback: fix error handling in xen_blkbk_map()"
// (XSA-365, CVE-2021-26930): a segment whose grant fails to map fails the request, but the
// segments mapped before it in the same batch stay mapped (their handles were never unmapped),
// so every such request leaks mappings of guest pages into the backend domain.
import type { BackEnv, BackRingState, MappedSegment } from '../../impl/blkback/back-ring.ts';
import { mapSegments } from '../../impl/blkback/persistent-cache.ts';
import type { BlkifSegment } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const mapFailureKeepsMapped = variantOf('map-failure-keeps-mapped', {
  blkback: {
    mapSegments(
      ring: BackRingState,
      requestId: number,
      descriptors: readonly BlkifSegment[],
      isRead: boolean,
      env: BackEnv,
    ) {
      // One segment at a time: a failure releases only its own (nothing), never the earlier ones.
      const mapped: MappedSegment[] = [];
      for (const seg of descriptors) {
        const one = mapSegments(ring, requestId, [seg], isRead, env);
        if (one === undefined) return undefined;
        mapped.push(...one);
      }
      return mapped;
    },
  },
});
