// The composition: one guest with its blkfront, the backend domain with its blkback, the
// hypervisor services they share, and the toolstack. Everything the run depends on is in here,
// so a configuration plus an action list replays to the same world.
import type { SnapshotFrom } from 'xstate';
import { XenbusState } from '../../model/xenbus-state.ts';
import { assert } from '../assert.ts';
import type { backendMachine } from '../../model/backend-machine.ts';
import type { frontendMachine } from '../../model/frontend-machine.ts';
import type { BackRingState, RingRelease, VbdState } from '../blkback/back-ring.ts';
import type { Disk } from '../blkback/disk.ts';
import type { BlkfrontDevice, DriverReport, FrontEnv } from '../blkfront/device.ts';
import type { BackEnv } from '../blkback/back-ring.ts';
import type { EventChannels } from '../xen/event-channel.ts';
import type { GrantTable } from '../xen/grant-table.ts';
import type { DomainMemory, DomId } from '../xen/memory.ts';
import type { TxId, Xenstore } from '../xen/xenstore.ts';
import type { BackendConfig, WorldConfig } from './config.ts';
import type { Drivers } from './drivers.ts';
import type { Guest } from './block-layer.ts';
import type { ActionCache } from './action-cache.ts';
import type { FrontendKeys } from '../../model/negotiate.ts';

export type ValidFrontendKeys = Extract<FrontendKeys, { ok: true }>;
import type { AdversaryRecord } from './hostile/record.ts';

export type FrontendSnapshot = SnapshotFrom<typeof frontendMachine>;
export type BackendSnapshot = SnapshotFrom<typeof backendMachine>;

export interface FrontSide {
  snapshot: FrontendSnapshot;
  /** Replaced when a kexec'd kernel loads a new blkfront (the old one left no state behind). */
  device: BlkfrontDevice;
  /** The open xenstore transaction of talk_to_blkback, committed by its own action. */
  tx: TxId | undefined;
  /** The state value last written by xenbus_switch_state (dev->state). */
  cachedState: number;
  /** The device has a disk (blk-mq queues exist): the guest can submit. */
  hasDisk: boolean;
  /** blk_mark_disk_dead: every new request fails at once. */
  diskDead: boolean;
  /** Grant references blkif_free could not end (Linux's deferred list). */
  readonly deferredGrants: number[];
  /** xenbus probed the device (once per directory; resume does not probe again). */
  probed: boolean;
  /**
   * The backend unmapped persistent grants (its purge, a ring release) since blkfront's last
   * purge_persistent_grants: only then can that purge end anything (otherwise every kept entry
   * is still mapped and it changes nothing, so the model does not offer it).
   */
  persistentPurgeDue: boolean;
  /** What the frontend's routines work with; rebuilt when the guest's domid changes. */
  env: FrontEnv;
  /**
   * A kexec'd kernel's xenbus_reset_frontend is under way: the backend state it waits for
   * (xenbus_reset_wait_for_backend) before its next write; undefined when no reset runs.
   */
  resetAwaits: number | undefined;
}

export interface BackSide {
  snapshot: BackendSnapshot;
  readonly config: BackendConfig;
  readonly rings: BackRingState[];
  tx: TxId | undefined;
  cachedState: number;
  /** The session layout read by connect_ring. */
  queueCount: number;
  ringPageOrder: number;
  persistent: boolean;
  /** The backend device was unregistered (removed); it takes no more events. */
  removed: boolean;
  /** A disconnect found busy rings: 'rings.drained' is owed when the last I/O completes. */
  drainOwed: boolean;
  /** connect_ring's validated keys, held between reading them and mapping the rings. */
  keysRead: ValidFrontendKeys | undefined;
  /** The blkif's vbd, which every ring mapped for this device shares (xen_blkif_alloc's). */
  readonly vbd: VbdState;
}

