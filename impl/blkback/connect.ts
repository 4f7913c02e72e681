// The per-ring half of connect_ring/read_per_ring_refs (map the ring pages as one area, check the
// frontend's indices, bind the event channel) and the per-ring half of xen_blkif_disconnect.
import {
  type BackRing,
  backRingAttach,
  reqProd,
  rspProd,
  sharedRingAttach,
} from '../xen/shared-ring.ts';
import { assert } from '../assert.ts';
import { ringIdxDistance } from '../xen/ring-index.ts';
import type { Port } from '../xen/event-channel.ts';
import type { BackEnv, BackRingState } from './back-ring.ts';
import { freePersistentGrants } from './persistent-cache.ts';

export type ConnectResult = { ok: true; ring: BackRingState } | { ok: false; message: string };

export function connectRing(
  index: number,
  ringRefs: readonly number[],
  remotePort: number,
  env: BackEnv,
): ConnectResult {
  assert(ringRefs.length >= 1, 'ring %s: no ring-ref to map', index);
  const frames: number[] = [];
  const unmapAll = (): void => {
    for (let i = 0; i < frames.length; i++) {
      // Only what this call mapped is unmapped, so the hypervisor cannot refuse it.
      const unmapped = env.gnttab.unmap(ringRefs[i]!, env.domid);
      assert(unmapped.ok, 'ring %s: ring-ref %s was not mapped', index, ringRefs[i]);
    }
  };
  for (const ref of ringRefs) {
    const mapped = env.gnttab.map(ref, env.domid, true);
    if (!mapped.ok) {
      unmapAll();
      return { ok: false, message: `mapping ring-ref ${ref} of ring ${index}: ${mapped.error}` };
    }
    frames.push(mapped.value.frame);
  }
  // xenbus_map_ring_valloc maps the pages virtually contiguous; ours must be one guest allocation.
  const view = env.frontendMemory.view(frames[0]!, frames.length);
  const contiguous = frames.every((f, i) => f === frames[0]! + i);
  if (view === undefined || !contiguous) {
    unmapAll();
    return {
      ok: false,
      message: `ring ${index}: ring pages ${ringRefs.join(',')} are not one contiguous area`,
    };
  }
  const sring = sharedRingAttach(view, env.abi.entrySize);
  // BACK_RING_ATTACH after checking the frontend has not published more than the ring holds.
  if (ringIdxDistance(rspProd(sring), reqProd(sring)) > sring.size) {
    unmapAll();
    return {
      ok: false,
      message: `mapping ring-ref port ${remotePort}: req_prod ${reqProd(sring)} beyond the ring`,
    };
  }
  const back: BackRing = backRingAttach(sring);
  assert(back.reqCons === back.rspProdPvt, 'ring %s: attached with requests consumed', index);
  const bound = env.evtchn.bindInterdomain(env.domid, env.frontendDomid, remotePort);
  if (!bound.ok) {
    unmapAll();
    return {
      ok: false,
      message: `binding event-channel ${remotePort} of ring ${index}: ${bound.error}`,
    };
  }
  const pendingCount = 32 * ringRefs.length;
  assert(pendingCount <= back.size, 'ring %s: more pending slots than ring entries', index);
  return {
    ok: true,
    ring: {
      index,
      back,
      port: bound.value as Port,
      ringRefs,
      persistent: new Map(),
      pendingFree: Array.from({ length: pendingCount }, (_, i) => pendingCount - 1 - i),
      inflight: new Map(),
      barrier: undefined,
      held: undefined,
      worker: 'sleeping',
      halted: false,
      stopped: false,
      consumedCount: 0,
      respondedCount: 0,
    },
  };
}

/** True when the ring still has I/O in flight: xen_blkif_disconnect reports it busy and keeps it. */
export function ringBusy(ring: BackRingState): boolean {
  const busy = ring.inflight.size > 0 || ring.barrier !== undefined;
  // Idle means every pending slot is back in the pool (none leaked by a completion).
  assert(
    busy || ring.pendingFree.length === 32 * ring.ringRefs.length,
    'ring %s: pending pool short',
    ring.index,
  );
  return busy;
}

/** Release an idle ring: unbind, free persistent grants, unmap the ring pages. */
export function disconnectRing(ring: BackRingState, env: BackEnv): void {
  env.evtchn.close(env.domid, ring.port);
  freePersistentGrants(ring, env);
  assert(ring.persistent.size === 0, 'ring %s: persistent grants left after free', ring.index);
  for (const ref of ring.ringRefs) {
    const unmapped = env.gnttab.unmap(ref, env.domid);
    assert(unmapped.ok, 'ring %s: ring-ref %s was not mapped', ring.index, ref);
  }
}
