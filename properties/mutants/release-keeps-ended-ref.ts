// A completion that ends the grant (gnttab_end_foreign_access) but puts the entry back on
// rinfo->grants still naming the ended reference, as if it were persistent: the next request
// that takes the entry hands the backend a reference the guest no longer grants.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { returnGrantSlot } from '../../impl/blkfront/grants.ts';
import type { GrantSlot, RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const releaseKeepsEndedRef = variantOf('release-keeps-ended-ref', {
  blkfront: {
    releaseGrant(dev: BlkfrontDevice, rinfo: RingInfo, slot: GrantSlot, env: FrontEnv) {
      const ended = env.gnttab.endAccess(slot.ref);
      if (!ended.ok && !dev.features.persistent) return false;
      returnGrantSlot(rinfo, slot);
      return true;
    },
  },
});
