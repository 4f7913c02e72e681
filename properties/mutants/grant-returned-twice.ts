// blkif_completion that puts a grant the backend kept persistently on rinfo->grants twice (a
// second list_add of the same entry's reference, as a completion path that handles an entry in
// both its data and its indirect loop would): two entries hold one reference, and two requests
// can hand the backend the same grant at once.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { releaseGrant } from '../../impl/blkfront/interrupt.ts';
import type { GrantSlot, RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const grantReturnedTwice = variantOf('grant-returned-twice', {
  blkfront: {
    releaseGrant(dev: BlkfrontDevice, rinfo: RingInfo, slot: GrantSlot, env: FrontEnv) {
      if (!releaseGrant(dev, rinfo, slot, env)) return false;
      const kept = rinfo.persistentSlots;
      if (kept[kept.length - 1] === slot && rinfo.freshSlots > 0) {
        // The duplicate takes the place of a never-used entry, so the counts still add up.
        rinfo.freshSlots -= 1;
        kept.push({ ref: slot.ref, frame: slot.frame });
        rinfo.persistentGntsC += 1;
      }
      return true;
    },
  },
});
