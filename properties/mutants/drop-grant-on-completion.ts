// blkif_completion that forgets to put one grant entry of a completed request back on the ring's
// rinfo->grants list: the per-ring pool shrinks by one entry per completion batch.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { processResponses } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const dropGrantOnCompletion = variantOf('drop-grant-on-completion', {
  blkfront: {
    processResponses(dev: BlkfrontDevice, rinfo: RingInfo, env: FrontEnv) {
      const unused = rinfo.unusedSlots.length;
      const persistent = rinfo.persistentSlots.length;
      const result = processResponses(dev, rinfo, env);
      if (rinfo.unusedSlots.length > unused) rinfo.unusedSlots.pop();
      else if (rinfo.persistentSlots.length > persistent) {
        rinfo.persistentSlots.pop();
        rinfo.persistentGntsC -= 1;
      }
      return result;
    },
  },
});
