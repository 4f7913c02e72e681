// The shared ring of xen/include/public/io/ring.h over a real byte area, little-endian.
//
// Layout (struct blkif_sring as DEFINE_RING_TYPES expands it): req_prod @0, req_event @4,
// rsp_prod @8, rsp_event @12, a 4-byte private union @16, 44 bytes of padding @20, then the
// entries @64, each the union of one request and one response. The area spans 2^order pages;
// the entry count is the largest power of two that fits (__RING_SIZE).
//
// Like mirage's shared-memory-ring, this module is index arithmetic over a buffer that answers
// "must notify?": the caller sends the event. Barriers have no counterpart: the world runs one
// action at a time, and an action boundary is where the real code's barriers sit.
//
// Trust: the shared header is written by both peers, so every value read from it may be hostile.
// The producer-overflow helpers report a lying peer; assertions only guard our own private
// indices (ring.h's front/back structs), which no peer can touch.

import { assert } from '../assert.ts';
import type { BlkifAbi, BlkifResponse, CopyRequestResult } from './blkif-abi.ts';
import {
  isRingSize,
  type RingIdx,
  ringIdx,
  ringIdxAdd,
  ringIdxDistance,
  slotOf,
} from './ring-index.ts';
import { noteReadBack, type SlotField, type SlotReads, slotReadsFor } from './slot-reads.ts';

export const SRING_HEADER_SIZE = 64;
export const SRING_REQ_PROD_OFFSET = 0;
export const SRING_REQ_EVENT_OFFSET = 4;
export const SRING_RSP_PROD_OFFSET = 8;
export const SRING_RSP_EVENT_OFFSET = 12;
/** The pvt union (netif smartpoll_active / tapif_user msg / pvt_pad[4]). */
export const SRING_PVT_OFFSET = 16;
export const SRING_PVT_SIZE = 4;
/** uint8_t __pad[44]. */
export const SRING_PAD_OFFSET = 20;
export const SRING_PAD_SIZE = 44;

export interface SharedRing {
  readonly view: DataView;
  readonly size: number;
  readonly entrySize: number;
}

/** ring.h's front private variables (struct blkif_front_ring). */
export interface FrontRing {
  readonly sring: SharedRing;
  reqProdPvt: RingIdx;
  rspCons: RingIdx;
  readonly size: number;
  /** What this consumer of responses fetched from the slots (read-once's evidence). */
  readonly reads: SlotReads;
}

/** ring.h's back private variables (struct blkif_back_ring). */
export interface BackRing {
  readonly sring: SharedRing;
  rspProdPvt: RingIdx;
  reqCons: RingIdx;
  readonly size: number;
  /** What this consumer of requests fetched from the slots and indirect pages. */
  readonly reads: SlotReads;
}

/** __RING_SIZE: entries that fit after the header, rounded down to a power of two (0 if none). */
export function ringEntryCount(areaBytes: number, entrySize: number): number {
  assert(Number.isInteger(areaBytes) && areaBytes >= 0, 'ring area size must be a byte count');
  assert(Number.isInteger(entrySize) && entrySize > 0, 'ring entry size must be positive');
  const fit = Math.floor(Math.max(0, areaBytes - SRING_HEADER_SIZE) / entrySize);
  assert(fit < 0x1_0000_0000, 'ring area larger than RING_IDX can index');
  if (fit === 0) return 0;
  return 2 ** (31 - Math.clz32(fit)); // __RD32: keep the highest set bit
}

/** View an existing ring area without touching it (what the backend does after mapping). */
export function sharedRingAttach(view: DataView, entrySize: number): SharedRing {
  const size = ringEntryCount(view.byteLength, entrySize);
  assert(size >= 1, 'ring area too small for one entry');
  assert(isRingSize(size), 'ring size must be a power of two');
  return { view, size, entrySize };
}

/** SHARED_RING_INIT: producers 0, event indices 1, private union and padding zeroed. */
export function sharedRingInit(ring: SharedRing): void {
  assert(isRingSize(ring.size), 'SHARED_RING_INIT of a ring of %s entries', ring.size);
  const v = ring.view;
  v.setUint32(SRING_REQ_PROD_OFFSET, 0, true);
  v.setUint32(SRING_RSP_PROD_OFFSET, 0, true);
  v.setUint32(SRING_REQ_EVENT_OFFSET, 1, true);
  v.setUint32(SRING_RSP_EVENT_OFFSET, 1, true);
  for (let i = SRING_PVT_OFFSET; i < SRING_HEADER_SIZE; i += 4) v.setUint32(i, 0, true);
  assert(
    reqEvent(ring) === 1 && rspProd(ring) === 0,
    'SHARED_RING_INIT left req_event %s',
    reqEvent(ring),
  );
}

