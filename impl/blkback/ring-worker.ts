// The ring thread (xen_blkif_schedule -> do_block_io_op -> __do_block_io_op -> dispatch_rw_block_io)
// and the I/O completion path (__end_block_io_op -> xen_blkbk_unmap_and_respond -> make_response).
// Granularity: one consumed request per action, because the frontend may publish more between two
// RING_COPY_REQUESTs; one completed I/O per action, because completions arrive from the disk in
// any order and each pushes its own response; the final check is its own action, because a
// frontend push between "nothing left" and req_event being set is the classic lost wake-up.
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  type BlkifRequest,
  type BlkifSegment,
  type CopyRequestResult,
} from '../xen/blkif-abi.ts';
import { ringIdxAdd, ringIdxDistance } from '../xen/ring-index.ts';
import {
  backProducerOverflow,
  copyRequestSlot,
  entryOffset,
  finalCheckForRequests,
  pushResponsesAndCheckNotify,
  reqEvent,
  rspProd,
  unconsumedRequests,
} from '../xen/shared-ring.ts';
import { assert, maybe } from '../assert.ts';
import type { BlkbackReportCode } from '../blkfront/device.ts';
import type { BackEnv, BackRingState, IoKind, MappedSegment, PendingRequest } from './back-ring.ts';
import { readIndirectSegments, releaseSegments } from './persistent-cache.ts';

export type ConsumeResult =
  | { readonly kind: 'halted' }
  | {
      readonly kind: 'responded';
      readonly id: number;
      readonly status: number;
      readonly notify: boolean;
    }
  | { readonly kind: 'submitted'; readonly slot: number; readonly id: number }
  | { readonly kind: 'barrierWaits'; readonly id: number }
  | { readonly kind: 'copied'; readonly index: number };

/** True when the worker may consume: awake, requests waiting, a pending slot free, no barrier draining. */
export function canConsume(ring: BackRingState): boolean {
  return (
    ring.worker === 'running' &&
    !ring.halted &&
    ring.barrier === undefined &&
    ring.pendingFree.length > 0 &&
    (ring.held !== undefined || unconsumedRequests(ring.back) > 0)
  );
}

/** True when the worker has nothing it can consume and must run the final check before sleeping. */
export function needsFinalCheck(ring: BackRingState): boolean {
  return (
    ring.worker === 'running' && !ring.halted && ring.barrier === undefined && !canConsume(ring)
  );
}

/**
 * One RING_COPY_REQUEST and its dispatch, or (when the peer may rewrite the slot) either half:
 * the copy, held, or the dispatch of the held copy. Postconditions in ring.h terms: req_cons
 * moved by one at the copy (none when halted); a submitted or drained request took one pending
 * slot, an answered one took none and pushed exactly one response.
 */
export function consumeRequest(ring: BackRingState, env: BackEnv): ConsumeResult {
  assert(!ring.halted, 'ring %s: consuming on a halted ring', ring.index);
  assert(ring.barrier === undefined, 'ring %s: consuming while a barrier drains', ring.index);
  assert(ring.pendingFree.length > 0, 'ring %s: consuming without a free pending slot', ring.index);
  const back = ring.back;
  const consBefore = back.reqCons;
  const rspBefore = back.rspProdPvt;
  const freeBefore = ring.pendingFree.length;
  const inflightBefore = ring.inflight.size;
  const copies = ring.held === undefined ? 1 : 0;
  const result = consumeOne(ring, env);
  const consumed = ringIdxDistance(consBefore, back.reqCons);
  const responded = ringIdxDistance(rspBefore, back.rspProdPvt);
  switch (result.kind) {
    case 'halted':
      assert(consumed === 0 && ring.halted, 'ring %s: halt consumed a request', ring.index);
      break;
    case 'copied':
      assert(consumed === 1 && responded === 0, 'ring %s: a copy moved the ring', ring.index);
      assert(ring.held?.index === consBefore, 'ring %s: the copy is not held', ring.index);
      break;
    case 'responded':
      assert(
        consumed === copies && responded === 1,
        'ring %s: answered request not 1:1',
        ring.index,
      );
      assert(ring.pendingFree.length === freeBefore, 'ring %s: answer took a slot', ring.index);
      break;
    case 'submitted':
      assert(consumed === copies && responded === 0, 'ring %s: submit moved the ring', ring.index);
      assert(
        ring.pendingFree.length === freeBefore - 1,
        'ring %s: pending pool not -1',
        ring.index,
      );
      assert(ring.inflight.size === inflightBefore + 1, 'ring %s: in-flight not +1', ring.index);
      break;
    case 'barrierWaits':
      assert(consumed === copies && responded === 0, 'ring %s: barrier moved the ring', ring.index);
      assert(
        ring.pendingFree.length === freeBefore - 1,
        'ring %s: pending pool not -1',
        ring.index,
      );
      assert(ring.barrier !== undefined, 'ring %s: barrier not held', ring.index);
      break;
  }
  return result;
}

