// blkfront_ring_info: everything blkfront keeps per ring (= per blk-mq hardware queue) since Bob
// Liu's multi-queue series made grants, shadows and indirect pages per ring instead of per device.
import { assert, maybe } from '../assert.ts';
import {
  FORK_SELF,
  type Forking,
  type ForksSelf,
  HASH_SELF,
  type Hasher,
  type HashesSelf,
  OWNED_BY_ARRAY,
  type PartWalk,
} from '../hash.ts';
import type { GrantRef } from '../xen/grant-table.ts';
import type { Frame } from '../xen/memory.ts';
import type { Port } from '../xen/event-channel.ts';
import type { FrontRing } from '../xen/shared-ring.ts';
import type { BlkifResponse } from '../xen/blkif-abi.ts';
import { isRingSize, type RingIdx } from '../xen/ring-index.ts';
import type { BlockRequest } from './block-request.ts';

/** The free-list end marker blkfront threads through shadow[].req.u.rw.id. */
export const SHADOW_LIST_END = 0x0fffffff;
export const INVALID_GRANT_REF = -1;

export type ShadowStatus = 'free' | 'processing' | 'waiting';

/** One entry of rinfo->grants: a reference (valid = persistent or in use) and, when bouncing, its own page. */
export interface GrantSlot {
  ref: GrantRef | typeof INVALID_GRANT_REF;
  /** Own page (bounce mode and indirect pages); allocated on first use, as Linux fills lazily here. */
  frame: Frame | undefined;
}

export interface Shadow {
  status: ShadowStatus;
  /** Free-list link while free; the request id while in flight (as req.u.rw.id in Linux). */
  link: number;
  request: BlockRequest | undefined;
  /** The operation placed on the ring (BLKIF_OP_INDIRECT for indirect requests). */
  ringOperation: number;
  /** The operation the response must carry: the inner op for indirect requests. */
  operation: number;
  readonly grantsUsed: GrantSlot[];
  readonly indirectGrants: GrantSlot[];
}

/** A completion between its grant queries and its end of access (RingInfo.revoking). */
export interface Revocation {
  /** The accepted response's private copy: its id names the shadow whose grants are queried. */
  readonly rsp: BlkifResponse;
  /** Per grant of the shadow (grantsUsed, then indirectGrants): still mapped when queried. */
  readonly mappedWhenQueried: readonly boolean[];
}

/** Linux's blkif_interrupt holds ring_lock throughout; the model splits it at the final check. */
export type IrqState = 'idle' | 'responses' | 'finalCheck';

export interface RingInfo {
  readonly index: number;
  readonly front: FrontRing;
  readonly ringFrame: Frame;
  readonly ringPageCount: number;
  readonly ringRefs: readonly GrantRef[];
  readonly port: Port;
  readonly shadow: Shadow[];
  shadowFree: number;
  inflightCount: number;
  /** Head of rinfo->grants: entries with a valid (persistent) reference, most recent last. */
  readonly persistentSlots: GrantSlot[];
  /** Tail of rinfo->grants: entries whose reference was ended (INVALID_GRANT_REF). */
  readonly unusedSlots: GrantSlot[];
  /**
   * Entries allocated for the session but never used yet: Linux fills the whole list at connect;
   * the model creates an entry on first use, so a run does not build thousands of idle objects.
   */
  freshSlots: number;
  persistentGntsC: number;
  /** Total entries this ring owns: constant for the session (invariant 23). */
  readonly grantSlotCount: number;
  /** Pre-allocated indirect pages when not bouncing (rinfo->indirect_pages). */
  readonly indirectPages: Frame[];
  /** blk-mq's dispatch list for this hardware queue, and whether the queue is stopped. */
  readonly dispatch: BlockRequest[];
  stopped: boolean;
  irq: IrqState;
  /**
   * The private copy RING_COPY_RESPONSE took and validateResponse accepted, not processed yet:
   * blkif_interrupt's window between the copy and blkif_completion, taken only when the backend
   * may rewrite the slot (FrontEnv.peerMayRewrite). rsp_cons is already past it.
   */
  held: BlkifResponse | undefined;
  /**
   * A completion split at its grant end: the response accepted and each grant of its request
   * queried (gnttab_query_foreign_access), the end of access still to come. Only a completion
   * that queries before it ends opens this window (the pre-XSA-396 blkif_completion); Linux's
   * gnttab_try_end_foreign_access checks and ends in one step and never leaves it set.
   */
  revoking: Revocation | undefined;
  /** The rsp_prod blkif_interrupt read once for the loop in progress (its `rp`). */
  rspBatchEnd: RingIdx;
  /**
   * blkif_interrupt's eoiflag: XEN_EOI_FLAG_SPURIOUS from the event's delivery until the handler
   * processes a response; the late EOI passes it (XSA-391's spurious-event throttling).
   */
  eoiSpurious: boolean;
}

/** The status strings' codes in a shadow's hash. */
const STATUS_CODES: Readonly<Record<ShadowStatus, number>> = {
  free: 0,
  processing: 1,
  waiting: 2,
};

/**
 * One shadow entry. A class so that it forks and hashes itself (there are ring-size of them per
 * ring, most of a world's objects): the same fields as the generic walks would take, without
 * their per-field lookups. The request and the grant lists go through the world's fork and walk
 * (the lists' entries are rinfo->grants entries, which the ring's grant lists also hold).
 */
export class ShadowEntry implements Shadow, ForksSelf, HashesSelf {
  status: ShadowStatus = 'free';
  request: BlockRequest | undefined = undefined;
  ringOperation = 0;
  operation = 0;
  grantsUsed: GrantSlot[] = [];
  indirectGrants: GrantSlot[] = [];

