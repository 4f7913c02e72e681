// The toolstack's actions (libxl, the hotplug script, xl save/restore): writing physical-device
// once blkback waits in InitWait, the suspend handshake, the migration to the next host of the
// fault plan, xl block-detach, the removal of both directories, and a blkback restart.
import { XenbusState } from '../../../model/xenbus-state.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../../model/xenstore-paths.ts';
import { BE } from '../../../model/xenstore-keys.ts';
import { assert } from '../../assert.ts';
import { ringBusy } from '../../blkback/connect.ts';
import { releaseAll } from '../backend-effects.ts';
import { rspProd } from '../../xen/shared-ring.ts';
import type { Action } from '../action.ts';
import { sendToBackend } from '../backend-effects.ts';
import { sendToFrontend } from '../frontend-effects.ts';
import { createHost, frontEnvOf } from '../init.ts';
import type { ActorModule } from '../kinds.ts';
import {
  createDevice,
  initiateRemove,
  introduceDomain,
  recreateBackendDir,
  removeDirectories,
  writeHotplug,
} from '../libxl.ts';
import { frontConnected, type Host, teardownOf, type World } from '../world.ts';
import { readState, unwatchBackend } from '../xenbus.ts';
import { IN_CALLBACK } from '../../../model/events.ts';

const FIXED = {
  hotplug: { actor: 'toolstack', kind: 'hotplug' },
  hotplugFails: { actor: 'toolstack', kind: 'hotplugFails' },
  forceRemove: { actor: 'toolstack', kind: 'forceRemove' },
  suspend: { actor: 'toolstack', kind: 'suspend' },
  migrate: { actor: 'toolstack', kind: 'migrate' },
  unplug: { actor: 'toolstack', kind: 'unplug' },
  removeDevice: { actor: 'toolstack', kind: 'removeDevice' },
  restartBackend: { actor: 'toolstack', kind: 'restartBackend' },
  destroy: { actor: 'toolstack', kind: 'destroy' },
  dom0Write: { actor: 'toolstack', kind: 'dom0Write' },
} as const satisfies Record<string, Action>;

/** The block script, run once blkback reached InitWait: physical-device appears. */
function hotplug(world: World): void {
  assert(!world.host.hotplugDone, 'the hotplug script runs once per host');
  assert(world.host.back.cachedState === XenbusState.InitWait, 'hotplug before InitWait');
  writeHotplug(world.xs, world.guestDomid);
  world.host.hotplugDone = true;
}

/**
 * The block script writes physical-device for a device that cannot be opened (a missing or
 * busy disk): blkback's backend_changed fails in xen_vbd_create and calls xenbus_dev_fatal.
 */
function hotplugFails(world: World): void {
  assert(!world.host.hotplugDone, 'the hotplug script runs once per host');
  assert(world.config.faults.hotplugFailure === true, 'the fault plan allows a hotplug failure');
  assert(world.host.back.cachedState === XenbusState.InitWait, 'hotplug before InitWait');
  world.host.vbdMissing = true;
  writeHotplug(world.xs, world.guestDomid);
  world.host.hotplugDone = true;
}

/**
 * libxl's device_backend_callback: the wait for the backend's Closed timed out, so the remove is
 * retried forced (libxl__initiate_device_generic_remove with force: online=0, state=Closing and
 * the frontend directory deleted in one transaction); removal no longer waits for Closed.
 */
function forceRemove(world: World): void {
  const life = world.lifecycle;
  assert(life.kind === 'detaching' && life.forced !== true, 'a forced remove follows a detach');
  initiateRemove(world.xs, world.guestDomid, true);
  world.lifecycle = { kind: 'detaching', by: life.by, forced: true };
}

/** The suspend handshake (control/shutdown) ends with the guest frozen: no vCPU, no handler. */
function suspend(world: World): void {
  assert(world.lifecycle.kind === 'running', 'only a running guest is suspended');
  assert(
    world.migrationCount < world.config.faults.migrations.length,
    'suspend with no migration left in the plan (%s done)',
    world.migrationCount,
  );
  world.lifecycle = { kind: 'suspended' };
}

/**
 * Save here, restore on the next host: the source domain is destroyed (its backend, mappings and
 * channels go with its host), the destination gets fresh directories and a new domid.
 */