function consumeOne(ring: BackRingState, env: BackEnv): ConsumeResult {
  const back = ring.back;
  const held = ring.held;
  if (held !== undefined) {
    ring.held = undefined;
    return dispatch(ring, held.copied, env);
  }
  if (backProducerOverflow(back)) {
    // Linux: "Frontend provided bogus ring requests ... Halting ring processing".
    ring.halted = true;
    env.report({
      side: 'blkback',
      code: 'ring-overflow',
      ring: ring.index,
      requestId: undefined,
      gref: undefined,
      message: `frontend published req_prod more than ${back.size} past rsp_prod_pvt ${back.rspProdPvt}`,
    });
    return { kind: 'halted' };
  }
  const index = back.reqCons;
  const copied = copyRequestSlot(back, env.abi, index);
  back.reqCons = ringIdxAdd(index, 1); // "before make_response()"
  ring.consumedCount += 1;
  ring.eoiSpurious = false; // "We've seen a request, so clear spurious eoi flag."
  // __do_block_io_op: RING_COPY_REQUEST, then barrier() and every check on the private copy.
  if (env.peerMayRewrite) {
    ring.held = { index, copied };
    return { kind: 'copied', index };
  }
  return dispatch(ring, copied, env);
}

/** The rest of one loop iteration of __do_block_io_op, on the private copy only. */
function dispatch(ring: BackRingState, copied: CopyRequestResult, env: BackEnv): ConsumeResult {
  assert(ring.held === undefined, 'ring %s: dispatching beside a held copy', ring.index);
  if (!copied.ok) {
    const { id, operation } = copied.error;
    report(ring, env, 'bad-request', id, copied.error.message);
    return respondNow(ring, env, id, operation, BLKIF_RSP_ERROR);
  }
  const req = copied.value;
  const checked = env.drivers.validateRequest(req, env);
  if (checked.status !== BLKIF_RSP_OKAY) {
    report(ring, env, 'request-rejected', req.id, checked.why);
    return respondNow(ring, env, req.id, checked.operation, checked.status);
  }
  const segments = mapRequest(ring, req, env);
  if (segments === undefined)
    return respondNow(ring, env, req.id, checked.operation, BLKIF_RSP_ERROR);
  const slot = ring.pendingFree.pop();
  assert(slot !== undefined, 'ring %s: pending pool empty', ring.index);
  assert(!ring.inflight.has(slot), 'ring %s: free pending slot %s is in flight', ring.index, slot);
  const pending: PendingRequest = {
    slot,
    id: req.id,
    operation: checked.operation,
    kind: checked.kind,
    sector: req.kind === 'unknown' ? 0 : req.sectorNumber,
    sectorCount: checked.sectorCount,
    segments,
  };
  maybe(req.operation === BLKIF_OP_WRITE_BARRIER);
  if (req.operation === BLKIF_OP_WRITE_BARRIER && ring.inflight.size > 0) {
    ring.barrier = pending; // drain_io: the thread waits for in-flight I/O before submitting
    return { kind: 'barrierWaits', id: req.id };
  }
  ring.inflight.set(slot, pending);
  return { kind: 'submitted', slot, id: req.id };
}

/**
 * kthread_stop waits for the ring thread to leave its loop: a request it copied is dispatched
 * before the thread stops (xen_blkif_disconnect, then the ring is idle or busy as that leaves it).
 */
export function finishIteration(ring: BackRingState, env: BackEnv): void {
  if (ring.held === undefined) return;
  env.drivers.consumeRequest(ring, env);
  assert(ring.held === undefined, 'ring %s: the copied request is still held', ring.index);
}

