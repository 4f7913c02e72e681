// blkif_queue_rw_req that always sends a cache flush as BLKIF_OP_FLUSH_DISKCACHE, even when the
// backend advertised only feature-barrier (blkfront must then use BLKIF_OP_WRITE_BARRIER): a
// barrier-only backend answers EOPNOTSUPP and reports a request it never offered to serve.
import type { BlockRequest } from '../../impl/blkfront/block-request.ts';
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { buildRequest } from '../../impl/blkfront/queue-request.ts';
import type { RingInfo, Shadow } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const flushOpIgnoresBarrier = variantOf('flush-op-ignores-barrier', {
  blkfront: {
    buildRequest(
      dev: BlkfrontDevice,
      rinfo: RingInfo,
      shadow: Shadow,
      id: number,
      request: BlockRequest,
      env: FrontEnv,
    ) {
      if (request.op !== 'flush' || dev.features.flush !== 'barrier')
        return buildRequest(dev, rinfo, shadow, id, request, env);
      const asFlush = { ...dev, features: { ...dev.features, flush: 'flush' as const } };
      return buildRequest(asFlush, rinfo, shadow, id, request, env);
    },
  },
});
