// blkif_free that returns early for fresh rings (no request went through them, the block layer
// never stopped them), as if nothing needed freeing: talk_to_blkback's error path
// (destroy_blkring: blkif_free(info, 0)) then leaves the rings of a failed talk allocated, and
// the next talk_to_blkback — blkback_changed's Connected case over Closing or Closed — hits
// negotiate_mq's BUG_ON(info->nr_rings). A removal stops the rings first (markDeviceDead) and a
// resume suspends: both still free. Only a backend that shows Connected after blkfront's own
// failure takes that path (a paced hostile backend).
import { freeRings } from '../../impl/blkfront/recover.ts';
import { variantOf } from './variant.ts';

export const failedTalkKeepsRings = variantOf('failed-talk-keeps-rings', {
  blkfront: {
    freeRings: (dev, env) =>
      dev.connection !== 'suspended' &&
      dev.rings.every((r) => !r.stopped && r.front.reqProdPvt === 0)
        ? []
        : freeRings(dev, env),
  },
});
