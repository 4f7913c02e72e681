// blkfront_gather_backend_features that takes its own max_indirect_segments and ignores the
// backend's feature-max-indirect-segments (absent or lower): blkback refuses the indirect
// requests it never offered to take.
import type { FrontendParameters } from '../../impl/blkfront/xenbus.ts';
import { gatherBackendFeatures } from '../../impl/blkfront/xenbus.ts';
import { variantOf } from './variant.ts';

export const indirectIgnoresBackendMax = variantOf('indirect-ignores-backend-max', {
  blkfront: {
    gatherBackendFeatures(read: (key: string) => string | undefined, params: FrontendParameters) {
      const features = gatherBackendFeatures(read, params);
      const own = params.indirectSegmentsMax > 11 ? params.indirectSegmentsMax : 0;
      return { ...features, indirectSegments: own };
    },
  },
});
