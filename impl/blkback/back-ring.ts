// xen_blkif_ring: per-ring backend state (connect_ring/read_per_ring_refs set it up; the ring
// thread xen_blkif_schedule drives it).
import type { BlkifAbi } from '../xen/blkif-abi.ts';
import type { EventChannels, EvtchnError, Port } from '../xen/event-channel.ts';
import type { GrantError, GrantMapping, GrantRef, GrantTable } from '../xen/grant-table.ts';
import type { DomainMemory, DomId } from '../xen/memory.ts';
import type { CopyRequestResult } from '../xen/blkif-abi.ts';
import type { RingIdx } from '../xen/ring-index.ts';
import type { BackRing } from '../xen/shared-ring.ts';
import type { DriverReport } from '../blkfront/device.ts';
import type { BlkbackDrivers } from '../world/drivers.ts';
import type { Disk } from './disk.ts';

export interface PersistentGrant {
  readonly mapping: GrantMapping;
  /** In use by a request in flight (persistent_gnt->active). */
  active: boolean;
  /**
   * Used within the grant timeout (persistent_gnt_timeout is false): put_persistent_gnt sets it
   * (last_used = jiffies); each purge pass clears it on the entries it keeps. The model has no
   * clock: time is counted in purge passes, so an entry idle through a whole pass has timed out.
   */
  recentlyUsed: boolean;
}

export interface MappedSegment {
  readonly gref: GrantRef;
  readonly page: Uint8Array;
  readonly firstSect: number;
  readonly lastSect: number;
  /** True when the mapping belongs to the persistent tree (released, not unmapped, at the end). */
  readonly persistent: boolean;
  /** Mapped without GNTMAP_readonly: the backend may write guest data into it (a READ). */
  readonly writable: boolean;
}

export type IoKind = 'read' | 'write' | 'flush' | 'discard';

/** pending_req: one consumed request whose I/O is in flight. */
export interface PendingRequest {
  readonly slot: number;
  readonly id: number;
  /** The op the response carries (inner op for INDIRECT). */
  readonly operation: number;
  readonly kind: IoKind;
  readonly sector: number;
  readonly sectorCount: number;
  readonly segments: MappedSegment[];
}

export type WorkerState = 'sleeping' | 'running';

/**
 * struct xen_vbd's overflow_max_grants: a grant could not be kept because a ring's tree was full
 * (xen_blkbk_map); the next purge of any ring whose tree is at the limit then removes idle
 * entries that did not time out too, and a purge that removed any clears it
 * (purge_persistent_gnt). Per vbd in Linux, so one ring's overflow makes its siblings purge.
 */
export interface VbdState {
  overflowMaxGrants: boolean;
}

export interface BackRingState {
  readonly index: number;
  /** This ring instance's number among all the world mapped (the world numbers it as it maps). */
  serial: number;
  readonly back: BackRing;
  readonly port: Port;
  readonly ringRefs: readonly GrantRef[];
  readonly persistent: Map<GrantRef, PersistentGrant>;
  /** persistent_gnt_in_use: entries of the tree active for a request in flight. */
  persistentInUse: number;
  /**
   * The blkif's vbd (ring->blkif->vbd), one object shared by every ring of the device: its
   * overflow_max_grants is set by any ring and read and cleared by each ring's purge.
   */
  vbd: VbdState;
  /** pending_free: 32 x pages slots; a slot index is free iff it is in this stack. */
  readonly pendingFree: number[];
  readonly inflight: Map<number, PendingRequest>;
  /** A WRITE_BARRIER consumed while I/O was in flight: drain_io holds it here. */
  barrier: PendingRequest | undefined;
  /**
   * The private copy RING_COPY_REQUEST took of the request at `held.index`, not dispatched yet:
   * __do_block_io_op's window between the copy (req_cons already past it) and
   * dispatch_rw_block_io. Only taken when the peer may rewrite the slot (BackEnv.peerMayRewrite).
   */
  held: { readonly index: RingIdx; readonly copied: CopyRequestResult } | undefined;
  worker: WorkerState;
  /** The frontend published more than the ring holds: consume nothing more until disconnect. */
  halted: boolean;
  /** Halted by a disconnect's kthread_stop, not by the worker's overflow check (which reports). */
  stopped: boolean;
  /**
   * xen_blkif_schedule's do_eoi: an event woke the thread (xen_blkif_be_int) and its late EOI is
   * owed at the end of the pass that finds no more work; the channel stays masked until then.
   */
  eoiOwed: boolean;
  /** eoi_flags & XEN_EOI_FLAG_SPURIOUS: no request seen since the last late EOI (or the start). */
  eoiSpurious: boolean;
  consumedCount: number;
  respondedCount: number;
}

/**
 * What xen_blkif_disconnect's release of one idle ring did, as each call returned: judged by the
 * release-once invariant (the oracle, not the driver, decides whether a result was an error).
 */
export interface RingRelease {
  readonly serial: number;
  readonly index: number;
  readonly step: number;
  /** kthread_stop ran: the ring thread is stopped before anything it uses goes. */
  readonly workerStopped: boolean;
  /** unbind_from_irqhandler's EVTCHNOP_close. */
  readonly channelClosed: 'ok' | EvtchnError;
  /** xenbus_unmap_ring_vfree: one result per ring page. */
  readonly ringUnmapped: readonly ('ok' | GrantError)[];
  /** free_persistent_gnts: one result per entry of the tree, and the entries left after it. */
  readonly persistentUnmapped: readonly ('ok' | GrantError)[];
  readonly persistentLeft: number;
  /** The pending pool (pending_free) as released, and the pool's size (32 x ring pages). */
  readonly pendingFree: readonly number[];
  readonly pendingCount: number;
}

export interface BackFeatures {
  /** Negotiated at connect_ring: the module parameter AND the frontend's feature-persistent. */
  persistent: boolean;
  readonly persistentGrantsMax: number;
  readonly indirectSegmentsMax: number;
  readonly flush: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

export interface BackEnv {
  readonly domid: DomId;
  readonly frontendDomid: DomId;
  /** The frontend's grant table: the backend maps and unmaps, never ends access. */
  readonly gnttab: GrantTable;
  readonly frontendMemory: DomainMemory;
  readonly evtchn: EventChannels;
  readonly abi: BlkifAbi;
  readonly disk: Disk;
  readonly features: BackFeatures;
  /**
   * The driver routines in force (the world's Drivers table): the honest coarse routines call
   * their finer seams through it, so a variant that replaces only a seam is still reached.
   */
  readonly drivers: BlkbackDrivers;
  /**
   * The frontend may rewrite a slot it already published (a hostile guest). The worker then
   * stops between RING_COPY_REQUEST and the dispatch of the copy, so an adversary step can sit
   * there. An honest frontend never writes a published slot, so with it the window commutes
   * with every other action and is not split (a partial-order reduction).
   */
  readonly peerMayRewrite: boolean;
  report(report: DriverReport): void;
}