  constructor(public link: number) {
    assert(Number.isInteger(link) && link >= 0, 'shadow link %s', link);
  }

  [FORK_SELF](fork: Forking): ShadowEntry {
    const copy = new ShadowEntry(this.link);
    copy.status = this.status;
    copy.request = fork.copy(this.request) as BlockRequest | undefined;
    copy.ringOperation = this.ringOperation;
    copy.operation = this.operation;
    // Only this entry holds its lists, so an empty one needs no memo entry: most shadows of a
    // fork are free (a quarter of a fork's copies went to these empty lists).
    if (this.grantsUsed.length > 0) copy.grantsUsed = fork.copy(this.grantsUsed) as GrantSlot[];
    if (this.indirectGrants.length > 0) {
      copy.indirectGrants = fork.copy(this.indirectGrants) as GrantSlot[];
    }
    assert(copy.grantsUsed !== this.grantsUsed, 'a shadow fork shares its grant list');
    return copy;
  }

  [HASH_SELF](h: Hasher, _fresh: boolean, walk: PartWalk): void {
    const code = STATUS_CODES[this.status];
    assert(code !== undefined, 'shadow status %s', this.status);
    h.mix(code);
    h.mixNumber(this.link);
    h.mixNumber(this.ringOperation);
    h.mixNumber(this.operation);
    walk.value(this.request);
    // An empty list is this entry's own (see the fork): mixed as the walk mixes an array, without
    // the walk's numbering of it (two of the three objects a free shadow holds).
    if (this.grantsUsed.length === 0) mixEmptyList(h);
    else walk.value(this.grantsUsed);
    if (this.indirectGrants.length === 0) mixEmptyList(h);
    else walk.value(this.indirectGrants);
  }
}

// Only rinfo->shadow holds an entry (blkfront looks them up by id there): on the prototype, so
// the world's walks ask it of an array's first entry with one load.
Object.defineProperty(ShadowEntry.prototype, OWNED_BY_ARRAY, { value: true });

function mixEmptyList(h: Hasher): void {
  h.mix(6);
  h.mix(0);
}

export function createShadows(ringSize: number): Shadow[] {
  assert(isRingSize(ringSize), 'shadow array for ring size %s', ringSize);
  const shadow: Shadow[] = [];
  for (let i = 0; i < ringSize; i++)
    shadow.push(new ShadowEntry(i + 1 < ringSize ? i + 1 : SHADOW_LIST_END));
  assert(shadow.length === ringSize, 'one shadow per ring slot');
  return shadow;
}

/** get_id_from_freelist. */
export function takeShadowId(rinfo: RingInfo): number {
  const id = rinfo.shadowFree;
  assert(id < rinfo.shadow.length, 'ring %s: shadow free list empty', rinfo.index);
  const slot = rinfo.shadow[id]!;
  assert(
    slot.status === 'free',
    'ring %s: shadow %s on the free list is not free',
    rinfo.index,
    id,
  );
  rinfo.shadowFree = slot.link;
  slot.link = id;
  slot.status = 'processing';
  rinfo.inflightCount += 1;
  assert(
    rinfo.inflightCount <= rinfo.shadow.length,
    'ring %s: more in flight than shadows',
    rinfo.index,
  );
  return id;
}

/** add_id_to_freelist: refused (false) unless the slot really holds that id with a request. */
export function releaseShadowId(rinfo: RingInfo, id: number): boolean {
  const slot = rinfo.shadow[id];
  if (slot === undefined || slot.link !== id || slot.request === undefined) return false;
  assert(slot.status !== 'free', 'ring %s: shadow %s holds a request but is free', rinfo.index, id);
  slot.request = undefined;
  slot.status = 'free';
  slot.grantsUsed.length = 0;
  slot.indirectGrants.length = 0;
  slot.link = rinfo.shadowFree;
  rinfo.shadowFree = id;
  rinfo.inflightCount -= 1;
  assert(rinfo.inflightCount >= 0, 'ring %s: in-flight count below zero', rinfo.index);
  return true;
}

/** get_free_grant: the head of rinfo->grants, a persistent entry if any. */
export function takeGrantSlot(rinfo: RingInfo): GrantSlot {
  const persistent = rinfo.persistentSlots.pop();
  maybe(persistent !== undefined);
  if (persistent !== undefined) {
    rinfo.persistentGntsC -= 1;
    assert(
      persistent.ref !== INVALID_GRANT_REF,
      'ring %s: persistent entry without a reference',
      rinfo.index,
    );
    return persistent;
  }
  const unused = rinfo.unusedSlots.pop();
  if (unused !== undefined) {
    assert(unused.ref === INVALID_GRANT_REF, 'ring %s: unused entry still granted', rinfo.index);
    return unused;
  }
  assert(rinfo.freshSlots > 0, 'ring %s: grant list exhausted', rinfo.index);
  rinfo.freshSlots -= 1;
  return { ref: INVALID_GRANT_REF, frame: undefined };
}

/** Grant entries (with a valid or invalid reference) not held by any in-flight request. */
export function freeGrantSlotCount(rinfo: RingInfo): number {
  assert(rinfo.freshSlots >= 0, 'ring %s: fresh grant entries below zero', rinfo.index);
  return rinfo.persistentSlots.length + rinfo.unusedSlots.length + rinfo.freshSlots;
}

export function shadowInUse(rinfo: RingInfo): number {
  assert(rinfo.inflightCount >= 0, 'ring %s: in-flight count below zero', rinfo.index);
  return rinfo.inflightCount;
}
