// The world side of blkback's control plane: the backend machine's effects, one exhaustive
// switch, each answered in the same step (machine-loop.ts runs the machine).
import { backendMemo } from './machine-memo.ts';
import { type BackendEffect, backendEffectsOf } from '../../model/effects.ts';
import type { BackendEvent } from '../../model/events.ts';
import { NOT_ADVERTISED } from '../../model/negotiate.ts';
import { XenbusState } from '../../model/xenbus-state.ts';
import { BE, FE, formatErrorNode, readUnsigned } from '../../model/xenstore-keys.ts';
import { assert, maybe, unreachable } from '../assert.ts';
import type { BackRingState } from '../blkback/back-ring.ts';
import { ringBusy } from '../blkback/connect.ts';
import { abiByName } from '../xen/blkif-abi.ts';
import {
  BACKEND_DOMID,
  backendErrorPath,
  backendPath,
  domainPath,
  frontendPath,
} from '../../model/xenstore-paths.ts';
import { type MachineSide, settle } from './machine-loop.ts';
import type { BackendSnapshot, Host, RingEnd, RingEndCause, World } from './world.ts';
import { ringIdxDistance } from '../xen/ring-index.ts';
import { rspProd } from '../xen/shared-ring.ts';

const BACKEND_HOME = `${domainPath(BACKEND_DOMID)}/`;

const BACKEND: MachineSide<BackendSnapshot, BackendEvent, BackendEffect, Host> = {
  side: 'backend',
  next: (snapshot, event) => {
    const [next, actions] = backendMemo.transition(snapshot, event);
    return [next, backendEffectsOf(actions)];
  },
  perform: runBackendEffect,
};

/** An event for the blkback instance of `host` (a watch callback, a commit, drained rings). */
export function sendToBackend(world: World, host: Host, first: BackendEvent): void {
  settle(world, BACKEND, host.back, host, first);
}

function beKey(world: World, key: string): string {
  assert(key.length > 0 && key.charCodeAt(0) !== 47, 'backend key %s is no relative key', key);
  return `${backendPath(world.guestDomid)}/${key}`;
}

/** blkback's own writes: announced first, so an observer can tell them from the toolstack's. */
function write(world: World, path: string, value: string, tx?: number): void {
  // blkback writes only below its own domain's home (its device directory and its error node).
  assert(path.startsWith(BACKEND_HOME), 'blkback writes %s, outside dom0', path);
  world.observe?.({ kind: 'xenstoreWrite', dom: BACKEND_DOMID, path, value });
  world.xs.write(BACKEND_DOMID, path, value, tx);
}

function runBackendEffect(
  world: World,
  host: Host,
  effect: BackendEffect,
): BackendEvent | undefined {
  const back = host.back;
  switch (effect.type) {
    case 'switchState':
      switchBackendState(world, host, effect.state);
      return undefined;
    case 'writeBackendFeatures':
      writeProbeKeys(world, host);
      return undefined;
    case 'openVbd':
      return undefined;
    case 'readFrontendKeys':
      return readFrontendKeys(world, host);
    case 'mapRings':
      return mapRings(world, host, effect);
    case 'writeConnectKeys':
      writeConnectKeys(world, host, effect.persistent);
      return undefined;
    case 'startRingWorkers':
      assert(back.rings.length === effect.queueCount, 'one ring thread per mapped ring');
      host.workersStarted = true;
      for (const ring of back.rings) ring.worker = 'running';
      return undefined;
    case 'disconnectRings':
      return disconnectRings(world, host);
    case 'writeError':
      write(
        world,
        backendErrorPath(world.guestDomid),
        formatErrorNode(effect.errorNumber, effect.message),
      );
      return undefined;
    case 'unregister':
      unregister(world, host);
      return undefined;
    case 'readOnline':
      return { type: 'xenstore.onlineRead', online: readUnsigned(readOwn(world, BE.online)) === 1 };
    default:
      return unreachable(effect);
  }
}

/** xen_blkbk_probe: the limits the Drivers table's probeKeys advertises. */
function writeProbeKeys(world: World, host: Host): void {
  for (const [key, value] of world.drivers.blkback.probeKeys(host.back.config))
    write(world, beKey(world, key), value);
}

function readOwn(world: World, key: string): string | undefined {
  const read = world.xs.read(BACKEND_DOMID, beKey(world, key));
  return read.ok ? read.value : undefined;
}

