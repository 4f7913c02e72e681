// blkif_queue_rq -> blkif_queue_request -> blkif_queue_rw_req / blkif_queue_discard_req, then
// flush_requests. Linux runs all of it under rinfo->ring_lock, which the interrupt handler of the
// same ring also takes, so one dispatch is one action: building the request and publishing
// req_prod cannot interleave with response handling on that ring, only with the backend.
import { assert, maybe } from '../assert.ts';
import {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  type BlkifRequest,
  type BlkifSegment,
  SEGS_PER_INDIRECT_FRAME,
  writeIndirectSegment,
} from '../xen/blkif-abi.ts';
import { PAGE_SIZE } from '../xen/memory.ts';
import { entryOffset, pushRequestsAndCheckNotify, reqProd, ringFull } from '../xen/shared-ring.ts';
import { ringIdxAdd, ringIdxDistance } from '../xen/ring-index.ts';
import { type BlockRequest, segmentCountOf, segmentSectors } from './block-request.ts';
import { type BlkfrontDevice, type FrontEnv, segmentLimit } from './device.ts';
import {
  type GrantSlot,
  INVALID_GRANT_REF,
  type RingInfo,
  type Shadow,
  takeGrantSlot,
  takeShadowId,
} from './ring-info.ts';
import { returnGrantSlot } from './grants.ts';

export type QueueResult =
  | { readonly kind: 'queued'; readonly id: number; readonly notify: boolean }
  | { readonly kind: 'busy'; readonly why: 'ring-full' | 'no-grants' }
  | { readonly kind: 'failed' };

export function queueRequest(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  request: BlockRequest,
  env: FrontEnv,
): QueueResult {
  assert(dev.connection === 'connected', 'dispatch only while connected');
  assert(dev.rings[rinfo.index] === rinfo, 'ring %s is not one of the device rings', rinfo.index);
  if (ringFull(rinfo.front)) return { kind: 'busy', why: 'ring-full' };
  // blkif_request_flush_invalid: a flush the backend cannot do fails at once, as in Linux.
  if (request.op === 'flush' && dev.features.flush === 'none') return { kind: 'failed' };
  if (request.op === 'discard' && !dev.features.discard) return { kind: 'failed' };
  const front = rinfo.front;
  const prodBefore = front.reqProdPvt;
  const inflightBefore = rinfo.inflightCount;
  const id = takeShadowId(rinfo);
  const shadow = rinfo.shadow[id]!;
  const built = env.drivers.buildRequest(dev, rinfo, shadow, id, request, env);
  if (built === undefined) {
    releaseUnbuilt(rinfo, shadow, id, env);
    assert(
      rinfo.inflightCount === inflightBefore,
      'ring %s: unbuilt request kept a shadow',
      rinfo.index,
    );
    assert(
      front.reqProdPvt === prodBefore,
      'ring %s: unbuilt request moved req_prod_pvt',
      rinfo.index,
    );
    return { kind: 'busy', why: 'no-grants' };
  }
  assert(built.id === id, 'ring %s: request built for id %s', rinfo.index, built.id);
  shadow.request = request;
  shadow.status = 'waiting';
  // Built in the private shadow first and copied to the slot: blkfront never reads the slot back.
  env.abi.writeRequest(front.sring.view, entryOffset(front.sring, front.reqProdPvt), built);
  front.reqProdPvt = ringIdxAdd(front.reqProdPvt, 1);
  const notify = env.drivers.flushRequests(rinfo, env);
  // Postconditions in ring.h terms: exactly one more request published, its shadow waiting.
  assert(
    ringIdxDistance(prodBefore, front.reqProdPvt) === 1,
    'ring %s: req_prod_pvt not +1',
    rinfo.index,
  );
  assert(reqProd(front.sring) === front.reqProdPvt, 'ring %s: req_prod not published', rinfo.index);
  assert(
    rinfo.inflightCount === inflightBefore + 1,
    'ring %s: in-flight count not +1',
    rinfo.index,
  );
  assert(shadow.link === id, 'ring %s: shadow %s does not hold its id', rinfo.index, id);
  return { kind: 'queued', id, notify };
}

/**
 * flush_requests: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY (publish req_prod = req_prod_pvt) and
 * notify_remote_via_irq when the backend asked for an event (req_event). May read the ring's
 * indices and event; must leave req_prod published; true when it notified.
 */
