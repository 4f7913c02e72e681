// purge_persistent_grants without `gnt_list_entry->gref = INVALID_GRANT_REF` and the move to the
// tail: the reference of a kept entry the backend no longer maps is ended, but the entry stays on
// the list as persistent, holding a reference the guest no longer grants (and may hand out again).
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { variantOf } from './variant.ts';

export const blkfrontPurgeKeepsRef = variantOf('blkfront-purge-keeps-ref', {
  blkfront: {
    purgePersistentGrants(dev: BlkfrontDevice, env: FrontEnv): number {
      let ended = 0;
      for (const rinfo of dev.rings)
        for (const slot of rinfo.persistentSlots) if (env.gnttab.endAccess(slot.ref).ok) ended++;
      return ended;
    },
  },
});