function switchBackendState(world: World, host: Host, state: number): void {
  const back = host.back;
  const value = world.drivers.blkback.switchState(back.cachedState, state);
  if (value === undefined) return;
  const path = beKey(world, BE.state);
  const before = world.xs.read(BACKEND_DOMID, path);
  if (!before.ok) return;
  write(world, path, String(value));
  world.stateWrites.push({
    side: 'backend',
    writer: 'backend',
    from: Number(before.value),
    to: value,
    step: world.stepCount,
    cached: back.cachedState,
  });
  world.observe?.({ kind: 'state', side: 'backend', state: value });
  back.cachedState = value;
  assert(readOwn(world, BE.state) === String(value), 'blkback state %s not written', value);
}

function readFrontendKeys(world: World, host: Host): BackendEvent {
  const fe = frontendPath(world.guestDomid);
  const cfg = host.back.config;
  const read = (key: string): string | undefined => {
    const r = world.xs.read(BACKEND_DOMID, `${fe}/${key}`);
    return r.ok ? r.value : undefined;
  };
  const limits = {
    queueCountMax: cfg.queueCountMax ?? NOT_ADVERTISED.queueCount,
    ringPageOrderMax: cfg.ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder,
    persistent: cfg.persistent,
  };
  const keys = world.drivers.blkback.validateFrontendKeys(read, limits, fe);
  if (!keys.ok)
    return {
      type: 'frontend.ringsRead',
      ok: false,
      errorNumber: keys.errorNumber,
      error: keys.message,
    };
  // Held between reading the keys and mapping the rings (the machine splits connect_ring there).
  assert(
    keys.rings.length === keys.queueCount,
    'connect_ring read keys of %s rings',
    keys.rings.length,
  );
  host.back.keysRead = keys;
  return {
    type: 'frontend.ringsRead',
    ok: true,
    queueCount: keys.queueCount,
    ringPageOrder: keys.ringPageOrder,
    protocol: keys.protocol,
    persistent: keys.persistent,
  };
}

function mapRings(
  world: World,
  host: Host,
  effect: Extract<BackendEffect, { type: 'mapRings' }>,
): BackendEvent {
  const keys = host.back.keysRead;
  assert(keys !== undefined, 'mapRings follows a successful readFrontendKeys');
  assert(keys.queueCount === effect.queueCount, 'mapRings maps the rings the keys name');
  const back = host.back;
  assert(back.rings.length === 0, 'mapRings with rings still mapped');
  const env = host.env;
  const abi = abiByName(keys.protocol);
  assert(abi !== undefined, 'validated protocol has an ABI');
  (env as { abi: typeof abi }).abi = abi;
  env.features.persistent = keys.persistent;
  for (let i = 0; i < keys.rings.length; i++) {
    const ringKeys = keys.rings[i]!;
    const connected = world.drivers.blkback.connectRing(
      i,
      ringKeys.ringRefs,
      ringKeys.eventChannel,
      env,
    );
    if (!connected.ok) {
      releaseAll(world, host, back.rings.splice(0), 'connect_ring');
      return { type: 'rings.mapFailed', errorNumber: 22, error: connected.message };
    }
    world.backRingSerial += 1;
    connected.ring.serial = world.backRingSerial;
    // ring->blkif: every ring of the device reaches the one vbd.
    connected.ring.vbd = back.vbd;
    back.rings.push(connected.ring);
  }
  back.queueCount = keys.queueCount;
  back.ringPageOrder = keys.ringPageOrder;
  back.persistent = keys.persistent;
  return { type: 'rings.mapped' };
}

/** connect(): device properties and features in one transaction; the commit is its own action. */
function writeConnectKeys(world: World, host: Host, persistent: boolean): void {
  const back = host.back;
  // connect() runs once connect_ring mapped every ring the frontend asked for.
  assert(
    back.rings.length === back.queueCount,
    'connect() with %s mapped rings',
    back.rings.length,
  );
  if (back.tx !== undefined) world.xs.transactionEnd(BACKEND_DOMID, back.tx, false);
  const tx = world.xs.transactionStart(BACKEND_DOMID);
  back.tx = tx;
  const writes = world.drivers.blkback.connectKeys(back.config, world.disk, persistent);
  for (const [key, value] of writes) write(world, beKey(world, key), value, tx);
}

/**
 * The Drivers table's xen_blkif_disconnect over `rings`, called by `cause`: its releases logged,
 * every ring it did not keep logged as ended (with what it still owed), the rings it keeps
 * returned (the caller lists them as the backend's rings still to release).
 */
