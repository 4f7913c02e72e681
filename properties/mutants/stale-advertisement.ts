// A blkback that advertises multi-queue-max-queues from an earlier single-queue session (a
// value kept across sessions instead of its current xenblk_max_queues): the frontend then
// negotiates one queue against a backend that could take more. Caught by feature-negotiation.
import { BE } from '../../model/xenstore-keys.ts';
import { probeKeys } from '../../impl/blkback/xenbus.ts';
import { variantOf } from './variant.ts';

export const staleAdvertisement = variantOf('stale-advertisement', {
  blkback: {
    probeKeys: (params) =>
      probeKeys(params).map(([key, value]) => [key, key === BE.multiQueueMaxQueues ? '1' : value]),
  },
});
