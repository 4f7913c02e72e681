// What libxl and the hotplug script write (libxl_disk.c, libxl_device.c, libxl_domain.c,
// scripts/block): device creation in one transaction, physical-device after InitWait, the unplug
// and destroy transactions, and the removal of both directories once the backend is Closed.
import { BE, FE } from '../../model/xenstore-keys.ts';
import { XenbusState } from '../../model/xenbus-state.ts';
import {
  BACKEND_DOMID,
  backendPath,
  domainPath,
  frontendPath,
  VBD_DEVID,
} from '../../model/xenstore-paths.ts';
import { assert } from '../assert.ts';
import type { DomId } from '../xen/memory.ts';
import type { Xenstore } from '../xen/xenstore.ts';

/** Toolstack-only keys (libxl_disk.c); the drivers never read them. */
const TOOLSTACK_BE_KEYS = {
  params: 'params',
  script: 'script',
  removable: 'removable',
  bootable: 'bootable',
  dev: 'dev',
  type: 'type',
  deviceType: 'device-type',
  physicalDevicePath: 'physical-device-path',
} as const;

function mustOk(result: { ok: boolean }, what: string): void {
  assert(result.ok, 'toolstack: %s', what);
}

/** The domain builder's part: the guest's home, owned by the guest (libxl__domain_make). */
export function introduceDomain(xs: Xenstore, guest: DomId): void {
  assert(guest !== BACKEND_DOMID && guest > 0, 'a guest home for domain %s', guest);
  const home = domainPath(guest);
  mustOk(xs.mkdir(BACKEND_DOMID, home), 'guest home');
  mustOk(
    xs.setPerms(BACKEND_DOMID, home, [
      { dom: guest, perm: 'n' },
      { dom: BACKEND_DOMID, perm: 'r' },
    ]),
    'home perms',
  );
  mustOk(xs.mkdir(BACKEND_DOMID, `${home}/device`), 'device dir');
  // The guest owns its home: its own xenbus may create nodes there.
  const perms = xs.getPerms(BACKEND_DOMID, home);
  assert(perms.ok && perms.value[0]?.dom === guest, 'the home of domain %s is not its own', guest);
}

/**
 * libxl__device_disk_add: both directories with their permissions first (children inherit a
 * node's permissions when created), then their keys, state Initialising, one transaction.
 */
export function createDevice(xs: Xenstore, guest: DomId, backendTrusted: boolean): void {
  assert(guest !== BACKEND_DOMID && guest > 0, 'a vbd for domain %s', guest);
  const tx = xs.transactionStart(BACKEND_DOMID);
  writeFrontendDir(xs, guest, tx, backendTrusted);
  writeBackendDir(xs, guest, tx);
  mustOk(xs.transactionEnd(BACKEND_DOMID, tx, true), 'device creation commits');
  // Both ends start in Initialising: the drivers' probes find a fresh device.
  assert(
    readsInitialising(xs, frontendPath(guest)) && readsInitialising(xs, backendPath(guest)),
    'device of domain %s created in another state',
    guest,
  );
}

function readsInitialising(xs: Xenstore, dir: string): boolean {
  const read = xs.read(BACKEND_DOMID, `${dir}/${FE.state}`);
  assert(FE.state === BE.state, 'both directories name their state node alike');
  return read.ok && read.value === String(XenbusState.Initialising);
}

/** A new backend instance for an existing frontend: only the backend directory is written anew. */
export function recreateBackendDir(xs: Xenstore, guest: DomId): void {
  assert(guest !== BACKEND_DOMID && guest > 0, 'a backend directory for domain %s', guest);
  xs.rm(BACKEND_DOMID, backendPath(guest));
  const tx = xs.transactionStart(BACKEND_DOMID);
  writeBackendDir(xs, guest, tx);
  mustOk(xs.transactionEnd(BACKEND_DOMID, tx, true), 'backend re-creation commits');
  assert(readsInitialising(xs, backendPath(guest)), 'backend of %s re-created started', guest);
}

function writeFrontendDir(xs: Xenstore, guest: DomId, tx: number, trusted: boolean): void {
  assert(tx > 0, 'the frontend directory of %s is written outside a transaction', guest);
  const fe = frontendPath(guest);
  const w = (path: string, value: string): void =>
    mustOk(xs.write(BACKEND_DOMID, path, value, tx), `write ${path}`);
  mustOk(xs.mkdir(BACKEND_DOMID, fe, tx), 'frontend dir');
  // The guest owns its directory and the backend domain may read it.
  mustOk(
    xs.setPerms(
      BACKEND_DOMID,
      fe,
      [
        { dom: guest, perm: 'n' },
        { dom: BACKEND_DOMID, perm: 'r' },
      ],
      tx,
    ),
    'fe perms',
  );
  w(`${fe}/${FE.backend}`, backendPath(guest));
  w(`${fe}/${FE.backendId}`, String(BACKEND_DOMID));
  w(`${fe}/${FE.state}`, String(XenbusState.Initialising));
  w(`${fe}/${FE.virtualDevice}`, String(VBD_DEVID));
  w(`${fe}/${FE.deviceType}`, 'disk');
  // libxl__device_disk_add: "trusted" is 0 when LIBXL_DISK_BACKEND_UNTRUSTED is set (XSA-403).
  w(`${fe}/${FE.trusted}`, trusted ? '1' : '0');
}

