// The composition: one guest with its blkfront, the backend domain with its blkback, the
// hypervisor services they share, and the toolstack. Everything the run depends on is in here,
// so a configuration plus an action list replays to the same world.
import type { SnapshotFrom } from 'xstate';
import type { backendMachine } from '../../model/backend-machine.ts';
import type { frontendMachine } from '../../model/frontend-machine.ts';
import type { BackRingState } from '../blkback/back-ring.ts';
import type { Disk } from '../blkback/disk.ts';
import type { BlkfrontDevice, DriverReport, FrontEnv } from '../blkfront/device.ts';
import type { BackEnv } from '../blkback/back-ring.ts';
import type { EventChannels } from '../xen/event-channel.ts';
import type { GrantTable } from '../xen/grant-table.ts';
import type { DomainMemory, DomId } from '../xen/memory.ts';
import type { TxId, Xenstore } from '../xen/xenstore.ts';
import type { BackendConfig, WorldConfig } from './config.ts';
import type { Drivers } from './drivers.ts';
import type { Guest } from './guest.ts';
import type { AdversaryRecord } from './hostile/record.ts';

export type FrontendSnapshot = SnapshotFrom<typeof frontendMachine>;
export type BackendSnapshot = SnapshotFrom<typeof backendMachine>;

export interface FrontSide {
  snapshot: FrontendSnapshot;
  readonly device: BlkfrontDevice;
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
  /** What the frontend's routines work with; rebuilt when the guest's domid changes. */
  env: FrontEnv;
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
}

export interface Host {
  /** Which backend configuration: 0 the initial host, i the i-th migration target. */
  readonly index: number;
  readonly back: BackSide;
  readonly env: BackEnv;
  hotplugDone: boolean;
  /** startRingWorkers ran: one ring thread per ring consumes from now on. */
  workersStarted: boolean;
}

export type GuestPhase = 'running' | 'suspending' | 'suspended' | 'migrated';

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
  phase: GuestPhase;
  readonly front: FrontSide;
  host: Host;
  /** The backend restarted (at most once a run). */
  backendRestarted: boolean;
  /** Migrations performed so far (index into config.faults.migrations). */
  migrationCount: number;
  conflictsLeft: number;
  unplugged: boolean;
  /** The toolstack removed both directories after an unplug. */
  removed: boolean;
  closed: boolean;
  stepCount: number;
  readonly reports: DriverReport[];
  /** Every state value each side wrote to its own state node, in order (for the xenbus invariant). */
  readonly stateWrites: StateWrite[];
  /** The hostile peer's record when config.hostile is set (what it did, for the honest side's judge). */
  readonly adversary: AdversaryRecord | undefined;
  /** Filled when a step records observations (traces); undefined on the fast path. */
  observe: ((note: Observation) => void) | undefined;
}

/** One write of a side's own state node by its driver or by xenbus on its behalf. */
export interface StateWrite {
  readonly side: 'frontend' | 'backend';
  readonly writer: 'frontend' | 'backend' | 'xenbus';
  readonly from: number;
  readonly to: number;
  readonly step: number;
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
  | { readonly kind: 'notify'; readonly side: 'frontend' | 'backend'; readonly ring: number }
  | { readonly kind: 'report'; readonly report: DriverReport };