/** A WRITE_BARRIER held by drain_io is submitted once nothing else is in flight. */
export function submitBarrier(ring: BackRingState): boolean {
  const pending = ring.barrier;
  if (pending === undefined || ring.inflight.size > 0) return false;
  assert(
    pending.operation === BLKIF_OP_WRITE_BARRIER,
    'ring %s: held request not a barrier',
    ring.index,
  );
  ring.barrier = undefined;
  ring.inflight.set(pending.slot, pending);
  assert(ring.inflight.size === 1, 'ring %s: barrier submitted beside other I/O', ring.index);
  return true;
}

/** What validateRequest decided about one request: OKAY and how to do it, or a rejection. */
export interface RequestCheck {
  /** BLKIF_RSP_OKAY to go on to mapping and I/O; any other status is answered at once. */
  readonly status: number;
  /** The operation the response carries (the inner one of an indirect request). */
  readonly operation: number;
  readonly kind: IoKind;
  /** The discard's sector count; 0 for data requests (their segments say it). */
  readonly sectorCount: number;
  /** For a rejection: the message of the request-rejected report. */
  readonly why: string;
}

function rejected(operation: number, status: number, why: string): RequestCheck {
  assert(status !== BLKIF_RSP_OKAY, 'a rejection with BLKIF_RSP_OKAY');
  return { status, operation, kind: 'flush', sectorCount: 0, why };
}

/**
 * dispatch_rw_block_io's and dispatch_discard_io's checks on the private copy, before anything
 * is mapped: the operation is known and negotiated (discard, flush, barrier as this backend
 * advertised), the segment count fits the kind of request. Pure: reads `req` and env.features /
 * env.disk, changes nothing. Segment sectors, read-only and disk range are checked after it.
 */
export function validateRequest(req: BlkifRequest, env: BackEnv): RequestCheck {
  const bad = rejected;
  // copyRequest decodes the u64 id as an integer: a hostile frontend cannot make it anything else.
  assert(Number.isInteger(req.id), 'request id %s', req.id);
  switch (req.kind) {
    case 'unknown':
      return bad(req.operation, BLKIF_RSP_EOPNOTSUPP, `unknown operation ${req.operation}`);
    case 'discard': {
      if (!env.features.discard)
        return bad(BLKIF_OP_DISCARD, BLKIF_RSP_EOPNOTSUPP, 'discard not supported');
      if (env.disk.readOnly || !env.disk.inRange(req.sectorNumber, req.nrSectors)) {
        return bad(
          BLKIF_OP_DISCARD,
          BLKIF_RSP_ERROR,
          `discard of ${req.nrSectors} sectors at ${req.sectorNumber} out of range`,
        );
      }
      return {
        status: BLKIF_RSP_OKAY,
        operation: BLKIF_OP_DISCARD,
        kind: 'discard',
        sectorCount: req.nrSectors,
        why: '',
      };
    }
    case 'indirect': {
      if (req.indirectOp !== BLKIF_OP_READ && req.indirectOp !== BLKIF_OP_WRITE) {
        return bad(
          req.indirectOp,
          BLKIF_RSP_ERROR,
          `indirect request with inner op ${req.indirectOp}`,
        );
      }
      if (req.nrSegments === 0 || req.nrSegments > env.features.indirectSegmentsMax) {
        return bad(
          req.indirectOp,
          BLKIF_RSP_ERROR,
          `indirect request with ${req.nrSegments} segments`,
        );
      }
      return {
        status: BLKIF_RSP_OKAY,
        operation: req.indirectOp,
        kind: req.indirectOp === BLKIF_OP_READ ? 'read' : 'write',
        sectorCount: 0,
        why: '',
      };
    }
    case 'rw':
      return validateRw(req, env);
  }
}

