// initWorld: the state of a fresh run, everything built from the configuration and the drivers.
import { XenbusState } from '../../model/xenbus-state.ts';
import { assert } from '../assert.ts';
import type { BackEnv } from '../blkback/back-ring.ts';
import { Disk } from '../blkback/disk.ts';
import type { BlkfrontDevice, FrontEnv } from '../blkfront/device.ts';
import { abiByName, X86_64_ABI } from '../xen/blkif-abi.ts';
import { EventChannels } from '../xen/event-channel.ts';
import { GrantTable } from '../xen/grant-table.ts';
import { DomainMemory } from '../xen/memory.ts';
import { Xenstore } from '../xen/xenstore.ts';
import type { BackendConfig, WorldConfig } from './config.ts';
import type { Drivers } from './drivers.ts';
import { completeToGuest, createGuest, type GuestObserver } from './guest.ts';
import { createAdversaryRecord } from './hostile/record.ts';
import {
  BACKEND_DOMID,
  backendPath,
  createDevice,
  frontendPath,
  introduceDomain,
} from './toolstack.ts';
import { backendMemo, frontendMemo } from './machine-memo.ts';
import type { Host, World } from './world.ts';

export const FIRST_GUEST_DOMID = 1;
/** Linux's default grant table: 32 frames of 512 v1 entries. */
const GRANT_REF_COUNT_MAX = 32 * 512;

export function initWorld(config: WorldConfig, drivers: Drivers, observer: GuestObserver): World {
  const xs = new Xenstore();
  const evtchn = new EventChannels();
  const guestMemory = new DomainMemory(FIRST_GUEST_DOMID);
  const guestGnttab = new GrantTable(FIRST_GUEST_DOMID, guestMemory, GRANT_REF_COUNT_MAX);
  const disk = new Disk(config.diskSectors, false);
  const guest = createGuest(config.vcpuCount, config.workload, observer);
  const device: BlkfrontDevice = {
    handle: 51712,
    rings: [],
    ringPageOrder: 0,
    connection: 'disconnected',
    bounce: false,
    captured: [],
    features: {
      persistent: false,
      indirectSegments: 0,
      flush: 'none',
      discard: false,
      discardSecure: false,
    },
  };
  const world = {
    config,
    drivers,
    xs,
    evtchn,
    disk,
    guestMemory,
    guestGnttab,
    guest,
    guestDomid: FIRST_GUEST_DOMID,
    phase: 'running',
    migrationCount: 0,
    backendRestarted: false,
    conflictsLeft: config.faults.transactionConflicts,
    unplugged: false,
    removed: false,
    closed: false,
    stepCount: 0,
    reports: [],
    stateWrites: [],
    adversary: config.hostile === undefined ? undefined : createAdversaryRecord(config.hostile),
    observe: undefined,
  } as unknown as World;
  const snapshot = frontendMemo.initial({
    queueCountMax: config.frontend.queueCountMax,
    vcpuCount: config.vcpuCount,
    ringPageOrderMax: config.frontend.ringPageOrderMax,
    persistent: config.frontend.persistent,
    backendPath: backendPath(FIRST_GUEST_DOMID),
    protocol: config.abi,
  });
  (world as { front: World['front'] }).front = {
    snapshot,
    device,
    tx: undefined,
    cachedState: XenbusState.Initialising,
    hasDisk: false,
    diskDead: false,
    deferredGrants: [],
    env: frontEnvOf(world),
    probed: false,
  };
  introduceDomain(xs, FIRST_GUEST_DOMID);
  createDevice(xs, FIRST_GUEST_DOMID);
  world.host = createHost(world, 0, config.backend);
  return world;
}

export function frontEnvOf(world: World): FrontEnv {
  const abi = abiByName(world.config.abi);
  assert(abi !== undefined, 'validated ABI');
  return {
    domid: world.guestDomid,
    backendDomid: BACKEND_DOMID,
    memory: world.guestMemory,
    gnttab: world.guestGnttab,
    evtchn: world.evtchn,
    abi,
    complete: (request, outcome) =>
      completeToGuest(world.guest, request, outcome, world.guestMemory),
    report: (report) => {
      world.reports.push(report);
      world.observe?.({ kind: 'report', report });
    },
  };
}

/** A host's blkback, before probe: its machine, its environment, no rings. */
export function createHost(world: World, index: number, config: BackendConfig): Host {
  const snapshot = backendMemo.initial({
    queueCountMax: config.queueCountMax ?? 1,
    ringPageOrderMax: config.ringPageOrderMax ?? 0,
    indirectSegmentsMax: config.indirectSegmentsMax ?? 0,
    persistent: config.persistent,
  });
  const env: BackEnv = {
    domid: BACKEND_DOMID,
    frontendDomid: world.guestDomid,
    gnttab: world.guestGnttab,
    frontendMemory: world.guestMemory,
    evtchn: world.evtchn,
    abi: X86_64_ABI,
    disk: world.disk,
    features: {
      persistent: false,
      persistentGrantsMax: config.persistentGrantsMax,
      indirectSegmentsMax: config.indirectSegmentsMax ?? 0,
      flush: config.flush,
      barrier: config.barrier,
      discard: config.discard,
    },
    report: (report) => {
      world.reports.push(report);
      world.observe?.({ kind: 'report', report });
    },
  };
  return {
    index,
    env,
    hotplugDone: false,
    workersStarted: false,
    back: {
      snapshot,
      config,
      rings: [],
      tx: undefined,
      cachedState: XenbusState.Initialising,
      queueCount: 0,
      ringPageOrder: 0,
      persistent: false,
      removed: false,
      drainOwed: false,
    },
  };
}

export { frontendPath };