export function reqProd(r: SharedRing): RingIdx {
  return r.view.getUint32(SRING_REQ_PROD_OFFSET, true) as RingIdx;
}
export function setReqProd(r: SharedRing, v: RingIdx): void {
  assert(v >>> 0 === v, 'req_prod set to %s, no RING_IDX', v);
  r.view.setUint32(SRING_REQ_PROD_OFFSET, v, true);
}
export function reqEvent(r: SharedRing): RingIdx {
  return r.view.getUint32(SRING_REQ_EVENT_OFFSET, true) as RingIdx;
}
export function setReqEvent(r: SharedRing, v: RingIdx): void {
  assert(v >>> 0 === v, 'req_event set to %s, no RING_IDX', v);
  r.view.setUint32(SRING_REQ_EVENT_OFFSET, v, true);
}
export function rspProd(r: SharedRing): RingIdx {
  return r.view.getUint32(SRING_RSP_PROD_OFFSET, true) as RingIdx;
}
export function setRspProd(r: SharedRing, v: RingIdx): void {
  assert(v >>> 0 === v, 'rsp_prod set to %s, no RING_IDX', v);
  r.view.setUint32(SRING_RSP_PROD_OFFSET, v, true);
}
export function rspEvent(r: SharedRing): RingIdx {
  return r.view.getUint32(SRING_RSP_EVENT_OFFSET, true) as RingIdx;
}
export function setRspEvent(r: SharedRing, v: RingIdx): void {
  assert(v >>> 0 === v, 'rsp_event set to %s, no RING_IDX', v);
  r.view.setUint32(SRING_RSP_EVENT_OFFSET, v, true);
}

/** FRONT_RING_ATTACH: private indices at `idx` (FRONT_RING_INIT is idx 0). */
export function frontRingAttach(sring: SharedRing, idx: RingIdx): FrontRing {
  assert(
    isRingSize(sring.size) && idx >>> 0 === idx,
    'front ring of %s entries at %s',
    sring.size,
    idx,
  );
  return {
    sring,
    reqProdPvt: idx,
    rspCons: idx,
    size: sring.size,
    reads: slotReadsFor(sring.size),
  };
}

/** FRONT_RING_INIT: private indices 0 (the frontend runs SHARED_RING_INIT first). */
export function frontRingInit(sring: SharedRing): FrontRing {
  const front = frontRingAttach(sring, ringIdx(0));
  assert(
    freeRequests(front) === front.size,
    'FRONT_RING_INIT: %s of %s slots free',
    freeRequests(front),
    front.size,
  );
  return front;
}

/** BACK_RING_ATTACH(..., rsp_prod): Linux blkback's xen_blkif_map attaches at the current
 *  rsp_prod so that a backend can unbind and rebind to a live ring. It first rejects
 *  req_prod - rsp_prod > size; callers do that with backProducerOverflow() on the result. */
export function backRingAttach(sring: SharedRing): BackRing {
  assert(isRingSize(sring.size), 'back ring of %s entries', sring.size);
  const at = rspProd(sring);
  return { sring, rspProdPvt: at, reqCons: at, size: sring.size, reads: slotReadsFor(sring.size) };
}

/** Byte offset in `ring.view` of the slot holding index `idx` (RING_GET_REQUEST/RESPONSE). */
export function entryOffset(ring: SharedRing, idx: RingIdx): number {
  const offset = SRING_HEADER_SIZE + slotOf(idx, ring.size) * ring.entrySize;
  // The slot lies inside the shared area whatever the index: no peer value reaches past it.
  assert(offset + ring.entrySize <= ring.view.byteLength, 'ring slot of %s past the area', idx);
  return offset;
}

/** RING_FREE_REQUESTS. The macros allow `size` outstanding requests (ring.h's prose: size-1). */
export function freeRequests(f: FrontRing): number {
  const outstanding = ringIdxDistance(f.rspCons, f.reqProdPvt);
  assert(outstanding <= f.size, 'front ring: more requests outstanding than slots');
  return f.size - outstanding;
}

/** RING_FULL. */
export function ringFull(f: FrontRing): boolean {
  assert(
    f.size === f.sring.size,
    'front ring of %s entries over a ring of %s',
    f.size,
    f.sring.size,
  );
  return freeRequests(f) === 0;
}

