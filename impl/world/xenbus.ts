// The xenbus core both drivers sit on (drivers/xen/xenbus/xenbus_probe*.c, xenbus_xs.c): probing
// a device, routing a fired watch to the driver callback it belongs to, and committing a driver's
// xenstore transaction. Each of these is a world action of its driver's actor; this module is
// what they have in common.
import { parseStateNode, XenbusState } from '../../model/xenbus-state.ts';
import { BE, FE } from '../../model/xenstore-keys.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../model/xenstore-paths.ts';
import { assert } from '../assert.ts';
import type { DomId } from '../xen/memory.ts';
import type { Xenstore } from '../xen/xenstore.ts';
import { sendToBackend } from './backend-effects.ts';
import { sendToFrontend } from './frontend-effects.ts';
import type { World } from './world.ts';

/** xenbus_read_driver_state of the directory `dir` as domain `dom` reads it. */
export function readState(xs: Xenstore, dom: DomId, dir: string): number {
  assert(dir.charCodeAt(0) === 47, 'the state of %s, which is no absolute path', dir);
  const read = xs.read(dom, `${dir}/${FE.state}`);
  return read.ok ? parseStateNode(read.value) : XenbusState.Unknown;
}

/** The watch callback reads the other end's state when it runs, not when the event fired. */
export function fireWatch(world: World, connection: 'frontend' | 'backend'): void {
  if (connection === 'frontend') fireFrontendWatch(world);
  else fireBackendWatch(world);
}

/** otherend_changed of blkfront: only the backend's state node reaches blkback_changed. */
function fireFrontendWatch(world: World): void {
  const event = world.xs.takeWatchEvent(world.guestDomid);
  assert(event !== undefined, 'a queued frontend watch event');
  if (event.path !== `${backendPath(world.guestDomid)}/${BE.state}`) return;
  if (!world.front.snapshot.context.bound) return;
  sendToFrontend(world, {
    type: 'otherEnd.stateChanged',
    state: readState(world.xs, world.guestDomid, backendPath(world.guestDomid)),
  });
}

/** blkback's two watches: the frontend's state (frontend_changed), physical-device (backend_changed). */
function fireBackendWatch(world: World): void {
  const event = world.xs.takeWatchEvent(BACKEND_DOMID);
  assert(event !== undefined, 'a queued backend watch event');
  const host = world.host;
  if (host.back.removed) return;
  if (event.path === `${frontendPath(world.guestDomid)}/${FE.state}`) {
    const node = world.xs.read(BACKEND_DOMID, event.path);
    sendToBackend(world, host, {
      type: 'otherEnd.stateChanged',
      state: world.drivers.blkback.frontendChangedState(node.ok ? node.value : undefined),
    });
  } else if (event.path === `${backendPath(world.guestDomid)}/${BE.physicalDevice}`) {
    if (!world.xs.read(BACKEND_DOMID, event.path).ok) return;
    // xen_vbd_create's open of the named device fails: -ENOENT.
    if (host.vbdMissing)
      sendToBackend(world, host, { type: 'hotplug.vbdCreateFailed', errorNumber: 2 });
    else sendToBackend(world, host, { type: 'hotplug.physicalDeviceChanged' });
  }
}

/** xenbus_transaction_end(t, 0): the commit that may fail with EAGAIN. */
export function commit(world: World, actor: 'blkfront' | 'blkback'): void {
  if (actor === 'blkfront') {
    const tx = world.front.tx;
    assert(tx !== undefined, 'blkfront commits an open transaction');
    world.front.tx = undefined;
    const ended = world.xs.transactionEnd(world.guestDomid, tx, true);
    sendToFrontend(world, {
      type: 'xenstore.transactionEnded',
      result: ended.ok ? 'ok' : ended.error === 'EAGAIN' ? 'eagain' : 'error',
    });
    return;
  }
  const host = world.host;
  const tx = host.back.tx;
  assert(tx !== undefined, 'blkback commits an open transaction');
  host.back.tx = undefined;
  const ended = world.xs.transactionEnd(BACKEND_DOMID, tx, true);
  sendToBackend(world, host, {
    type: 'xenstore.transactionEnded',
    result: ended.ok ? 'ok' : ended.error === 'EAGAIN' ? 'eagain' : 'error',
  });
}

/** xenbus_dev_probe: the driver's probe, then watch_otherend (its first firing is queued now). */
export function probe(world: World, actor: 'blkfront' | 'blkback'): void {
  const guest = world.guestDomid;
  if (actor === 'blkfront') {
    assert(!world.front.probed, 'blkfront probes a directory once');
    world.front.probed = true;
    sendToFrontend(world, { type: 'device.probe' });
    world.xs.watch(guest, `${backendPath(guest)}/${BE.state}`, 'otherend');
    return;
  }
  assert(!world.host.back.removed, 'xenbus probes a removed blkback (domain %s)', guest);
  sendToBackend(world, world.host, { type: 'device.probe' });
  world.xs.watch(BACKEND_DOMID, `${backendPath(guest)}/${BE.physicalDevice}`, 'physical-device');
  world.xs.watch(BACKEND_DOMID, `${frontendPath(guest)}/${FE.state}`, 'otherend');
}

/**
 * xenbus_dev_probe with a failing xen_blkbk_probe: the fatal error is written and the state set
 * to Closing, no watch is registered, and the device stays without a driver.
 */
export function probeFails(world: World): void {
  const host = world.host;
  assert(!host.back.snapshot.context.bound && !host.probeFailed, 'blkback probes once');
  host.probeFailed = true;
  // -ENOMEM from xen_blkif_alloc's kmem_cache_zalloc.
  sendToBackend(world, host, { type: 'device.probeFailed', errorNumber: 12 });
  assert(!host.back.snapshot.context.bound, 'a failed probe left blkback bound');
}

/** The backend's watches of one guest's device, as xenbus unregisters them. */
export function unwatchBackend(world: World, guest: DomId): void {
  assert(guest !== BACKEND_DOMID, 'blkback unwatches a device of dom %s', guest);
  world.xs.unwatch(BACKEND_DOMID, `${frontendPath(guest)}/${FE.state}`, 'otherend');
  world.xs.unwatch(BACKEND_DOMID, `${backendPath(guest)}/${BE.physicalDevice}`, 'physical-device');
}
