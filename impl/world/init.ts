// initWorld: the state of a fresh run, everything built from the configuration and the drivers.
import { XenbusState } from '../../model/xenbus-state.ts';
import { assert } from '../assert.ts';
import type { BackEnv, BackFeatures } from '../blkback/back-ring.ts';
import { Disk } from '../blkback/disk.ts';
import type { BlockRequest } from '../blkfront/block-request.ts';
import type { BlkfrontDevice, DriverReport, FrontEnv, Outcome } from '../blkfront/device.ts';
import { abiByName, type BlkifAbi, X86_64_ABI } from '../xen/blkif-abi.ts';
import { EventChannels } from '../xen/event-channel.ts';
import { GrantTable } from '../xen/grant-table.ts';
import { DomainMemory, type DomId, FORKED_SLAB_PAGES } from '../xen/memory.ts';
import { Xenstore } from '../xen/xenstore.ts';
import type { BackendConfig, WorldConfig } from './config.ts';
import type { BlkbackDrivers, BlkfrontDrivers, Drivers } from './drivers.ts';
import { completeToGuest, createGuest, type GuestObserver } from './block-layer.ts';
import { NOT_ADVERTISED } from '../../model/negotiate.ts';
import { BACKEND_DOMID, backendPath, frontendPath, VBD_DEVID } from '../../model/xenstore-paths.ts';
import { createDevice, introduceDomain } from './libxl.ts';
import { ActionCache } from './action-cache.ts';
import { createAdversaryRecord } from './hostile/record.ts';
import { backendMemo, frontendMemo } from './machine-memo.ts';
import type { Host, World } from './world.ts';

export const FIRST_GUEST_DOMID = 1;
/** Linux's default grant table: 32 frames of 512 v1 entries. */
const GRANT_REF_COUNT_MAX = 32 * 512;

/** How the world is laid out in the host's memory (never its behaviour). */
export interface WorldLayout {
  /** The world is forked at every step (the explorer): guest memory in one buffer per page. */
  readonly forked?: boolean;
}

export function initWorld(
  config: WorldConfig,
  drivers: Drivers,
  observer: GuestObserver,
  layout: WorldLayout = {},
): World {
  const xs = new Xenstore();
  const evtchn = new EventChannels();
  const slabPages = layout.forked === true ? FORKED_SLAB_PAGES : undefined;
  const guestMemory = new DomainMemory(FIRST_GUEST_DOMID, slabPages);
  const guestGnttab = new GrantTable(FIRST_GUEST_DOMID, guestMemory, GRANT_REF_COUNT_MAX);
  const disk = new Disk(config.diskSectors, false);
  const guest = createGuest(config.vcpuCount, config.workload, observer);
  const device = freshDevice();
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
    lifecycle: { kind: 'running' },
    migrationCount: 0,
    backendRestarts: 0,
    kexecs: 0,
    dom0WritesDone: 0,
    conflictsLeft: config.faults.transactionConflicts,
    stepCount: 0,
    reports: [],
    ringReleases: [],
    ringEnds: [],
    backRingSerial: 0,
    stateWrites: [],
    adversary: config.hostile === undefined ? undefined : createAdversaryRecord(config.hostile),
    actionCache: new ActionCache(),
    observe: undefined,
  } as unknown as World;
  const snapshot = freshFrontendSnapshot(config, FIRST_GUEST_DOMID);
  (world as { front: World['front'] }).front = {
    snapshot,
    device,
    tx: undefined,
    cachedState: XenbusState.Initialising,
    hasDisk: false,
    diskDead: false,
    deferredGrants: [],
    persistentPurgeDue: false,
    env: frontEnvOf(world),
    probed: false,
    resetAwaits: undefined,
  };
  introduceDomain(xs, FIRST_GUEST_DOMID);
  createDevice(xs, FIRST_GUEST_DOMID, config.faults.backendUntrusted !== true);
  world.host = createHost(world, 0, config.backend);
  // A fresh world: the toolstack's transactions committed, no channel, no grant yet.
  assert(xs.openTransactions() === 0, 'a fresh world with an open transaction');
  assert(
    guestGnttab.grantedCount() === 0,
    'a fresh world with %s grants',
    guestGnttab.grantedCount(),
  );
  return world;
}

