// blkif_recover whose requeue loop stops one short: the last request captured at the save is
// never handed back to the block layer, so it never completes.
import type { BlockRequest } from '../../impl/blkfront/block-request.ts';
import type { BlkfrontDevice } from '../../impl/blkfront/device.ts';
import { requeueCaptured } from '../../impl/blkfront/recover.ts';
import { variantOf } from './variant.ts';

export const requeueDropsLast = variantOf('requeue-drops-last', {
  blkfront: {
    requeueCaptured(
      dev: BlkfrontDevice,
      resubmit: (request: BlockRequest) => readonly BlockRequest[],
    ) {
      dev.captured.pop();
      return requeueCaptured(dev, resubmit);
    },
  },
});
