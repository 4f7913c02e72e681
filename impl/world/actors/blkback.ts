// blkback's actions (drivers/block/xen-blkback/): its probe and transaction commit on the xenbus
// side, and per ring the ring thread's steps (xen_blkif_schedule, do_block_io_op,
// __do_block_io_op) and the disk's completions (__end_block_io_op). The data-plane routines
// themselves are the Drivers table's (drivers.ts).
import { IN_CALLBACK } from '../../../model/events.ts';
import { XenbusState } from '../../../model/xenbus-state.ts';
import { BACKEND_DOMID, backendPath } from '../../../model/xenstore-paths.ts';
import { assert } from '../../assert.ts';
import type { BackRingState } from '../../blkback/back-ring.ts';
import { canConsume, endPass, needsFinalCheck } from '../../blkback/ring-worker.ts';
import type { Action } from '../action.ts';
import { settleDrain } from '../backend-effects.ts';
import type { ActionOf, ActorModule } from '../kinds.ts';
import type { World } from '../world.ts';
import { commit, probe, probeFails, readState } from '../xenbus.ts';

const PROBE: Action = { actor: 'blkback', kind: 'probe' };
const PROBE_FAILS: Action = { actor: 'blkback', kind: 'probeFails' };
const COMMIT: Action = { actor: 'blkback', kind: 'commitTransaction' };

/** By ring index, not position: a disconnect keeps only its busy rings in the array. */
export function backRing(world: World, index: number): BackRingState {
  const ring = world.host.back.rings.find((r) => r.index === index);
  assert(ring !== undefined, 'backend ring %s exists', index);
  return ring;
}

/** One disk completion (any order): unmap, respond, push, notify; a disconnect may be owed. */
function completeIo(world: World, action: ActionOf<'blkback', 'completeIo'>): void {
  const ring = backRing(world, action.ring);
  assert(ring.inflight.has(action.slot), 'the completed I/O is in flight');
  assert(world.host.workersStarted, 'ring %s completes I/O before its thread started', action.ring);
  world.drivers.blkback.completeIo(ring, action.slot, world.host.env);
  settleDrain(world, world.host);
}

/** One LRU pass; blkfront's next purge can end what it unmapped. */
function purgePersistent(world: World, action: ActionOf<'blkback', 'purgePersistent'>): void {
  const ring = backRing(world, action.ring);
  assert(ring.worker === 'sleeping', 'ring %s purges inside a pass', action.ring);
  const purged = world.drivers.blkback.purgePersistent(ring, world.host.env);
  if (purged.length > 0) world.front.persistentPurgeDue = true;
}

export const BLKBACK: ActorModule<'blkback'> = {
  actor: 'blkback',
  kinds: {
    // xen_blkbk_probe: InitWait after advertising the backend's limits.
    probe: {
      perform: (world) => probe(world, 'blkback'),
      describe: () => 'blkback probe',
      faultStart: false,
    },
    probeFails: {
      perform: probeFails,
      describe: () => 'blkback probe fails (xen_blkif_alloc: ENOMEM)',
      faultStart: true,
    },
    // One RING_COPY_REQUEST: the frontend may publish between two of them.
    consumeRequest: {
      perform: (world, a) => {
        const ring = backRing(world, a.ring);
        world.drivers.blkback.consumeRequest(ring, world.host.env);
        endPass(ring, world.host.env);
      },
      describe: (a) => `blkback ring ${a.ring}: consume one request`,
      faultStart: false,
    },
    // drain_io finished: the held WRITE_BARRIER goes to the disk.
    submitBarrier: {
      perform: (world, a) => world.drivers.blkback.submitBarrier(backRing(world, a.ring)),
      describe: (a) => `blkback ring ${a.ring}: submit the drained barrier`,
      faultStart: false,
    },
    completeIo: {
      perform: completeIo,
      describe: (a) =>
        `blkback ring ${a.ring}: I/O of request id ${a.id} (slot ${a.slot}) completes`,
      faultStart: false,
    },
    // RING_FINAL_CHECK_FOR_REQUESTS before the ring thread sleeps: races with the frontend's push.
    finalCheck: {
      perform: (world, a) => {
        const ring = backRing(world, a.ring);
        world.drivers.blkback.finalCheck(ring);
        endPass(ring, world.host.env);
      },
      describe: (a) => `blkback ring ${a.ring}: final check`,
      faultStart: false,
    },
    // purge_persistent_gnt: the thread's LRU pass once its wait timed out. Taking it stands for
    // the time passing, the scheduler's choice; nothing waits for it, so the drain never does.
    purgePersistent: {
      perform: purgePersistent,
      describe: (a) =>
        `blkback ring ${a.ring}: purge idle persistent grants (purge_persistent_gnt)`,
      faultStart: true,
    },
    // connect()'s commit: other writers may conflict until then (EAGAIN).
    commitTransaction: {
      perform: (world) => commit(world, 'blkback'),
      describe: () => 'blkback commits its xenstore transaction',
      faultStart: false,
    },
  },
};