export function flushRequests(rinfo: RingInfo, env: FrontEnv): boolean {
  const notify = pushRequestsAndCheckNotify(rinfo.front);
  maybe(notify);
  assert(
    reqProd(rinfo.front.sring) === rinfo.front.reqProdPvt,
    'ring %s: not published',
    rinfo.index,
  );
  if (notify) env.evtchn.notify(env.domid, rinfo.port);
  return notify;
}

/**
 * blkif_queue_rw_req / blkif_queue_discard_req: build request `id` in its private shadow. Takes
 * grant entries from rinfo's lists (a persistent one is reused as it is, an unused one gets a new
 * reference), grants the data pages (or, when bouncing, copies a write into the entry's own
 * page), fills the indirect pages, and records in the shadow what the response must carry
 * (operation, grantsUsed, indirectGrants). Undefined when the grant table ran out: the caller
 * returns every entry the shadow holds. Never touches the shared ring.
 */
export function buildRequest(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  shadow: Shadow,
  id: number,
  request: BlockRequest,
  env: FrontEnv,
): BlkifRequest | undefined {
  const handle = dev.handle;
  if (request.op === 'discard') {
    shadow.ringOperation = shadow.operation = BLKIF_OP_DISCARD;
    const flag = request.secure && dev.features.discardSecure ? 1 : 0;
    return {
      kind: 'discard',
      operation: BLKIF_OP_DISCARD,
      flag,
      handle,
      id,
      sectorNumber: request.sector,
      nrSectors: request.sectorCount,
    };
  }
  if (request.op === 'flush') {
    const op = dev.features.flush === 'barrier' ? BLKIF_OP_WRITE_BARRIER : BLKIF_OP_FLUSH_DISKCACHE;
    shadow.ringOperation = shadow.operation = op;
    return {
      kind: 'rw',
      operation: op,
      nrSegments: 0,
      handle,
      id,
      sectorNumber: request.sector,
      segments: [],
    };
  }
  const op = request.op === 'read' ? BLKIF_OP_READ : BLKIF_OP_WRITE;
  const segmentCount = segmentCountOf(request);
  assert(segmentCount >= 1, 'read/write with data');
  assert(
    segmentCount <= segmentLimit(dev.features),
    'request %s exceeds the segment limit',
    request.tag,
  );
  const segments = grantSegments(dev, rinfo, shadow, request, env);
  if (segments === undefined) return undefined;
  assert(segments.length === segmentCount, 'request %s: segments not all granted', request.tag);
  shadow.operation = op;
  if (segmentCount <= BLKIF_MAX_SEGMENTS_PER_REQUEST && dev.features.indirectSegments === 0) {
    shadow.ringOperation = op;
    return {
      kind: 'rw',
      operation: op,
      nrSegments: segmentCount,
      handle,
      id,
      sectorNumber: request.sector,
      segments,
    };
  }
  // Linux uses indirect whenever the request has more than 11 segments; with indirect negotiated
  // and a small request it still sends a direct one.
  if (segmentCount <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
    shadow.ringOperation = op;
    return {
      kind: 'rw',
      operation: op,
      nrSegments: segmentCount,
      handle,
      id,
      sectorNumber: request.sector,
      segments,
    };
  }
  const indirectGrefs = grantIndirectPages(dev, rinfo, shadow, segments, env);
  if (indirectGrefs === undefined) return undefined;
  assert(dev.features.indirectSegments > 0, 'request %s: indirect not negotiated', request.tag);
  shadow.ringOperation = BLKIF_OP_INDIRECT;
  return {
    kind: 'indirect',
    operation: BLKIF_OP_INDIRECT,
    indirectOp: op,
    nrSegments: segmentCount,
    handle,
    id,
    sectorNumber: request.sector,
    indirectGrefs,
  };
}

/**
 * Take the head of rinfo->grants and make sure it carries a reference: a persistent entry is
 * reused as it is, an unused one claims a new reference for the frame `frameOf` picks.
 */
function grantSlot(
  rinfo: RingInfo,
  frameOf: (slot: GrantSlot) => number,
  env: FrontEnv,
): GrantSlot | undefined {
  const slot = takeGrantSlot(rinfo);
  maybe(slot.ref !== INVALID_GRANT_REF);
  if (slot.ref !== INVALID_GRANT_REF) return slot;
  // Writable even for writes: blkif.h note 8 requires it for a grant the backend may keep.
  const granted = env.gnttab.grantAccess(env.backendDomid, frameOf(slot), false);
  if (!granted.ok) {
    returnGrantSlot(rinfo, slot);
    return undefined;
  }
  slot.ref = granted.value;
  assert(slot.ref !== INVALID_GRANT_REF, 'ring %s: grant entry without a reference', rinfo.index);
  return slot;
}

