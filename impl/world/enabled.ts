// enabled(world): every action possible now, in a canonical order where choice 0 is the most
// ordinary next step (control-plane progress, event delivery, backend, frontend, submissions,
// then the continuation of a started fault, then new faults), so shrinking choices towards 0
// shrinks towards ordinary schedules.
import { IN_CALLBACK } from '../../model/events.ts';
import { XenbusState } from '../../model/xenbus-state.ts';
import { ringBusy } from '../blkback/connect.ts';
import { canConsume, needsFinalCheck } from '../blkback/ring-worker.ts';
import { rspProd } from '../xen/shared-ring.ts';
import type { Action } from './action.ts';
import { hasWork } from './guest.ts';
import { BACKEND_DOMID, backendPath, frontendPath, readState } from './toolstack.ts';
import type { World } from './world.ts';
import { attackActions } from './hostile/attacks.ts';
import type { HostileAction } from './hostile/plan.ts';

const FIXED = {
  fireFront: { actor: 'xenstored', kind: 'fireWatch', connection: 'frontend' },
  fireBack: { actor: 'xenstored', kind: 'fireWatch', connection: 'backend' },
  commitFront: { actor: 'blkfront', kind: 'commitTransaction' },
  commitBack: { actor: 'blkback', kind: 'commitTransaction' },
  probeBack: { actor: 'blkback', kind: 'probe' },
  probeFront: { actor: 'blkfront', kind: 'probe' },
  hotplug: { actor: 'toolstack', kind: 'hotplug' },
  migrate: { actor: 'toolstack', kind: 'migrate' },
  resume: { actor: 'guest', kind: 'resume' },
  removeDevice: { actor: 'toolstack', kind: 'removeDevice' },
  conflictFront: { actor: 'xenstored', kind: 'conflict', connection: 'frontend' },
  conflictBack: { actor: 'xenstored', kind: 'conflict', connection: 'backend' },
  suspend: { actor: 'toolstack', kind: 'suspend' },
  unplug: { actor: 'toolstack', kind: 'unplug' },
  close: { actor: 'guest', kind: 'close' },
  restartBackend: { actor: 'toolstack', kind: 'restartBackend' },
} as const satisfies Record<string, Action>;

/** Per-ring actions are immutable: build each once and reuse it (enabled() is the hot path). */
type RingKind =
  | 'queueRequest'
  | 'processResponses'
  | 'finalCheck'
  | 'consumeRequest'
  | 'submitBarrier'
  | 'deliverEvent';
const RING_KINDS: readonly RingKind[] = [
  'queueRequest',
  'processResponses',
  'finalCheck',
  'consumeRequest',
  'submitBarrier',
  'deliverEvent',
];
const ringActionCache: Action[][] = [];
function ringAction(actor: 'blkfront' | 'blkback', kind: RingKind, ring: number): Action {
  const slot = (actor === 'blkfront' ? 0 : RING_KINDS.length) + RING_KINDS.indexOf(kind);
  let row = ringActionCache[ring];
  if (row === undefined) {
    row = [];
    ringActionCache[ring] = row;
  }
  let action = row[slot];
  if (action === undefined) {
    action =
      kind === 'deliverEvent'
        ? { actor: 'hypervisor', kind, side: actor, ring }
        : ({ actor, kind, ring } as Action);
    row[slot] = action;
  }
  return action;
}
const submitCache: Action[] = [];
function submitAction(vcpu: number): Action {
  let action = submitCache[vcpu];
  if (action === undefined) {
    action = { actor: 'guest', kind: 'submit', vcpu };
    submitCache[vcpu] = action;
  }
  return action;
}

export function enabled(world: World): Action[] {
  const out: Action[] = [];
  controlActions(world, out);
  eventActions(world, out);
  backendActions(world, out);
  frontendActions(world, out);
  guestActions(world, out);
  continuationActions(world, out);
  faultActions(world, out);
  if (world.config.hostile !== undefined) attackActions(world, out as HostileAction[]);
  return out;
}

function controlActions(world: World, out: Action[]): void {
  const front = world.front;
  const back = world.host.back;
  const frontAlive = world.phase === 'running';
  if (
    frontAlive &&
    !front.snapshot.hasTag(IN_CALLBACK) &&
    world.xs.pendingWatchCount(world.guestDomid) > 0
  )
    out.push(FIXED.fireFront);
  if (!back.snapshot.hasTag(IN_CALLBACK) && world.xs.pendingWatchCount(BACKEND_DOMID) > 0)
    out.push(FIXED.fireBack);
  if (frontAlive && front.tx !== undefined) out.push(FIXED.commitFront);
  if (back.tx !== undefined) out.push(FIXED.commitBack);
  if (
    !back.snapshot.context.bound &&
    !back.removed &&
    readState(world.xs, BACKEND_DOMID, backendPath(world.guestDomid)) === XenbusState.Initialising
  ) {
    out.push(FIXED.probeBack);
  }
  if (
    frontAlive &&
    !front.probed &&
    readState(world.xs, world.guestDomid, frontendPath(world.guestDomid)) ===
      XenbusState.Initialising
  ) {
    out.push(FIXED.probeFront);
  }
  if (!world.host.hotplugDone && back.cachedState === XenbusState.InitWait) out.push(FIXED.hotplug);
}

