// blkif_completion as Linux 3.8 wrote it: with feature_persistent negotiated every grant of a
// completed request goes back on rinfo->grants as persistent, whether or not the backend mapped
// it (the backend's tree was full, or it unmapped it one-shot). The grant stays open to the
// backend for nothing; "xen-blkfront: revoke foreign access for grants not mapped by the
// backend" added the gnttab_query_foreign_access check that keeps only mapped ones.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { returnGrantSlot } from '../../impl/blkfront/grants.ts';
import { releaseGrant } from '../../impl/blkfront/interrupt.ts';
import type { GrantSlot, RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const persistentWithoutMapping = variantOf('persistent-without-mapping', {
  blkfront: {
    releaseGrant(dev: BlkfrontDevice, rinfo: RingInfo, slot: GrantSlot, env: FrontEnv) {
      if (!dev.features.persistent) return releaseGrant(dev, rinfo, slot, env);
      returnGrantSlot(rinfo, slot);
      return true;
    },
  },
});
