// blkif_completion that returns a completed request's grant entries to the first ring's list, as
// the device-wide info->grants list did before Bob Liu's per-ring split ("xen/blkfront: split per
// device io_lock" and "convert to blk-mq APIs" moved grants into blkfront_ring_info): a completion
// on ring i changes ring 0's list, under ring i's lock only.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { releaseGrant } from '../../impl/blkfront/interrupt.ts';
import type { GrantSlot, RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const grantsToFirstRing = variantOf('grants-to-first-ring', {
  blkfront: {
    releaseGrant(dev: BlkfrontDevice, _rinfo: RingInfo, slot: GrantSlot, env: FrontEnv) {
      return releaseGrant(dev, dev.rings[0]!, slot, env);
    },
  },
});
