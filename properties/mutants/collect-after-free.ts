// The 4.6-era resume order (reference §8.3): in-flight requests collected only after blkif_free
// had dropped the rings, so the shadows they sat on were already gone and nothing was requeued.
// Caught at quiescence: the requests that were in flight at the save never complete.
import { captureInflight, freeRings } from '../../impl/blkfront/recover.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { Mutant } from './index.ts';

export const COLLECT_AFTER_FREE_NAME = 'collect-after-free';

export const collectAfterFree: Mutant = {
  summary:
    'blkfront_resume collects in-flight requests after the rings were freed: nothing is captured',
  caughtBy: 'no-lost-request',
  drivers: {
    name: COLLECT_AFTER_FREE_NAME,
    blkback: HONEST_DRIVERS.blkback,
    blkfront: {
      ...HONEST_DRIVERS.blkfront,
      captureInflight: () => 0,
      freeRings: (dev, env) => {
        const deferred = freeRings(dev, env);
        captureInflight(dev);
        return deferred;
      },
    },
  },
};
