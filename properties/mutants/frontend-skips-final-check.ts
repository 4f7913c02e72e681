// blkif_interrupt that arms rsp_event = rsp_cons + 1 and returns without looking again: a
// response the backend pushed before it could see the new rsp_event raises no event and stays
// unprocessed (the window RING_FINAL_CHECK_FOR_RESPONSES closes).
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { setRspEvent } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const frontendSkipsFinalCheck = variantOf('frontend-skips-final-check', {
  blkfront: {
    finalCheck(_dev: BlkfrontDevice, rinfo: RingInfo, _env: FrontEnv) {
      setRspEvent(rinfo.front.sring, ringIdxAdd(rinfo.front.rspCons, 1));
      return false;
    },
  },
});
