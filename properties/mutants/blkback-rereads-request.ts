// __do_block_io_op with a double fetch (the XSA-155 pattern: the compiler, or the code, reads a
// field of the shared slot again instead of the private copy): the request is checked on its
// copy, but sector_number is fetched again from the slot when the I/O is set up. A frontend that
// rewrites the slot between the two reads sends the I/O where no check looked.
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { consumeRequest } from '../../impl/blkback/ring-worker.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { readRequestSector } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const blkbackRereadsRequest = variantOf('blkback-rereads-request', {
  blkback: {
    consumeRequest(ring: BackRingState, env: BackEnv) {
      const result = consumeRequest(ring, env);
      if (result.kind !== 'submitted') return result;
      const pending = ring.inflight.get(result.slot);
      if (pending === undefined || pending.kind === 'discard' || pending.kind === 'flush')
        return result;
      // The dispatched request is the last one copied: req_cons is already past it.
      const sector = readRequestSector(ring.back, env.abi, ringIdxAdd(ring.back.reqCons, -1));
      if (env.disk.inRange(sector, 1)) ring.inflight.set(result.slot, { ...pending, sector });
      return result;
    },
  },
});
