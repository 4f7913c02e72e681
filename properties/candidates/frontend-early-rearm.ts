// blkif_interrupt that re-arms rsp_event at the rsp_prod it is about to consume up to (plus one)
// before processing, then keeps the honest RING_FINAL_CHECK_FOR_RESPONSES: the event is asked for
// earlier than Linux asks (more interrupts while it works), and no response can slip past both.
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { rspProd, setRspEvent } from '../../impl/xen/shared-ring.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { variantOf } from '../mutants/variant.ts';

export const frontendEarlyRearm = variantOf('frontend-early-rearm', {
  blkfront: {
    processResponses(dev, rinfo, env) {
      if (dev.connection === 'connected') {
        const sring = rinfo.front.sring;
        setRspEvent(sring, ringIdxAdd(rspProd(sring), 1));
      }
      return HONEST_DRIVERS.blkfront.processResponses(dev, rinfo, env);
    },
  },
});
