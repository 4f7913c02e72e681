// xen_blkbk_probe that advertises feature-max-indirect-segments as the module's default (256)
// whatever limit this backend was set up with, while dispatch_rw_block_io checks the real one:
// the frontend sends indirect requests the backend then refuses.
import type { BackendParameters } from '../../impl/blkback/xenbus.ts';
import { probeKeys } from '../../impl/blkback/xenbus.ts';
import { BE } from '../../model/xenstore-keys.ts';
import { variantOf } from './variant.ts';

export const advertiseIndirectDefault = variantOf('advertise-indirect-default', {
  blkback: {
    probeKeys(params: BackendParameters) {
      const writes = probeKeys(params).filter(([key]) => key !== BE.featureMaxIndirectSegments);
      return [[BE.featureMaxIndirectSegments, '256'] as const, ...writes];
    },
  },
});