function eventActions(world: World, out: Action[]): void {
  const evtchn = world.evtchn;
  for (const ring of world.host.back.rings) {
    if (evtchn.isPending(BACKEND_DOMID, ring.port) && !evtchn.isMasked(BACKEND_DOMID, ring.port)) {
      out.push(ringAction('blkback', 'deliverEvent', ring.index));
    }
  }
  if (world.phase !== 'running') return;
  for (const rinfo of world.front.device.rings) {
    if (
      evtchn.isPending(world.guestDomid, rinfo.port) &&
      !evtchn.isMasked(world.guestDomid, rinfo.port)
    ) {
      out.push(ringAction('blkfront', 'deliverEvent', rinfo.index));
    }
  }
}

function backendActions(world: World, out: Action[]): void {
  if (!world.host.workersStarted) return;
  for (const ring of world.host.back.rings) {
    if (canConsume(ring)) out.push(ringAction('blkback', 'consumeRequest', ring.index));
    else if (ring.barrier !== undefined && ring.inflight.size === 0)
      out.push(ringAction('blkback', 'submitBarrier', ring.index));
    else if (needsFinalCheck(ring)) out.push(ringAction('blkback', 'finalCheck', ring.index));
    for (const pending of ring.inflight.values()) {
      out.push({
        actor: 'blkback',
        kind: 'completeIo',
        ring: ring.index,
        slot: pending.slot,
        id: pending.id,
      });
    }
  }
}

function frontendActions(world: World, out: Action[]): void {
  if (world.phase !== 'running') return;
  const dev = world.front.device;
  for (const rinfo of dev.rings) {
    if (rinfo.irq === 'responses')
      out.push(ringAction('blkfront', 'processResponses', rinfo.index));
    else if (rinfo.irq === 'finalCheck')
      out.push(ringAction('blkfront', 'finalCheck', rinfo.index));
    else if (dev.connection === 'connected' && !rinfo.stopped && rinfo.dispatch.length > 0) {
      out.push(ringAction('blkfront', 'queueRequest', rinfo.index));
    }
  }
}

function guestActions(world: World, out: Action[]): void {
  // After the guest's shutdown hook ran (close), nothing submits any more.
  if (
    world.phase !== 'running' ||
    world.closed ||
    !world.front.hasDisk ||
    world.front.device.rings.length === 0
  )
    return;
  for (let vcpu = 0; vcpu < world.guest.vcpuCount; vcpu++)
    if (hasWork(world.guest, vcpu)) out.push(submitAction(vcpu));
}

function continuationActions(world: World, out: Action[]): void {
  if (world.phase === 'suspended') out.push(FIXED.migrate);
  const back = world.host.back;
  if (
    world.phase === 'migrated' &&
    world.host.hotplugDone &&
    back.cachedState === XenbusState.InitWait
  )
    out.push(FIXED.resume);
  if ((world.unplugged || world.closed) && !world.removed && !answersOutstanding(world)) {
    const state = readState(world.xs, BACKEND_DOMID, backendPath(world.guestDomid));
    if (state === XenbusState.Closed) out.push(FIXED.removeDevice);
  }
}

/**
 * blkfront_remove starts with del_gendisk, which waits for the requests still in flight: removal
 * (folded into the toolstack's step) waits while a response can still arrive — the backend still
 * has I/O in flight, or a frontend ring has responses or an event it has not handled yet.
 */
function answersOutstanding(world: World): boolean {
  if (world.host.back.rings.some(ringBusy)) return true;
  const dev = world.front.device;
  if (dev.connection !== 'connected') return false;
  for (const rinfo of dev.rings) {
    if (rinfo.irq !== 'idle' || rspProd(rinfo.front.sring) !== rinfo.front.rspCons) return true;
    if (world.evtchn.isPending(world.guestDomid, rinfo.port)) return true;
  }
  return false;
}

/** Faults: only the scheduler decides whether and when, within what the fault plan allows. */
export function faultActions(world: World, out: Action[]): void {
  if (world.conflictsLeft > 0) {
    if (world.front.tx !== undefined && world.phase === 'running') out.push(FIXED.conflictFront);
    if (world.host.back.tx !== undefined) out.push(FIXED.conflictBack);
  }
  const connected =
    world.front.snapshot.context.connection === 'CONNECTED' &&
    world.front.cachedState === XenbusState.Connected;
  const ordinary = world.phase === 'running' && !world.unplugged && !world.closed;
  if (
    ordinary &&
    (connected || renegotiating(world)) &&
    world.migrationCount < world.config.faults.migrations.length
  ) {
    out.push(FIXED.suspend);
  }
  if (ordinary && connected && world.config.faults.unplug) out.push(FIXED.unplug);
  if (ordinary && connected && world.config.faults.frontendClose) out.push(FIXED.close);
  if (
    ordinary &&
    connected &&
    world.config.faults.backendRestart === true &&
    !world.backendRestarted
  ) {
    out.push(FIXED.restartBackend);
  }
}

/**
 * Resumed and waiting for the new backend (FE Initialised, flag SUSPENDED): a save may come again
 * before blkif_recover ran — the captured requests are still on the device-wide list.
 */
function renegotiating(world: World): boolean {
  const front = world.front;
  return (
    front.snapshot.context.connection === 'SUSPENDED' &&
    front.cachedState === XenbusState.Initialised &&
    front.tx === undefined &&
    !front.snapshot.hasTag(IN_CALLBACK)
  );
}

/** True for the actions a fair drain must not take: the start of a new fault. */
export function isFaultStart(action: Action): boolean {
  return (
    action.kind === 'conflict' ||
    action.kind === 'suspend' ||
    action.kind === 'unplug' ||
    action.kind === 'close' ||
    action.kind === 'attack' ||
    action.kind === 'restartBackend'
  );
}