export interface Host {
  /** Which backend configuration: 0 the initial host, i the i-th migration target. */
  readonly index: number;
  readonly back: BackSide;
  readonly env: BackEnv;
  hotplugDone: boolean;
  /** The hotplug script named a device that cannot be opened (xen_vbd_create fails). */
  vbdMissing: boolean;
  /** xen_blkbk_probe failed: no driver is bound to this backend device. */
  probeFailed: boolean;
  /** startRingWorkers ran: one ring thread per ring consumes from now on. */
  workersStarted: boolean;
  /**
   * The host is going away (its domain destroyed, or blkback restarting): its disk I/O in flight
   * was abandoned with it, so the rings it releases owe no response (abandonInflight).
   */
  ioAbandoned: boolean;
}

/**
 * Where the guest and its device are in their life, one value instead of a set of flags that
 * could contradict each other. Detaching and removed remember who started the teardown: the
 * toolstack (xl block-detach) or the guest's own shutdown of the device.
 */
export type Lifecycle =
  /** Attached and running: the ordinary state, where faults may start. */
  | { readonly kind: 'running' }
  /** The suspend handshake (control/shutdown) ended: the guest is frozen until it is migrated. */
  | { readonly kind: 'suspended' }
  /** Restored on the next host with a new domid; waits for the guest's resume. */
  | { readonly kind: 'migrated' }
  /** The device is being torn down; the guest still runs, no new fault starts. */
  | { readonly kind: 'detaching'; readonly by: Teardown; readonly forced?: boolean }
  /** The toolstack removed both directories once the backend was Closed. */
  | { readonly kind: 'removed'; readonly by: Teardown }
  /** xl destroy: the domain is gone with its vCPUs; blkback closed and both directories went. */
  | { readonly kind: 'destroyed' };

/** Who started a teardown: libxl's device remove (unplug) or the guest (close). */
export type Teardown = 'unplug' | 'close';

/** The guest's vCPUs run (its handlers and watches can run): not frozen, not mid-migration. */
export function guestRuns(world: World): boolean {
  const kind = world.lifecycle.kind;
  return kind === 'running' || kind === 'detaching' || kind === 'removed';
}

/** The phase names traces and renderers show for the guest. */
export function guestPhase(world: World): 'running' | 'suspended' | 'migrated' | 'destroyed' {
  if (guestRuns(world)) return 'running';
  const kind = world.lifecycle.kind;
  assert(
    kind === 'suspended' || kind === 'migrated' || kind === 'destroyed',
    'a guest that does not run in lifecycle %s',
    kind,
  );
  return kind;
}

/** blkfront is connected: its machine says CONNECTED and it wrote Connected. */
export function frontConnected(world: World): boolean {
  return (
    world.front.snapshot.context.connection === 'CONNECTED' &&
    world.front.cachedState === XenbusState.Connected
  );
}

/** The teardown under way or done, if any. */
export function teardownOf(world: World): Teardown | undefined {
  const life = world.lifecycle;
  return life.kind === 'detaching' || life.kind === 'removed' ? life.by : undefined;
}

export interface World {
  readonly config: WorldConfig;
  readonly drivers: Drivers;
  readonly xs: Xenstore;
  readonly evtchn: EventChannels;
  readonly disk: Disk;
  readonly guestMemory: DomainMemory;
  readonly guestGnttab: GrantTable;
  readonly guest: Guest;
  guestDomid: DomId;
  lifecycle: Lifecycle;
  readonly front: FrontSide;
  host: Host;
  /** Backend restarts performed so far (config.faults.backendRestart allows one). */
  backendRestarts: number;
  /** Guest kexecs performed so far (config.faults.guestKexec allows one). */
  kexecs: number;
  /** dom0 userspace writes performed so far (index into config.faults.dom0Writes). */
  dom0WritesDone: number;
  /** Migrations performed so far (index into config.faults.migrations). */
  migrationCount: number;
  conflictsLeft: number;
  stepCount: number;
  readonly reports: DriverReport[];
  /** Every backend ring release, in order (xen_blkif_disconnect's results, for release-once). */
  readonly ringReleases: RingRelease[];
  /** Every backend ring instance that left the backend's list, in order (for answered). */
  readonly ringEnds: RingEnd[];
  /** Backend ring instances mapped so far: the next one's serial. */
  backRingSerial: number;
  /** Every state value each side wrote to its own state node, in order (for the xenbus invariant). */
  readonly stateWrites: StateWrite[];
  /** The hostile peer's record when config.hostile is set (what it did, for the honest side's judge). */
  readonly adversary: AdversaryRecord | undefined;
  /** Immutable action values, built once per target and reused (enabled() is the hot path). */
  readonly actionCache: ActionCache;
  /**
   * Filled by a runner that records observations (traces); undefined on the fast path. The only
   * function the world holds that is not part of its state: a fork does not carry it over.
   */
  observe: ((note: Observation) => void) | undefined;
}