export function disconnectAll(
  world: World,
  host: Host,
  rings: readonly BackRingState[],
  cause: RingEndCause,
): BackRingState[] {
  const env = host.env;
  const why = host.ioAbandoned ? 'host-gone' : cause;
  const logged = world.ringReleases.length;
  const owed = rings.map(owedIds);
  const { kept, released } = world.drivers.blkback.disconnect(rings, env, world.stepCount);
  world.ringReleases.push(...released);
  // free_persistent_gnts unmapped what blkfront may still keep: its next purge can end them.
  if (released.some((r) => r.persistentUnmapped.length > 0)) world.front.persistentPurgeDue = true;
  assert(world.ringReleases.length === logged + released.length, 'every release logged');
  rings.forEach((ring, i) => {
    if (!kept.includes(ring)) world.ringEnds.push(ringEnd(world, ring, why, owed[i]!));
  });
  return kept;
}

/** The requests `ring` consumed and has not answered: in flight, held by drain_io, or copied. */
function owedIds(ring: BackRingState): number[] {
  const ids = [...ring.inflight.values()].map((p) => p.id);
  if (ring.barrier !== undefined) ids.push(ring.barrier.id);
  const held = ring.held?.copied;
  if (held !== undefined) ids.push(held.ok ? held.value.id : held.error.id);
  return ids;
}

/** What the ring's own indices say as it leaves the list (read by the world, not the driver). */
function ringEnd(
  world: World,
  ring: BackRingState,
  cause: RingEndCause,
  owed: readonly number[],
): RingEnd {
  const b = ring.back;
  return {
    serial: ring.serial,
    index: ring.index,
    step: world.stepCount,
    cause,
    unanswered: ringIdxDistance(b.rspProdPvt, b.reqCons),
    unpublished: ringIdxDistance(rspProd(b.sring), b.rspProdPvt),
    owedIds: owed,
  };
}

/**
 * A teardown with nothing in flight (a host that goes away abandons its I/O, or the rings never
 * started): a request a ring thread had copied goes with the host, undispatched; nothing is kept.
 */
export function releaseAll(
  world: World,
  host: Host,
  rings: readonly BackRingState[],
  cause: 'connect_ring' | 'host-gone',
): void {
  for (const ring of rings) ring.held = undefined;
  const kept = disconnectAll(world, host, rings, cause);
  // Only a ring the variant under test forgot to release stays: the next check reports it.
  maybe(kept.length > 0);
}

/** xen_blkif_disconnect [cur]: release idle rings, keep busy ones; busy ones drain later. */
function disconnectRings(world: World, host: Host): BackendEvent {
  const back = host.back;
  const kept = disconnectAll(world, host, back.rings, 'frontend_changed');
  back.rings.length = 0;
  back.rings.push(...kept);
  assert(back.rings.length === kept.length, 'disconnect kept %s rings', back.rings.length);
  // kthread_stop: a busy ring's thread is gone too; only its in-flight I/O still completes.
  if (kept.some(ringBusy)) {
    back.drainOwed = true;
    return { type: 'rings.busy' };
  }
  return { type: 'rings.drained' };
}

/** Called after each completed I/O: the last one of a disconnecting backend releases its ring. */
export function settleDrain(world: World, host: Host): void {
  const back = host.back;
  if (!back.drainOwed || back.rings.some(ringBusy)) return;
  const kept = disconnectAll(world, host, back.rings, 'end_block_io_op');
  back.rings.length = 0;
  back.rings.push(...kept);
  back.drainOwed = false;
  assert(!back.rings.some(ringBusy), 'a drained backend with busy rings');
  if (!back.removed) sendToBackend(world, host, { type: 'rings.drained' });
}

/** device_unregister: the backend device goes; xenbus writes Closed if the node reads Closing. */
function unregister(world: World, host: Host): void {
  const back = host.back;
  back.removed = true;
  // xen_blkbk_remove runs xen_blkif_disconnect: idle rings go now, busy ones when their I/O ends.
  const busy = disconnectAll(world, host, back.rings, 'xen_blkbk_remove');
  back.rings.length = 0;
  back.rings.push(...busy);
  assert(back.rings.length === busy.length, 'unregister kept %s rings', back.rings.length);
  if (busy.some(ringBusy)) back.drainOwed = true;
  const path = beKey(world, BE.state);
  const state = world.xs.read(BACKEND_DOMID, path);
  if (state.ok && state.value === String(XenbusState.Closing)) {
    write(world, path, String(XenbusState.Closed));
    world.stateWrites.push({
      side: 'backend',
      writer: 'xenbus',
      from: XenbusState.Closing,
      to: XenbusState.Closed,
      step: world.stepCount,
    });
    back.cachedState = XenbusState.Closed;
  }
  world.xs.unwatch(BACKEND_DOMID, `${frontendPath(world.guestDomid)}/${FE.state}`, 'otherend');
  world.xs.unwatch(BACKEND_DOMID, beKey(world, BE.physicalDevice), 'physical-device');
}