function writeBackendDir(xs: Xenstore, guest: DomId, tx: number): void {
  assert(tx > 0, 'the backend directory of %s is written outside a transaction', guest);
  const be = backendPath(guest);
  const w = (path: string, value: string): void =>
    mustOk(xs.write(BACKEND_DOMID, path, value, tx), `write ${path}`);
  mustOk(xs.mkdir(BACKEND_DOMID, be, tx), 'backend dir');
  // The backend domain owns its directory and the guest may read it.
  mustOk(
    xs.setPerms(
      BACKEND_DOMID,
      be,
      [
        { dom: BACKEND_DOMID, perm: 'n' },
        { dom: guest, perm: 'r' },
      ],
      tx,
    ),
    'be perms',
  );
  w(`${be}/${BE.frontend}`, frontendPath(guest));
  w(`${be}/${TOOLSTACK_BE_KEYS.params}`, '/dev/loop0');
  w(`${be}/${TOOLSTACK_BE_KEYS.script}`, '/etc/xen/scripts/block');
  w(`${be}/${BE.frontendId}`, String(guest));
  w(`${be}/${BE.online}`, '1');
  w(`${be}/${TOOLSTACK_BE_KEYS.removable}`, '0');
  w(`${be}/${TOOLSTACK_BE_KEYS.bootable}`, '1');
  w(`${be}/${BE.state}`, String(XenbusState.Initialising));
  w(`${be}/${TOOLSTACK_BE_KEYS.dev}`, 'xvda');
  w(`${be}/${TOOLSTACK_BE_KEYS.type}`, 'phy');
  w(`${be}/${BE.mode}`, 'w');
  w(`${be}/${TOOLSTACK_BE_KEYS.deviceType}`, 'disk');
  w(`${be}/${BE.discardEnable}`, '1');
}

/** The block script, run once the backend reached InitWait. */
export function writeHotplug(xs: Xenstore, guest: DomId): void {
  assert(guest !== BACKEND_DOMID && guest > 0, 'the hotplug script for domain %s', guest);
  const be = backendPath(guest);
  mustOk(xs.write(BACKEND_DOMID, `${be}/${BE.physicalDevice}`, '7:0'), 'physical-device');
  mustOk(
    xs.write(BACKEND_DOMID, `${be}/${TOOLSTACK_BE_KEYS.physicalDevicePath}`, '/dev/loop0'),
    'physical-device-path',
  );
  mustOk(xs.write(BACKEND_DOMID, `${be}/${BE.hotplugStatus}`, 'connected'), 'hotplug-status');
}

/**
 * libxl__initiate_device_generic_remove: online=0 and state=Closing in one transaction (skipped
 * when the backend is already Closed); `forced` also deletes the frontend directory (destroy).
 */
export function initiateRemove(xs: Xenstore, guest: DomId, forced: boolean): void {
  const be = backendPath(guest);
  const tx = xs.transactionStart(BACKEND_DOMID);
  const state = xs.read(BACKEND_DOMID, `${be}/${BE.state}`, tx);
  mustOk(xs.write(BACKEND_DOMID, `${be}/${BE.online}`, '0', tx), 'online=0');
  if (state.ok && state.value !== String(XenbusState.Closed)) {
    mustOk(
      xs.write(BACKEND_DOMID, `${be}/${BE.state}`, String(XenbusState.Closing), tx),
      'state=Closing',
    );
  }
  if (forced) xs.rm(BACKEND_DOMID, frontendPath(guest), tx);
  mustOk(xs.transactionEnd(BACKEND_DOMID, tx, true), 'remove transaction commits');
  const online = xs.read(BACKEND_DOMID, `${be}/${BE.online}`);
  assert(online.ok && online.value === '0', 'domain %s still online after the remove', guest);
}

/** After the backend is Closed (or on destroy): hotplug remove, then both directories go. */
export function removeDirectories(xs: Xenstore, guest: DomId): void {
  xs.rm(BACKEND_DOMID, backendPath(guest));
  xs.rm(BACKEND_DOMID, frontendPath(guest));
  assert(!xs.read(BACKEND_DOMID, backendPath(guest)).ok, 'vbd of domain %s not removed', guest);
}
