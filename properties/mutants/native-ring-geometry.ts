// read_per_ring_refs attaching the ring with the native (x86_64) entry size whatever protocol
// the frontend negotiated: for a 32-bit guest every slot after the first sits at the wrong
// offset, so blkback reads requests that straddle two of the frontend's slots.
import type { BackEnv } from '../../impl/blkback/back-ring.ts';
import { connectRing } from '../../impl/blkback/connect.ts';
import { envWith } from '../../impl/blkfront/device.ts';
import { X86_64_ABI } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const nativeRingGeometry = variantOf('native-ring-geometry', {
  blkback: {
    connectRing(index: number, ringRefs: readonly number[], remotePort: number, env: BackEnv) {
      return connectRing(index, ringRefs, remotePort, envWith<BackEnv>(env, { abi: X86_64_ABI }));
    },
  },
});