function ownPage(slot: GrantSlot, env: FrontEnv): number {
  if (slot.frame === undefined) slot.frame = env.memory.allocPages(1);
  assert(env.memory.isAllocated(slot.frame), 'grant entry page %s is not allocated', slot.frame);
  return slot.frame;
}

function grantSegments(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  shadow: Shadow,
  request: BlockRequest,
  env: FrontEnv,
): BlkifSegment[] | undefined {
  const buffer = request.buffer;
  assert(buffer !== undefined, 'request %s: read/write without a buffer', request.tag);
  assert(shadow.grantsUsed.length === 0, 'request %s: shadow already holds grants', request.tag);
  const segments: BlkifSegment[] = [];
  const count = segmentCountOf(request);
  for (let i = 0; i < count; i++) {
    const dataFrame = buffer.firstFrame + i;
    // info->bounce (persistent grants, or trusted = 0): the entry's own page; else the guest's own.
    const slot = grantSlot(rinfo, dev.bounce ? (s) => ownPage(s, env) : () => dataFrame, env);
    if (slot === undefined) return undefined;
    shadow.grantsUsed.push(slot);
    const { first, last } = segmentSectors(request, i);
    if (dev.bounce && request.op === 'write') {
      const from = env.memory.page(dataFrame);
      env.memory
        .page(ownPage(slot, env))
        .set(from.subarray(first * 512, (last + 1) * 512), first * 512);
    }
    segments.push({ gref: slot.ref, firstSect: first, lastSect: last });
  }
  assert(shadow.grantsUsed.length === count, 'request %s: grants not all held', request.tag);
  return segments;
}

function grantIndirectPages(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  shadow: Shadow,
  segments: readonly BlkifSegment[],
  env: FrontEnv,
): number[] | undefined {
  const pageCount = Math.ceil(segments.length / SEGS_PER_INDIRECT_FRAME);
  assert(
    segments.length > BLKIF_MAX_SEGMENTS_PER_REQUEST,
    'indirect for %s segments',
    segments.length,
  );
  assert(
    shadow.indirectGrants.length === 0,
    'ring %s: shadow already holds indirect pages',
    rinfo.index,
  );
  const grefs: number[] = [];
  for (let p = 0; p < pageCount; p++) {
    // Bouncing: the entry's own page. Otherwise a page from rinfo->indirect_pages.
    const slot = grantSlot(
      rinfo,
      (s) => {
        if (s.frame === undefined && !dev.bounce) s.frame = rinfo.indirectPages.pop();
        return ownPage(s, env);
      },
      env,
    );
    if (slot === undefined) return undefined;
    shadow.indirectGrants.push(slot);
    assert(slot.frame !== undefined, 'ring %s: indirect page entry without a page', rinfo.index);
    const page = env.memory.page(slot.frame);
    const view = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
    const end = Math.min(segments.length, (p + 1) * SEGS_PER_INDIRECT_FRAME);
    for (let s = p * SEGS_PER_INDIRECT_FRAME; s < end; s++) {
      writeIndirectSegment(view, s - p * SEGS_PER_INDIRECT_FRAME, segments[s]!);
    }
    grefs.push(slot.ref);
  }
  assert(grefs.length === pageCount, 'ring %s: indirect pages not all granted', rinfo.index);
  return grefs;
}

/** Undo a half-built request when the grant table ran out (Linux reserves first, then builds). */
function releaseUnbuilt(rinfo: RingInfo, shadow: Shadow, id: number, env: FrontEnv): void {
  assert(
    shadow.status === 'processing',
    'ring %s: unbuilt shadow %s not processing',
    rinfo.index,
    id,
  );
  assert(shadow.request === undefined, 'ring %s: unbuilt shadow %s has a request', rinfo.index, id);
  for (const slot of shadow.grantsUsed.concat(shadow.indirectGrants)) {
    if (slot.ref !== INVALID_GRANT_REF && env.gnttab.endAccess(slot.ref).ok)
      slot.ref = INVALID_GRANT_REF;
    returnGrantSlot(rinfo, slot);
  }
  shadow.grantsUsed.length = 0;
  shadow.indirectGrants.length = 0;
  shadow.status = 'free';
  shadow.link = rinfo.shadowFree;
  rinfo.shadowFree = id;
  rinfo.inflightCount -= 1;
  assert(rinfo.inflightCount >= 0, 'ring %s: in-flight count below zero', rinfo.index);
}
