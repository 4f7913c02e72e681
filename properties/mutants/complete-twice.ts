// blkif_completion that ends a request twice (blk_mq_end_request called again for the same
// request, as with a response processed by two paths).
import { type BlkfrontDevice, envWith, type FrontEnv } from '../../impl/blkfront/device.ts';
import { processResponses } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const completeTwice = variantOf('complete-twice', {
  blkfront: {
    processResponses(dev: BlkfrontDevice, rinfo: RingInfo, env: FrontEnv) {
      const twice = envWith<FrontEnv>(env, {
        complete(request, outcome) {
          env.complete(request, outcome);
          env.complete(request, outcome);
        },
      });
      return processResponses(dev, rinfo, twice);
    },
  },
});
