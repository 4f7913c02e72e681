// blkif_interrupt before the 2021 hardening ("xen/blkfront: read response from backend only
// once" and the RING_RESPONSE_PROD_OVERFLOW check): it trusts rsp_prod and reads every slot up to
// it, stale ones included, instead of refusing an index more than a ring ahead at once.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { processResponses, type ResponsesResult } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { ringIdxAdd } from '../../impl/xen/ring-index.ts';
import { frontProducerOverflow, rspProd, setRspProd } from '../../impl/xen/shared-ring.ts';
import { variantOf } from './variant.ts';

export const frontendTrustsRspProd = variantOf('blkfront-trusts-rsp-prod', {
  blkfront: {
    processResponses(dev: BlkfrontDevice, rinfo: RingInfo, env: FrontEnv): ResponsesResult {
      const sring = rinfo.front.sring;
      if (!frontProducerOverflow(rinfo.front)) return processResponses(dev, rinfo, env);
      // One slot at a time through the honest loop, rsp_prod put back within the same step.
      const published = rspProd(sring);
      setRspProd(sring, ringIdxAdd(rinfo.front.rspCons, 1));
      const result = processResponses(dev, rinfo, env);
      setRspProd(sring, published);
      return result === 'idle' ? 'finalCheck' : result;
    },
  },
});