/** blkfront's device before probe: no rings, nothing negotiated (blkfront_probe's kzalloc). */
export function freshDevice(): BlkfrontDevice {
  const device: BlkfrontDevice = {
    handle: VBD_DEVID,
    rings: [],
    ringPageOrder: 0,
    connection: 'disconnected',
    backendTrusted: true,
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
  assert(device.rings.length === 0, 'a fresh device has no rings');
  return device;
}

/** blkfront's machine as a freshly loaded module starts it (xlblk_init's parameters). */
export function freshFrontendSnapshot(
  config: WorldConfig,
  guest: DomId,
): World['front']['snapshot'] {
  assert(guest !== BACKEND_DOMID, 'blkfront runs in a guest, not dom%s', guest);
  const snapshot = frontendMemo.initial({
    queueCountMax: config.frontend.queueCountMax,
    vcpuCount: config.vcpuCount,
    ringPageOrderMax: config.frontend.ringPageOrderMax,
    persistent: config.frontend.persistent,
    backendPath: backendPath(guest),
    protocol: config.abi,
  });
  assert(!snapshot.context.bound, 'a fresh blkfront is bound before probe');
  return snapshot;
}

/**
 * blkfront's environment: the guest's services and the guest edge. An object holding the world,
 * not closures over it, so a generic copy of the world copies its environments with it.
 */
class GuestFrontEnv implements FrontEnv {
  readonly domid: DomId;
  readonly backendDomid = BACKEND_DOMID;
  readonly memory: DomainMemory;
  readonly gnttab: GrantTable;
  readonly evtchn: EventChannels;
  readonly abi: BlkifAbi;
  readonly eventChannelsMax: number | undefined;

  constructor(private readonly world: World) {
    const abi = abiByName(world.config.abi);
    assert(abi !== undefined, 'validated ABI');
    this.domid = world.guestDomid;
    this.memory = world.guestMemory;
    this.gnttab = world.guestGnttab;
    this.evtchn = world.evtchn;
    this.abi = abi;
    this.eventChannelsMax = world.config.faults.eventChannelsMax;
  }

  /** A hostile backend may rewrite what it published (the reader's windows are then split). */
  get peerMayRewrite(): boolean {
    return this.world.config.hostile?.side === 'blkback';
  }

  get drivers(): BlkfrontDrivers {
    return this.world.drivers.blkfront;
  }

  complete(request: BlockRequest, outcome: Outcome): void {
    completeToGuest(this.world.guest, request, outcome, this.world.guestMemory);
  }

  report(report: DriverReport): void {
    recordReport(this.world, report);
  }
}

/** Rebuilt when the guest's domid changes (a migration). */
export function frontEnvOf(world: World): FrontEnv {
  return new GuestFrontEnv(world);
}

/** Both drivers' reports land in the world's one list, for the invariants and the trace. */
function recordReport(world: World, report: DriverReport): void {
  world.reports.push(report);
  world.observe?.({ kind: 'report', report });
}

/** blkback's environment on one host: the frontend's services as the backend domain sees them. */
class HostBackEnv implements BackEnv {
  readonly domid = BACKEND_DOMID;
  readonly frontendDomid: DomId;
  readonly gnttab: GrantTable;
  readonly frontendMemory: DomainMemory;
  readonly evtchn: EventChannels;
  /** Set by connect_ring from the frontend's protocol key. */
  abi: BlkifAbi = X86_64_ABI;
  readonly disk: Disk;
  readonly features: BackFeatures;

  constructor(
    private readonly world: World,
    config: BackendConfig,
  ) {
    assert(world.guestDomid !== BACKEND_DOMID, 'blkback of dom0 serves itself');
    this.frontendDomid = world.guestDomid;
    this.gnttab = world.guestGnttab;
    this.frontendMemory = world.guestMemory;
    this.evtchn = world.evtchn;
    this.disk = world.disk;
    this.features = {
      persistent: false,
      persistentGrantsMax: config.persistentGrantsMax,
      indirectSegmentsMax: config.indirectSegmentsMax ?? NOT_ADVERTISED.indirectSegments,
      flush: config.flush,
      barrier: config.barrier,
      discard: config.discard,
    };
  }

  /** A hostile guest may rewrite what it published (the reader's windows are then split). */
  get peerMayRewrite(): boolean {
    return this.world.config.hostile?.side === 'blkfront';
  }

  get drivers(): BlkbackDrivers {
    return this.world.drivers.blkback;
  }

  report(report: DriverReport): void {
    recordReport(this.world, report);
  }
}

/** A host's blkback, before probe: its machine, its environment, no rings. */
export function createHost(world: World, index: number, config: BackendConfig): Host {
  // Host 0 is the first one; host i the i-th migration target of the plan.
  assert(
    index >= 0 && index <= world.config.faults.migrations.length,
    'host %s is not in the fault plan',
    index,
  );
  const snapshot = backendMemo.initial({ persistent: config.persistent });
  const env = new HostBackEnv(world, config);
  return {
    index,
    env,
    hotplugDone: false,
    vbdMissing: false,
    probeFailed: false,
    workersStarted: false,
    ioAbandoned: false,
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
      keysRead: undefined,
      vbd: { overflowMaxGrants: false },
    },
  };
}

export { frontendPath };
