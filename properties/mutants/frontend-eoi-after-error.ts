// blkif_interrupt that ends the interrupt normally after a protocol error: the late EOI
// re-enables the channel (xen_irq_lateeoi), so a hostile backend's further events keep the
// guest busy on a device already disabled — what XSA-391's "no EOI after an error" prevents.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { processResponses, type ResponsesResult } from '../../impl/blkfront/interrupt.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { variantOf } from './variant.ts';

export const frontendEoiAfterError = variantOf('blkfront-eoi-after-error', {
  blkfront: {
    processResponses(dev: BlkfrontDevice, rinfo: RingInfo, env: FrontEnv): ResponsesResult {
      const result = processResponses(dev, rinfo, env);
      return result === 'error' ? 'idle' : result;
    },
  },
});
