// dispatch_rw_block_io's segment-count check written with >= BLKIF_MAX_SEGMENTS_PER_REQUEST:
// a direct request with exactly 11 segments (44 KiB, legal) is refused with BLKIF_RSP_ERROR.
import type { BackEnv } from '../../impl/blkback/back-ring.ts';
import { validateRequest } from '../../impl/blkback/ring-worker.ts';
import { BLKIF_RSP_ERROR, type BlkifRequest } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const elevenSegmentsRejected = variantOf('eleven-segments-rejected', {
  blkback: {
    validateRequest(req: BlkifRequest, env: BackEnv) {
      if (req.kind === 'rw' && req.nrSegments === 11) {
        return {
          status: BLKIF_RSP_ERROR,
          operation: req.operation,
          kind: 'write',
          sectorCount: 0,
          why: '11 direct segments',
        } as const;
      }
      return validateRequest(req, env);
    },
  },
});
