// add_persistent_gnt without its max_pgrants test (`ring->persistent_gnt_c >= max_pgrants`
// returns -EBUSY): blkback keeps every grant it maps persistently, so a guest can make the
// backend domain hold as many mappings of its pages as it has references.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { variantOf } from './variant.ts';

export const blkbackPersistentPastLimit = variantOf('blkback-persistent-past-limit', {
  blkback: {
    keepPersistent(ring: BackRingState, gref: number, env: BackEnv) {
      return env.features.persistent && !ring.persistent.has(gref);
    },
  },
});
