// connect() writing feature-flush-cache = 1 whatever the backing device supports: the frontend
// sends BLKIF_OP_FLUSH_DISKCACHE, which this backend then refuses as not supported.
import type { BackendParameters, DiskDescription } from '../../impl/blkback/xenbus.ts';
import { connectKeys } from '../../impl/blkback/xenbus.ts';
import { BE } from '../../model/xenstore-keys.ts';
import { variantOf } from './variant.ts';

export const flushAdvertisedAlways = variantOf('flush-advertised-always', {
  blkback: {
    connectKeys(params: BackendParameters, disk: DiskDescription, persistent: boolean) {
      return connectKeys(params, disk, persistent).map(([key, value]) =>
        key === BE.featureFlushCache ? ([key, '1'] as const) : [key, value],
      );
    },
  },
});