export function commitEnabled(world: World, out: Action[]): void {
  if (world.host.back.tx !== undefined) out.push(COMMIT);
}

/** xenbus probes a backend directory in Initialising that no driver is bound to. */
export function probeEnabled(world: World, out: Action[]): void {
  if (probeable(world)) out.push(PROBE);
}

function probeable(world: World): boolean {
  const back = world.host.back;
  if (back.snapshot.context.bound || back.removed || world.host.probeFailed) return false;
  return (
    readState(world.xs, BACKEND_DOMID, backendPath(world.guestDomid)) === XenbusState.Initialising
  );
}

/** A fault of the plan: the first host's probe fails instead (never on a restore's host). */
export function probeFailsEnabled(world: World, out: Action[]): void {
  if (world.config.faults.backendProbeFailure !== true || world.lifecycle.kind !== 'running')
    return;
  if (world.host.index === 0 && probeable(world)) out.push(PROBE_FAILS);
}

/** Per ring: the thread's next step (consume, barrier, final check), then each pending I/O. */
export function ringWorkEnabled(world: World, out: Action[]): void {
  if (!world.host.workersStarted) return;
  const cache = world.actionCache;
  for (const ring of world.host.back.rings) {
    if (canConsume(ring)) out.push(cache.ring('blkback', 'consumeRequest', ring.index));
    else if (ring.barrier !== undefined && ring.inflight.size === 0)
      out.push(cache.ring('blkback', 'submitBarrier', ring.index));
    else if (needsFinalCheck(ring)) out.push(cache.ring('blkback', 'finalCheck', ring.index));
    // Most rings have no I/O in flight: no iterator for them.
    if (ring.inflight.size === 0) continue;
    for (const pending of ring.inflight.values())
      out.push(cache.completeIo(ring.index, pending.slot, pending.id));
  }
}

/**
 * Per ring: xen_blkif_schedule's purge, with persistent grants negotiated (feature_gnt_persistent)
 * and a tree to purge, while the thread waits between passes (its timeout is what runs it). A
 * halted ring waits for kthread_stop only, a stopped one has no thread.
 */
export function purgeEnabled(world: World, out: Action[]): void {
  if (!world.host.workersStarted || !world.host.env.features.persistent) return;
  for (const ring of world.host.back.rings) {
    if (ring.persistent.size === 0 || ring.worker !== 'sleeping') continue;
    if (ring.halted || ring.stopped) continue;
    out.push(world.actionCache.ring('blkback', 'purgePersistent', ring.index));
  }
}

/** blkback's watch thread takes the next event unless a callback is still running. */
export function backendWatchPending(world: World): boolean {
  return (
    !world.host.back.snapshot.hasTag(IN_CALLBACK) && world.xs.pendingWatchCount(BACKEND_DOMID) > 0
  );
}