/**
 * Who called xen_blkif_disconnect on a ring list: frontend_changed (the frontend's Closed, or its
 * Initialised from Closed before a reconnect), the last completion of a busy ring
 * (__end_block_io_op's reference drop), xen_blkbk_remove (device_unregister), connect_ring's
 * failed map of a later ring (nothing consumed yet), or a host that went away (the domain
 * destroyed or blkback restarted: its I/O in flight was abandoned with the host beforehand).
 */
export type RingEndCause =
  | 'frontend_changed'
  | 'end_block_io_op'
  | 'xen_blkbk_remove'
  | 'connect_ring'
  | 'host-gone';

/**
 * One backend ring instance leaving the backend's list, as the world saw it around the driver's
 * disconnect: its ring indices after it (the protocol's own count of what it consumed and
 * answered) and the ids of the requests it owed when the disconnect began.
 */
export interface RingEnd {
  readonly serial: number;
  readonly index: number;
  readonly step: number;
  readonly cause: RingEndCause;
  /** req_cons - rsp_prod_pvt after the disconnect: requests consumed and never answered. */
  readonly unanswered: number;
  /** rsp_prod_pvt - rsp_prod: responses made and never published. */
  readonly unpublished: number;
  /** Ids in flight, held by drain_io or copied when the disconnect began. */
  readonly owedIds: readonly number[];
}

/** One write of a side's own state node by its driver or by xenbus on its behalf. */
export interface StateWrite {
  readonly side: 'frontend' | 'backend';
  readonly writer: 'frontend' | 'backend' | 'xenbus';
  readonly from: number;
  readonly to: number;
  readonly step: number;
  /** The writer's dev->state before the write (the node may hold what the toolstack wrote). */
  readonly cached?: number;
}

/** A note for traces: what a reviewer needs to see of one step. */
export type Observation =
  | {
      readonly kind: 'xenstoreWrite';
      readonly dom: DomId;
      readonly path: string;
      readonly value: string;
    }
  | { readonly kind: 'state'; readonly side: 'frontend' | 'backend'; readonly state: number }
  | { readonly kind: 'effect'; readonly side: 'frontend' | 'backend'; readonly effect: string }
  | { readonly kind: 'request'; readonly ring: number; readonly id: number; readonly what: string }
  /** An event sent on a ring's channel without a push in the same step. */
  | { readonly kind: 'notify'; readonly side: 'frontend' | 'backend'; readonly ring: number }
  /**
   * A producer index published (req_prod by the frontend, rsp_prod by the backend) from `from`
   * to `to`, the peer's event index read after it, and whether an event was actually sent.
   */
  | {
      readonly kind: 'push';
      readonly side: 'frontend' | 'backend';
      readonly ring: number;
      readonly from: number;
      readonly to: number;
      readonly event: number;
      readonly notified: boolean;
      /** After it, the consumer sleeps with no event pending: only a sent event wakes it. */
      readonly peerAsleep: boolean;
    }
  /**
   * A final check: the event index it left armed (rsp_event on the frontend, req_event on the
   * backend), the unconsumed entries on the ring after it, and whether it went round again.
   */
  | {
      readonly kind: 'finalCheck';
      readonly side: 'frontend' | 'backend';
      readonly ring: number;
      readonly armed: number;
      readonly unconsumed: number;
      readonly again: boolean;
    }
  | { readonly kind: 'report'; readonly report: DriverReport };
