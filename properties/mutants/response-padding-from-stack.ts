// make_response as blkback had it before 089bc0143f48 ("xen-blkback: don't leak stack data via
// response ring", XSA-216 / CVE-2017-10911): the response is built in a struct on the thread's
// stack and copied whole into the slot, so its padding carries what the stack held before,
// blkback's own private data (here: every word of the struct starts as the backend's mark).
import type { BackEnv, BackRingState } from '../../impl/blkback/back-ring.ts';
import { makeResponse } from '../../impl/blkback/ring-worker.ts';
import { privateWord } from '../../impl/xen/memory.ts';
import { entryOffset } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const responsePaddingFromStack = variantOf('response-padding-from-stack', {
  blkback: {
    makeResponse(ring: BackRingState, id: number, op: number, status: number, env: BackEnv) {
      const back = ring.back;
      const at = entryOffset(back.sring, back.rspProdPvt);
      // The stack struct's bytes, then its three fields: the memcpy of the whole struct.
      for (let i = 0; i < env.abi.responseSize; i += 4)
        back.sring.view.setUint32(at + i, privateWord(env.domid), true);
      return makeResponse(ring, id, op, status, env);
    },
  },
});
