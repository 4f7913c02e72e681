// blkif_interrupt without XSA-391's spurious flag: it always ends with xen_irq_lateeoi(irq, 0)
// (as a plain EOI did before), so the kernel never learns that an event had nothing behind it
// and a backend that keeps notifying keeps the guest's handler running, unthrottled.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { processResponses, type ResponsesResult } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const blkfrontEoiNeverSpurious = variantOf('blkfront-eoi-never-spurious', {
  blkfront: {
    processResponses(dev: BlkfrontDevice, rinfo: RingInfo, env: FrontEnv): ResponsesResult {
      const result = processResponses(dev, rinfo, env);
      rinfo.eoiSpurious = false;
      return result;
    },
  },
});
