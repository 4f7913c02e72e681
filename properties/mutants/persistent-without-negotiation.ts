// add_persistent_gnt without checking that persistent grants were negotiated: blkback keeps a
// mapping the frontend treats as one-shot, and the frontend, finding its grant still mapped
// after the response (gnttab_try_end_foreign_access fails), declares the backend broken.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { variantOf } from './variant.ts';

export const persistentWithoutNegotiation = variantOf('persistent-without-negotiation', {
  blkback: {
    keepPersistent(ring: BackRingState, gref: number, env: BackEnv) {
      return !ring.persistent.has(gref) && ring.persistent.size < env.features.persistentGrantsMax;
    },
  },
});
