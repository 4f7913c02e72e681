// negotiate_mq that treats a missing multi-queue-max-queues as "no limit" instead of 1: against
// an old or single-queue backend the frontend sets up several rings and queue-N/ keys.
import { readBackendLimits } from '../../impl/blkfront/xenbus.ts';
import { variantOf } from './variant.ts';

export const assumeMultiQueue = variantOf('assume-multi-queue', {
  blkfront: {
    readBackendLimits(read: (key: string) => string | undefined) {
      const limits = readBackendLimits(read);
      return { ...limits, queueCountMax: limits.queueCountMax ?? 16 };
    },
  },
});
