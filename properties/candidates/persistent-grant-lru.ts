// A different persistent-grant policy in blkif_completion: a grant the backend still maps goes
// to the far end of rinfo->grants, so the least recently used persistent grant is reused first
// (Linux puts it at the head and reuses the most recent). Which kept grant a request reuses is
// the frontend's business: the backend maps whatever reference it is handed.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { releaseGrant } from '../../impl/blkfront/interrupt.ts';
import type { GrantSlot, RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from '../mutants/variant.ts';

export const persistentGrantLru = variantOf('persistent-grant-lru', {
  blkfront: {
    releaseGrant(dev: BlkfrontDevice, rinfo: RingInfo, slot: GrantSlot, env: FrontEnv) {
      if (!releaseGrant(dev, rinfo, slot, env)) return false;
      const kept = rinfo.persistentSlots;
      if (kept[kept.length - 1] === slot) kept.unshift(kept.pop()!);
      return true;
    },
  },
});