/** RING_HAS_UNCONSUMED_RESPONSES (a count). Check frontProducerOverflow() before trusting it. */
export function unconsumedResponses(f: FrontRing): number {
  return ringIdxDistance(f.rspCons, rspProd(f.sring));
}

/** RING_HAS_UNCONSUMED_REQUESTS: min(req_prod - req_cons, free response space), so a backend
 *  never takes a request it could not answer (a hostile req_prod cannot push it past that). */
export function unconsumedRequests(b: BackRing): number {
  const taken = ringIdxDistance(b.rspProdPvt, b.reqCons);
  assert(taken <= b.size, 'back ring: consumed more requests than response slots');
  const req = ringIdxDistance(b.reqCons, reqProd(b.sring));
  const rsp = b.size - taken;
  return Math.min(req, rsp);
}

/** RING_REQUEST_CONS_OVERFLOW: consuming index `cons` would leave no slot for its response. */
export function requestConsOverflow(b: BackRing, cons: RingIdx): boolean {
  assert(ringIdxDistance(b.reqCons, cons) <= b.size, 'back ring: cons %s far past req_cons', cons);
  return ringIdxDistance(b.rspProdPvt, cons) >= b.size;
}

/** RING_REQUEST_PROD_OVERFLOW: a frontend cannot honestly have published `prod`. */
export function requestProdOverflow(b: BackRing, prod: RingIdx): boolean {
  return ringIdxDistance(b.rspProdPvt, prod) > b.size;
}

/** RING_RESPONSE_PROD_OVERFLOW: a backend cannot honestly have published `prod` (2021). */
export function responseProdOverflow(f: FrontRing, prod: RingIdx): boolean {
  return ringIdxDistance(f.rspCons, prod) > f.size;
}

/** Hostile frontend: the shared req_prod is more than `size` ahead of rsp_prod_pvt. */
export function backProducerOverflow(b: BackRing): boolean {
  return requestProdOverflow(b, reqProd(b.sring));
}

/** Hostile backend: the shared rsp_prod is more than `size` ahead of rsp_cons. */
export function frontProducerOverflow(f: FrontRing): boolean {
  return responseProdOverflow(f, rspProd(f.sring));
}

/** The rule of RING_PUSH_*_AND_CHECK_NOTIFY: notify iff (new - event) < (new - old) as uint32,
 *  i.e. iff the peer's event index lies in (old, new] modulo 2^32. */
export function mustNotify(old: RingIdx, next: RingIdx, event: RingIdx): boolean {
  return ringIdxDistance(event, next) < ringIdxDistance(old, next);
}

/** RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish req_prod_pvt, then read req_event. */
export function pushRequestsAndCheckNotify(f: FrontRing): boolean {
  const s = f.sring;
  const old = reqProd(s);
  const next = f.reqProdPvt;
  assert(ringIdxDistance(f.rspCons, next) <= f.size, 'front ring: pushing past the ring');
  setReqProd(s, next);
  assert(reqProd(s) === next, 'req_prod not published as %s', next);
  return mustNotify(old, next, reqEvent(s));
}

/** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish rsp_prod_pvt, then read rsp_event. */
export function pushResponsesAndCheckNotify(b: BackRing): boolean {
  const s = b.sring;
  const old = rspProd(s);
  const next = b.rspProdPvt;
  assert(ringIdxDistance(next, b.reqCons) <= b.size, 'back ring: responses past requests');
  setRspProd(s, next);
  assert(rspProd(s) === next, 'rsp_prod not published as %s', next);
  return mustNotify(old, next, rspEvent(s));
}

/** RING_FINAL_CHECK_FOR_REQUESTS: work pending? If not, ask for an event on the very next
 *  request (req_event = req_cons + 1) and look again, closing the window in which a frontend
 *  published before it could see the new event index (the lost-wakeup race). */
export function finalCheckForRequests(b: BackRing): boolean {
  if (unconsumedRequests(b) > 0) return true;
  setReqEvent(b.sring, ringIdxAdd(b.reqCons, 1));
  assert(reqEvent(b.sring) === ringIdxAdd(b.reqCons, 1), 'req_event not re-armed at %s', b.reqCons);
  return unconsumedRequests(b) > 0;
}

