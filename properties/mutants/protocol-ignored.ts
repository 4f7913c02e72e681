// connect_ring that ignores the frontend's protocol key and assumes the backend's native
// x86_64 layout: a 32-bit guest's requests (a 4-byte shorter header) are decoded at the wrong
// offsets, the classic 32-on-64 blkif ABI bug.
import {
  type BackendLimits,
  type FrontendKeyReader,
  validateFrontendKeys,
} from '../../model/negotiate.ts';
import { XEN_IO_PROTO_ABI_X86_64 } from '../../model/xenstore-keys.ts';
import { variantOf } from './variant.ts';

export const protocolIgnored = variantOf('protocol-ignored', {
  blkback: {
    validateFrontendKeys(read: FrontendKeyReader, limits: BackendLimits, frontendPath: string) {
      const keys = validateFrontendKeys(read, limits, frontendPath);
      return keys.ok ? { ...keys, protocol: XEN_IO_PROTO_ABI_X86_64 } : keys;
    },
  },
});