function migrate(world: World): void {
  assert(world.lifecycle.kind === 'suspended', 'a migration follows a suspend');
  const oldDomid = world.guestDomid;
  destroyDomain(world);
  const target = world.config.faults.migrations[world.migrationCount];
  assert(target !== undefined, 'the fault plan has a host for this migration');
  world.migrationCount += 1;
  world.guestDomid = oldDomid + 1;
  world.front.env = frontEnvOf(world);
  introduceDomain(world.xs, world.guestDomid);
  createDevice(world.xs, world.guestDomid, world.config.faults.backendUntrusted !== true);
  world.host = createHost(world, world.migrationCount, target);
  // The restored domain starts from nothing on the new host: no rings, no channels yet.
  assert(world.host.back.rings.length === 0, 'host %s starts with rings', world.migrationCount);
  assert(world.evtchn.openCount(world.guestDomid) === 0, 'domain %s has ports', world.guestDomid);
  world.lifecycle = { kind: 'migrated' };
}

/**
 * The source domain dies (libxl__destroy_domid, then libxl__devices_destroy's forced remove,
 * flow F): its in-flight disk I/O is abandoned with the host (a restore re-issues every captured
 * request: at-least-once execution, exactly-once completion); the frontend directory goes and
 * the backend gets online=0, state=Closing in one transaction; blkback reads the frontend as
 * Unknown and unregisters, releasing its rings, and xenbus writes Closed because its node reads
 * Closing; the domain's channels close and both directories are removed.
 */
function destroyDomain(world: World): void {
  const domid = world.guestDomid;
  assert(domid !== BACKEND_DOMID, 'the destroyed domain is the guest, never dom0');
  const old = world.host;
  abandonInflight(world, old);
  initiateRemove(world.xs, domid, true);
  if (old.back.snapshot.context.bound)
    sendToBackend(world, old, { type: 'otherEnd.stateChanged', state: XenbusState.Unknown });
  releaseAll(world, old, old.back.rings.splice(0), 'host-gone');
  for (const rinfo of world.front.device.rings) world.evtchn.close(domid, rinfo.port);
  unwatchBackend(world, domid);
  world.xs.unwatch(domid, `${backendPath(domid)}/${BE.state}`, 'otherend');
  removeDirectories(world.xs, domid);
}

/**
 * xl destroy of the running guest (libxl_domain_destroy): the same forced destroy as a save's
 * source, with no domain to restore; nothing of the guest runs afterwards.
 */
function destroy(world: World): void {
  assert(world.lifecycle.kind === 'running', 'xl destroy of a running guest');
  assert(world.config.faults.destroy === true, 'the fault plan asks for the destroy');
  destroyDomain(world);
  world.lifecycle = { kind: 'destroyed' };
}

/**
 * dom0 userspace writes a key of the device (xenstore-write: xenstored's do_write with dom0's
 * permissions, firing the watches on it like any write); the drivers learn of it only when they
 * read the key, as Linux's talk_to_blkback reads max-ring-page-order once, at InitWait.
 */
function dom0Write(world: World): void {
  const writes = world.config.faults.dom0Writes ?? [];
  const next = writes[world.dom0WritesDone];
  assert(
    next !== undefined,
    'the fault plan has a dom0 write left (%s done)',
    world.dom0WritesDone,
  );
  const dir =
    next.dir === 'backend' ? backendPath(world.guestDomid) : frontendPath(world.guestDomid);
  const written = world.xs.write(BACKEND_DOMID, `${dir}/${next.key}`, next.value);
  assert(written.ok, 'dom0 may write any key of the device (%s)', next.key);
  world.dom0WritesDone += 1;
}

/** A backend host that goes away takes its disk I/O in flight with it, and those mappings. */
function abandonInflight(world: World, host: Host): void {
  host.ioAbandoned = true;
  for (const ring of host.back.rings) {
    for (const pending of [...ring.inflight.values(), ...(ring.barrier ? [ring.barrier] : [])]) {
      for (const seg of pending.segments)
        if (!seg.persistent) world.guestGnttab.unmap(seg.gref, BACKEND_DOMID);
      ring.pendingFree.push(pending.slot);
    }
    ring.inflight.clear();
    ring.barrier = undefined;
  }
}

/** xl block-detach: online=0 and state=Closing in one transaction. */
function unplug(world: World): void {
  assert(world.lifecycle.kind === 'running', 'a detach starts from a running guest');
  initiateRemove(world.xs, world.guestDomid, false);
  world.lifecycle = { kind: 'detaching', by: 'unplug' };
}

