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
import type { BackEnv, BackRingState, RingRelease } from './back-ring.ts';
import { freePersistentGrants } from './persistent-cache.ts';
import { finishIteration } from './ring-worker.ts';

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
      serial: 0,
      back,
      port: bound.value as Port,
      ringRefs,
      persistent: new Map(),
      persistentInUse: 0,
      // Its own until the world gives it the device's (mapRings): a ring mapped alone.
      vbd: { overflowMaxGrants: false },
      pendingFree: Array.from({ length: pendingCount }, (_, i) => pendingCount - 1 - i),
      inflight: new Map(),
      barrier: undefined,
      held: undefined,
      worker: 'sleeping',
      halted: false,
      stopped: false,
      eoiOwed: false,
      eoiSpurious: true, // xen_blkif_schedule: eoi_flags = XEN_EOI_FLAG_SPURIOUS
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

/**
 * xen_blkif_disconnect: every ring's thread stopped (kthread_stop, after the iteration it is in);
 * a ring with I/O in flight is kept, halted, for a later call once that I/O ends; every other one
 * is released (releaseRing). Returns the rings still to release and what each release returned.
 */
export function disconnect(
  rings: readonly BackRingState[],
  env: BackEnv,
  step: number,
): { kept: BackRingState[]; released: RingRelease[] } {
  const kept: BackRingState[] = [];
  const released: RingRelease[] = [];
  // Every thread stopped first (each finishes the request it copied), then the releases.
  for (const ring of rings) finishIteration(ring, env);
  for (const ring of rings) {
    if (ringBusy(ring)) {
      ring.halted = true;
      ring.stopped = true;
      kept.push(ring);
    } else released.push(releaseRing(ring, env, step));
  }
  assert(kept.length + released.length === rings.length, 'every ring kept or released');
  assert(kept.every(ringBusy), 'only busy rings are kept');
  return { kept, released };
}

/**
 * The release of one idle ring: stop its thread, unbind its channel, free the persistent grants,
 * unmap the ring pages, with the pending pool as it is. The calls' results are recorded as they
 * came back; whether one was an error (a release of what was already released) is the oracle's
 * to judge, at the release.
 */
export function releaseRing(ring: BackRingState, env: BackEnv, step: number): RingRelease {
  assert(ring.inflight.size === 0 && ring.barrier === undefined, 'ring %s: busy', ring.index);
  assert(ring.held === undefined, 'ring %s: released holding a copied request', ring.index);
  ring.halted = true;
  ring.stopped = true;
  const closed = env.evtchn.close(env.domid, ring.port);
  const persistentUnmapped = freePersistentGrants(ring, env);
  const ringUnmapped = ring.ringRefs.map((ref) => {
    const unmapped = env.gnttab.unmap(ref, env.domid);
    return unmapped.ok ? ('ok' as const) : unmapped.error;
  });
  assert(ringUnmapped.length === ring.ringRefs.length, 'one unmap per ring page');
  return {
    serial: ring.serial,
    index: ring.index,
    step,
    workerStopped: ring.stopped,
    channelClosed: closed.ok ? 'ok' : closed.error,
    ringUnmapped,
    persistentUnmapped,
    persistentLeft: ring.persistent.size,
    pendingFree: ring.pendingFree.slice(),
    pendingCount: 32 * ring.ringRefs.length,
  };
}