function validateRw(req: BlkifRequest & { kind: 'rw' }, env: BackEnv): RequestCheck {
  const op = req.operation;
  const isFlush = op === BLKIF_OP_FLUSH_DISKCACHE || op === BLKIF_OP_WRITE_BARRIER;
  // rejected() called directly: a closure here would be built on every request (the hot path).
  if (op === BLKIF_OP_FLUSH_DISKCACHE && !env.features.flush)
    return rejected(op, BLKIF_RSP_EOPNOTSUPP, 'flush not supported');
  if (op === BLKIF_OP_WRITE_BARRIER && !env.features.barrier)
    return rejected(op, BLKIF_RSP_EOPNOTSUPP, 'barrier not supported');
  if (req.nrSegments === 0 && !isFlush)
    return rejected(op, BLKIF_RSP_ERROR, 'read/write with 0 segments');
  if (req.nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
    return rejected(op, BLKIF_RSP_ERROR, `${req.nrSegments} direct segments`);
  const kind: IoKind =
    op === BLKIF_OP_READ
      ? 'read'
      : op === BLKIF_OP_WRITE
        ? 'write'
        : req.nrSegments > 0
          ? 'write'
          : 'flush';
  return { status: BLKIF_RSP_OKAY, operation: op, kind, sectorCount: 0, why: '' };
}

/** Map the request's data (indirect pages first), then check segments and range on the private copy. */
function mapRequest(
  ring: BackRingState,
  req: BlkifRequest,
  env: BackEnv,
): MappedSegment[] | undefined {
  let descriptors: readonly BlkifSegment[];
  if (req.kind === 'indirect') {
    const read = readIndirectSegments(ring, req, env);
    if (read === undefined) return undefined;
    descriptors = read;
  } else if (req.kind === 'rw') {
    descriptors = req.segments.slice(0, req.nrSegments);
  } else {
    return [];
  }
  let sectors = 0;
  for (const seg of descriptors) {
    if (seg.lastSect >= 8 || seg.lastSect < seg.firstSect) {
      report(
        ring,
        env,
        'bad-segment',
        req.id,
        `segment gref ${seg.gref} sectors ${seg.firstSect}..${seg.lastSect}`,
      );
      return undefined;
    }
    sectors += seg.lastSect - seg.firstSect + 1;
  }
  const op = req.kind === 'indirect' ? req.indirectOp : req.operation;
  const writesDisk = op !== BLKIF_OP_READ;
  if (writesDisk && descriptors.length > 0 && env.disk.readOnly) {
    report(ring, env, 'read-only', req.id, 'write to a read-only vbd');
    return undefined;
  }
  if (descriptors.length > 0 && !env.disk.inRange(req.sectorNumber, sectors)) {
    report(
      ring,
      env,
      'out-of-range',
      req.id,
      `${sectors} sectors at ${req.sectorNumber} beyond the disk`,
    );
    return undefined;
  }
  return env.drivers.mapSegments(ring, req.id, descriptors, op === BLKIF_OP_READ, env);
}

export type CompleteResult = {
  readonly id: number;
  readonly status: number;
  readonly notify: boolean;
};

/** The disk finished pending request `slot`: move the data, unmap, then respond (in that order). */
export function completeIo(ring: BackRingState, slot: number, env: BackEnv): CompleteResult {
  const pending = ring.inflight.get(slot);
  assert(pending !== undefined, 'ring %s: no pending request in slot %s', ring.index, slot);
  assert(pending.slot === slot, 'ring %s: pending request filed under slot %s', ring.index, slot);
  assert(!ring.pendingFree.includes(slot), 'ring %s: in-flight slot %s is free', ring.index, slot);
  const freeBefore = ring.pendingFree.length;
  const rspBefore = ring.back.rspProdPvt;
  ring.inflight.delete(slot);
  doIo(pending, env);
  // Unmap before the response: a frontend that sees the response ends access at once, and XSA-396
  // hardened frontends treat a still-mapped non-persistent grant as a broken backend.
  releaseSegments(ring, pending.segments, env);
  ring.pendingFree.push(slot);
  const r = env.drivers.makeResponse(ring, pending.id, pending.operation, BLKIF_RSP_OKAY, env);
  assert(ring.pendingFree.length === freeBefore + 1, 'ring %s: pending pool not +1', ring.index);
  assert(
    ringIdxDistance(rspBefore, ring.back.rspProdPvt) === 1,
    'ring %s: not one response',
    ring.index,
  );
  return { id: pending.id, status: BLKIF_RSP_OKAY, notify: r };
}

function doIo(pending: PendingRequest, env: BackEnv): void {
  maybe(pending.segments.length === 0);
  if (pending.kind === 'discard') {
    assert(pending.segments.length === 0, 'request %s: discard with data segments', pending.id);
    env.disk.discard(pending.sector, pending.sectorCount);
    return;
  }
  let sector = pending.sector;
  for (const seg of pending.segments) {
    const bytes = seg.page.subarray(seg.firstSect * 512, (seg.lastSect + 1) * 512);
    // A READ stores guest data through the mapping: Xen refuses it through a GNTMAP_readonly one.
    if (pending.kind === 'read') {
      if (env.gnttab.writeThrough(seg.gref, seg.writable, env.domid)) env.disk.read(sector, bytes);
    } else env.disk.write(sector, bytes);
    sector += seg.lastSect - seg.firstSect + 1;
  }
  assert(sector >= pending.sector, 'request %s: I/O ran backwards', pending.id);
}

function respondNow(
  ring: BackRingState,
  env: BackEnv,
  id: number,
  operation: number,
  status: number,
): ConsumeResult {
  assert(status !== BLKIF_RSP_OKAY, 'request %s: answered OKAY without I/O', id);
  const notify = env.drivers.makeResponse(ring, id, operation, status, env);
  return { kind: 'responded', id, status, notify };
}

/**
 * make_response: write id, operation and status into the slot at rsp_prod_pvt, advance it,
 * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, and notify the frontend's channel when rsp_event asks.
 * Must push exactly one response for a consumed request and publish rsp_prod; true: notified.
 */
export function makeResponse(
  ring: BackRingState,
  id: number,
  operation: number,
  status: number,
  env: BackEnv,
): boolean {
  const back = ring.back;
  // A response answers a consumed request: rsp_prod_pvt stays behind req_cons.
  assert(
    ringIdxDistance(back.rspProdPvt, back.reqCons) >= 1,
    'ring %s: response without request',
    ring.index,
  );
  env.abi.writeResponse(back.sring.view, entryOffset(back.sring, back.rspProdPvt), {
    id,
    operation,
    status,
  });
  back.rspProdPvt = ringIdxAdd(back.rspProdPvt, 1);
  ring.respondedCount += 1;
  const notify = pushResponsesAndCheckNotify(back);
  maybe(notify);
  assert(rspProd(back.sring) === back.rspProdPvt, 'ring %s: rsp_prod not published', ring.index);
  if (notify) env.evtchn.notify(env.domid, ring.port);
  return notify;
}

/** RING_FINAL_CHECK_FOR_REQUESTS at the end of do_block_io_op; false puts the thread to sleep. */
export function finalCheck(ring: BackRingState): boolean {
  assert(ring.worker === 'running', 'ring %s: a sleeping thread ran its final check', ring.index);
  const more = finalCheckForRequests(ring.back);
  maybe(more);
  if (!more) ring.worker = 'sleeping';
  // Asleep only with req_event armed for the very next request: the lost-wakeup guard.
  assert(more || reqEvent(ring.back.sring) === ringIdxAdd(ring.back.reqCons, 1), 'req_event armed');
  return more;
}

/**
 * xen_blkif_be_int -> blkif_notify_work: waiting_reqs = 1 and wake the thread. The event was
 * acked masked (a lateeoi binding), so the pass it starts owes the late EOI (do_eoi).
 */
export function wake(ring: BackRingState): void {
  maybe(ring.worker === 'sleeping');
  ring.worker = 'running';
  ring.eoiOwed = true;
}

/**
 * The end of a pass of xen_blkif_schedule: once the thread waits again (do_block_io_op found no
 * more work) after a pass an event started, xen_irq_lateeoi(ring->irq, eoi_flags), then
 * eoi_flags |= XEN_EOI_FLAG_SPURIOUS. A halted ring (-EACCES) waits for kthread_stop instead and
 * never gets here, so its channel stays masked. Returns how the events core took the EOI.
 */
export function endPass(ring: BackRingState, env: BackEnv): 'unmasked' | 'delayed' | undefined {
  if (ring.worker !== 'sleeping' || !ring.eoiOwed) return undefined;
  const eoi = env.evtchn.lateEoi(env.domid, ring.port, ring.eoiSpurious);
  ring.eoiOwed = false;
  ring.eoiSpurious = true;
  assert(eoi === 'delayed' || !env.evtchn.isMasked(env.domid, ring.port), 'EOI unmasked');
  return eoi;
}

function report(
  ring: BackRingState,
  env: BackEnv,
  code: BlkbackReportCode,
  requestId: number,
  message: string,
): void {
  assert(message.length > 0, 'report %s without a message', code);
  env.report({ side: 'blkback', code, ring: ring.index, requestId, gref: undefined, message });
}