/** After the backend reached Closed: hotplug remove, both directories deleted. */
function removeDevice(world: World): void {
  const by = teardownOf(world);
  assert(by !== undefined && world.lifecycle.kind === 'detaching', 'removal ends a teardown');
  removeDirectories(world.xs, world.guestDomid);
  world.lifecycle = { kind: 'removed', by };
  // The guest's xenbus sees its device directory vanish and unregisters the device.
  sendToFrontend(world, { type: 'device.remove' });
}

/**
 * The backend domain's blkback dies and comes back as a new instance: everything it held goes
 * (I/O in flight, mappings, channels, watches) and the toolstack writes a fresh backend
 * directory. The new instance probes and waits in InitWait; Linux blkfront, Connected, ignores
 * that (blkback_changed acts on InitWait only while Initialising), so its requests on the old
 * rings never complete — the model reports what the real drivers do.
 */
function restartBackend(world: World): void {
  assert(world.backendRestarts === 0, 'the fault plan allows one backend restart');
  world.backendRestarts += 1;
  const old = world.host;
  abandonInflight(world, old);
  releaseAll(world, old, old.back.rings.splice(0), 'host-gone');
  unwatchBackend(world, world.guestDomid);
  recreateBackendDir(world.xs, world.guestDomid);
  world.host = createHost(world, old.index, old.back.config);
  assert(
    world.host !== old && world.host.back.rings.length === 0,
    'blkback %s restarted',
    old.index,
  );
}

export const TOOLSTACK: ActorModule<'toolstack'> = {
  actor: 'toolstack',
  kinds: {
    hotplug: { perform: hotplug, describe: () => 'toolstack hotplug', faultStart: false },
    hotplugFails: {
      perform: hotplugFails,
      describe: () => 'toolstack hotplug names a device blkback cannot open',
      faultStart: true,
    },
    forceRemove: {
      perform: forceRemove,
      describe: () => 'toolstack: the detach timed out, forced remove',
      faultStart: true,
    },
    suspend: { perform: suspend, describe: () => 'toolstack suspend', faultStart: true },
    migrate: { perform: migrate, describe: () => 'toolstack migrate', faultStart: false },
    unplug: { perform: unplug, describe: () => 'toolstack unplug', faultStart: true },
    removeDevice: {
      perform: removeDevice,
      describe: () => 'toolstack removeDevice',
      faultStart: false,
    },
    restartBackend: {
      perform: restartBackend,
      describe: () => 'toolstack restartBackend',
      faultStart: true,
    },
    destroy: { perform: destroy, describe: () => 'toolstack destroy', faultStart: true },
    dom0Write: { perform: dom0Write, describe: () => 'toolstack dom0Write', faultStart: true },
  },
};

export function hotplugEnabled(world: World, out: Action[]): void {
  if (!world.host.hotplugDone && world.host.back.cachedState === XenbusState.InitWait)
    out.push(FIXED.hotplug);
}

/** The failing script is the scheduler's choice instead of the working one (never on a restore). */
export function hotplugFailsEnabled(world: World, out: Action[]): void {
  if (world.config.faults.hotplugFailure !== true || world.lifecycle.kind !== 'running') return;
  if (!world.host.hotplugDone && world.host.back.cachedState === XenbusState.InitWait)
    out.push(FIXED.hotplugFails);
}

/** libxl waits LIBXL_DESTROY_TIMEOUT for Closed; the timeout is the scheduler's choice. */
export function forceRemoveEnabled(world: World, out: Action[]): void {
  const life = world.lifecycle;
  if (life.kind !== 'detaching' || life.by !== 'unplug' || life.forced === true) return;
  const state = readState(world.xs, BACKEND_DOMID, backendPath(world.guestDomid));
  if (state !== XenbusState.Closed) out.push(FIXED.forceRemove);
}

/** A suspended guest is migrated next: the save is done, the restore is the toolstack's. */
export function migrateEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind === 'suspended') out.push(FIXED.migrate);
}

/** Once blkback is Closed and no answer can still arrive, the toolstack removes the device. */
export function removeDeviceEnabled(world: World, out: Action[]): void {
  const life = world.lifecycle;
  if (life.kind !== 'detaching' || answersOutstanding(world)) return;
  const state = readState(world.xs, BACKEND_DOMID, backendPath(world.guestDomid));
  // Forced: the guest's blkfront_remove follows blkback's own unregister (the frontend's
  // directory went first), so no grant it ends can still be mapped by the backend thread.
  const forcedDone = life.forced === true && !world.host.back.snapshot.context.bound;
  if (state === XenbusState.Closed || forcedDone) out.push(FIXED.removeDevice);
}

