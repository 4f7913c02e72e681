// purge_persistent_gnt without its `if (persistent_gnt->active) continue`: an entry that timed
// out by its last use is removed and unmapped even while a request in flight does I/O through
// it (the test persistent_gnt_in_use stands for: "the number of currently used grants will go
// down, but never up, so we will always be able to remove the requested number of grants").
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import type { GrantRef } from '../../impl/xen/grant-table.ts';
import { variantOf } from './variant.ts';

export const blkbackPurgeInUse = variantOf('blkback-purge-in-use', {
  blkback: {
    purgePersistent(ring: BackRingState, env: BackEnv): GrantRef[] {
      const purged: GrantRef[] = [];
      for (const [gref, entry] of ring.persistent) if (!entry.recentlyUsed) purged.push(gref);
      for (const gref of purged) {
        if (ring.persistent.get(gref)!.active) ring.persistentInUse -= 1;
        ring.persistent.delete(gref);
        env.gnttab.unmap(gref, env.domid);
      }
      for (const entry of ring.persistent.values()) entry.recentlyUsed = false;
      return purged;
    },
  },
});