/** RING_FINAL_CHECK_FOR_RESPONSES: the mirror image with rsp_event = rsp_cons + 1. */
export function finalCheckForResponses(f: FrontRing): boolean {
  if (unconsumedResponses(f) > 0) return true;
  setRspEvent(f.sring, ringIdxAdd(f.rspCons, 1));
  assert(rspEvent(f.sring) === ringIdxAdd(f.rspCons, 1), 'rsp_event not re-armed at %s', f.rspCons);
  return unconsumedResponses(f) > 0;
}

// ---- reading entries: every honest fetch from a slot goes through these, and is counted ----

const RESPONSE_FIELDS: readonly SlotField[] = ['id', 'operation', 'status'];
const RW_FIELDS: readonly SlotField[] = [
  'operation',
  'nr_segments',
  'id',
  'segments',
  'handle',
  'sector_number',
];
const REFUSED_FIELDS: readonly SlotField[] = ['operation', 'nr_segments', 'id'];
const UNKNOWN_FIELDS: readonly SlotField[] = ['operation', 'id'];

/**
 * RING_COPY_REQUEST of the entry at `idx` into private memory, counted per field the decode read
 * (discard's flag counts as nr_segments and nr_sectors as segments; an indirect request's
 * indirect_op and nr_segments as nr_segments, its indirect_grefs as segments).
 */
export function copyRequestSlot(b: BackRing, abi: BlkifAbi, idx: RingIdx): CopyRequestResult {
  assert(b.reads.size === b.size, 'back ring: a read log of another size');
  const copied = abi.copyRequest(b.sring.view, entryOffset(b.sring, idx));
  const fields = !copied.ok
    ? REFUSED_FIELDS
    : copied.value.kind === 'unknown'
      ? UNKNOWN_FIELDS
      : RW_FIELDS;
  b.reads.noteSlot(slotOf(idx, b.size), idx, 'request', fields);
  return copied;
}

/** RING_COPY_RESPONSE of the entry at `idx`: id, operation and status, each read once. */
export function copyResponseSlot(f: FrontRing, abi: BlkifAbi, idx: RingIdx): BlkifResponse {
  assert(f.reads.size === f.size, 'front ring: a read log of another size');
  const rsp = abi.copyResponse(f.sring.view, entryOffset(f.sring, idx));
  f.reads.noteSlot(slotOf(idx, f.size), idx, 'response', RESPONSE_FIELDS);
  return rsp;
}

/** One field of the response at `idx`, fetched again from the slot (counted). */
export function readResponseField(
  f: FrontRing,
  abi: BlkifAbi,
  idx: RingIdx,
  field: 'id' | 'operation' | 'status',
): number {
  const rsp = abi.copyResponse(f.sring.view, entryOffset(f.sring, idx));
  f.reads.noteSlot(slotOf(idx, f.size), idx, 'response', [field]);
  assert(Number.isInteger(rsp[field]), 'response field %s is an integer', field);
  return rsp[field];
}

/** sector_number of the request at `idx`, fetched again from the slot (counted). */
export function readRequestSector(b: BackRing, abi: BlkifAbi, idx: RingIdx): number {
  const at = entryOffset(b.sring, idx) + abi.layout.sectorNumberOffset;
  b.reads.noteSlot(slotOf(idx, b.size), idx, 'request', ['sector_number']);
  const sector =
    b.sring.view.getUint32(at + 4, true) * 0x1_0000_0000 + b.sring.view.getUint32(at, true);
  assert(Number.isInteger(sector) && sector >= 0, 'a u64 read as %s', sector);
  return sector;
}

/** The producer fetches back the request it wrote at `idx` (a read-back, whatever it finds). */
export function readBackRequest(f: FrontRing, abi: BlkifAbi, idx: RingIdx): CopyRequestResult {
  noteReadBack(f.reads, idx, 'request', 'operation');
  assert(f.reads.finding !== undefined, 'a read-back is always a finding');
  return abi.copyRequest(f.sring.view, entryOffset(f.sring, idx));
}

/**
 * xen_blkbk_parse_indirect read descriptor `descriptor` (gref, first_sect, last_sect, once each)
 * of indirect page `gref` for the request being dispatched: the last one copied (req_cons - 1).
 */
export function noteDescriptorReads(b: BackRing, gref: number, descriptor: number): void {
  assert(Number.isInteger(descriptor) && descriptor >= 0, 'descriptor %s', descriptor);
  const index = ringIdxAdd(b.reqCons, -1);
  b.reads.noteDescriptor(index, gref, descriptor, 'gref');
  b.reads.noteDescriptor(index, gref, descriptor, 'first_sect');
  b.reads.noteDescriptor(index, gref, descriptor, 'last_sect');
}