/**
 * blkfront_remove starts with del_gendisk, which waits for the requests still in flight: removal
 * (folded into the toolstack's step) waits while a response can still arrive — the backend still
 * has I/O in flight, or a frontend ring has responses or an event it has not handled yet.
 */
export function answersOutstanding(world: World): boolean {
  if (world.host.back.rings.some(ringBusy)) return true;
  const dev = world.front.device;
  if (dev.connection !== 'connected') return false;
  for (const rinfo of dev.rings) {
    if (rinfo.irq !== 'idle' || rspProd(rinfo.front.sring) !== rinfo.front.rspCons) return true;
    if (world.evtchn.isPending(world.guestDomid, rinfo.port)) return true;
  }
  return false;
}

/**
 * The plan's load condition for saves and detaches holds: the guest submitted faultsAfterRequests
 * requests, and a connected device has faultsWithInFlight of them on its rings.
 */
function loaded(world: World): boolean {
  const faults = world.config.faults;
  const after = faults.faultsAfterRequests;
  if (after !== undefined && world.guest.nextTag - 1 < after) return false;
  const inFlight = faults.faultsWithInFlight;
  if (inFlight === undefined || !frontConnected(world)) return true;
  let n = 0;
  for (const rinfo of world.front.device.rings) n += rinfo.inflightCount;
  return n >= inFlight;
}

/** A migration of the plan may start while connected, or while renegotiating after a resume. */
export function suspendEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'running') return;
  if (!frontConnected(world) && !renegotiating(world)) return;
  if (!loaded(world)) return;
  if (world.migrationCount < world.config.faults.migrations.length) out.push(FIXED.suspend);
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

/**
 * xl block-detach once the attach returned (libxl's device add waits for the backend's InitWait,
 * so blkback is bound): while connected, or before the frontend started talk_to_blkback. Not
 * while blkback may still connect a frontend that wrote its keys: connect() overwrites the
 * toolstack's Closing with Connected (__xenbus_switch_state writes whatever the node holds), and
 * blkfront, closed with its rings still allocated, then hits negotiate_mq's BUG_ON(nr_rings) —
 * a real race, not survivable, so the default campaign leaves it out.
 */
export function unplugEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'running' || !world.config.faults.unplug || !loaded(world)) return;
  if (!world.host.back.snapshot.context.bound) return;
  const front = world.front;
  const notTalking =
    front.cachedState === XenbusState.Initialising &&
    front.device.rings.length === 0 &&
    front.tx === undefined;
  // The same race after a backend restart: the successor connects the live rings of a blkfront
  // that stays Connected (frontend_changed), so until it is Connected too it may still overwrite
  // the toolstack's Closing.
  const reconnecting =
    world.backendRestarts > 0 && world.host.back.cachedState !== XenbusState.Connected;
  if (reconnecting) return;
  if (frontConnected(world) || (notTalking && world.config.faults.detachEarly === true))
    out.push(FIXED.unplug);
}

export function restartBackendEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'running' || !frontConnected(world)) return;
  if (world.backendRestarts !== 0) return;
  const faults = world.config.faults;
  if (faults.backendRestart === true || (survivable(faults) && owesNothing(world)))
    out.push(FIXED.restartBackend);
}

/**
 * The idle restart, and a successor that comes up: a failing probe or hotplug would close it
 * under a connected blkfront whose queued requests then wait in del_gendisk for ever.
 */
function survivable(faults: World['config']['faults']): boolean {
  return (
    faults.backendRestartIdle === true &&
    faults.hotplugFailure !== true &&
    faults.backendProbeFailure !== true
  );
}

/**
 * blkback has answered and pushed every request it consumed, on every ring (no pending_req in
 * use, no barrier held, no copy taken but not dispatched): what a crash between requests leaves.
 */
function owesNothing(world: World): boolean {
  for (const ring of world.host.back.rings) {
    const back = ring.back;
    if (ring.inflight.size > 0 || ring.barrier !== undefined || ring.held !== undefined)
      return false;
    if (back.reqCons !== back.rspProdPvt || rspProd(back.sring) !== back.rspProdPvt) return false;
  }
  return true;
}

/** xl destroy may come at any point of a running guest's life, connected or not. */
export function destroyEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind === 'running' && world.config.faults.destroy === true)
    out.push(FIXED.destroy);
}

/** A dom0 write of the plan may come at any point of a running guest's life. */
export function dom0WriteEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'running') return;
  if (world.dom0WritesDone < (world.config.faults.dom0Writes?.length ?? 0))
    out.push(FIXED.dom0Write);
}
