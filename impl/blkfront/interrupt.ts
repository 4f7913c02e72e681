// blkif_interrupt and blkif_completion ([cur], after the 2021-2022 hardening), split in two
// actions at the "goto again" of the handler: processing the responses up to the rsp_prod it read,
// then RING_FINAL_CHECK_FOR_RESPONSES. Between the two the backend can push more responses; that
// window is exactly where a handler that skips the re-check loses a wake-up.
import { assert, maybe } from '../assert.ts';
import {
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_OKAY,
  type BlkifResponse,
} from '../xen/blkif-abi.ts';
import { ringIdxAdd, ringIdxDistance } from '../xen/ring-index.ts';
import {
  copyResponseSlot,
  finalCheckForResponses,
  frontProducerOverflow,
  rspEvent,
  rspProd,
  setRspEvent,
} from '../xen/shared-ring.ts';
import type { BlkfrontDevice, BlkfrontReportCode, FrontEnv, Outcome, Refusal } from './device.ts';
import { returnGrantSlot } from './grants.ts';
import { type GrantSlot, INVALID_GRANT_REF, type RingInfo, releaseShadowId } from './ring-info.ts';

export type ResponsesResult = 'ignored' | 'error' | 'finalCheck' | 'idle' | 'holding' | 'revoking';

/**
 * First half of blkif_interrupt: process rsp_cons .. rsp_prod (as read once). When the backend
 * may rewrite published slots, each response is copied and checked in one call and processed
 * from that copy in the next ('holding' in between: the window an adversary step can sit in).
 * A completion that queried its grants and left their end for later stops the loop there
 * ('revoking'); the next call completes that response again (its second half), then goes on.
 */
export function processResponses(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  env: FrontEnv,
): ResponsesResult {
  assert(dev.rings[rinfo.index] === rinfo, 'ring %s is not one of the device rings', rinfo.index);
  const front = rinfo.front;
  const held = rinfo.held;
  const revoking = rinfo.revoking;
  if (revoking !== undefined) {
    // The end-access half of a completion split after its grant queries; then the loop goes on.
    assert(rinfo.held === undefined, 'ring %s: a held copy beside a split completion', rinfo.index);
    if (completeOne(dev, rinfo, revoking.rsp, env) === 'error') return 'error';
    if (rinfo.revoking !== undefined) return 'revoking';
  } else if (held !== undefined) {
    // The loop goes on where it stopped, on the copy: the slot is not read again.
    rinfo.held = undefined;
    if (completeOne(dev, rinfo, held, env) === 'error') return 'error';
    if (rinfo.revoking !== undefined) return 'revoking';
  } else {
    // Events on a device that is not CONNECTED are ignored (and, after an error, never EOI'd).
    if (dev.connection !== 'connected') return 'ignored';
    const rp = rspProd(front.sring);
    if (frontProducerOverflow(front)) {
      return fail(
        dev,
        rinfo,
        env,
        'illegal-response-count',
        undefined,
        `illegal number of responses: rsp_prod ${rp} is ${ringIdxDistance(front.rspCons, rp)} past rsp_cons ${front.rspCons}`,
      );
    }
    rinfo.rspBatchEnd = rp;
  }
  const rp = rinfo.rspBatchEnd;
  while (front.rspCons !== rp) {
    // RING_COPY_RESPONSE: one private copy, every check reads the copy.
    const rsp = copyResponseSlot(front, env.abi, front.rspCons);
    front.rspCons = ringIdxAdd(front.rspCons, 1);
    rinfo.eoiSpurious = false; // "eoiflag = 0": this event found work
    if (checkOne(dev, rinfo, rsp, env) === 'error') return 'error';
    if (env.peerMayRewrite) {
      rinfo.held = rsp;
      return 'holding';
    }
    if (completeOne(dev, rinfo, rsp, env) === 'error') return 'error';
    if (rinfo.revoking !== undefined) return 'revoking';
  }
  // Every response consumed without an error ended one waiting shadow, so rsp_cons cannot have
  // passed req_prod_pvt: the checks above are what keep a hostile rsp_prod from moving it there.
  assert(
    ringIdxDistance(front.rspCons, front.reqProdPvt) <= front.size,
    'ring %s: rsp_cons %s passed req_prod_pvt',
    rinfo.index,
    front.rspCons,
  );
  if (front.rspCons !== front.reqProdPvt) return 'finalCheck';
  // Nothing outstanding: arm the event without a re-check, as Linux does.
  setRspEvent(front.sring, ringIdxAdd(front.rspCons, 1));
  return 'idle';
}

/** Second half: RING_FINAL_CHECK_FOR_RESPONSES; true means "goto again". */
export function finalCheck(_dev: BlkfrontDevice, rinfo: RingInfo, _env: FrontEnv): boolean {
  const again = finalCheckForResponses(rinfo.front);
  maybe(again);
  // Armed for the very next response either way (rsp_event = rsp_cons + 1 unless work was found).
  assert(
    again || rspEvent(rinfo.front.sring) === ringIdxAdd(rinfo.front.rspCons, 1),
    'ring %s: final check slept without arming rsp_event',
    rinfo.index,
  );
  return again;
}

/** blkif_interrupt's checks of one copied response; a refusal marks the device broken. */
function checkOne(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): 'ok' | 'error' {
  const id = rsp.id;
  const refused = env.drivers.validateResponse(rinfo, rsp);
  // Linux marks the shadow REQ_PROCESSING once the id names a waiting request, before it checks
  // the operation: a refused operation leaves it processing.
  const shadow = Number.isInteger(id) ? rinfo.shadow[id] : undefined;
  if (shadow !== undefined && shadow.status === 'waiting') shadow.status = 'processing';
  if (refused !== undefined) return fail(dev, rinfo, env, refused.code, id, refused.message);
  return 'ok';
}

/** blkif_completion and the end of the request, for a copy checkOne accepted. */
function completeOne(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): 'ok' | 'error' {
  const id = rsp.id;
  const shadow = rinfo.shadow[id];
  assert(shadow !== undefined, 'ring %s: accepted response id %s has no shadow', rinfo.index, id);
  assert(shadow.link === id, 'ring %s: waiting shadow %s does not hold its id', rinfo.index, id);
  // Only failOutstanding detaches a request, and it runs just before the rings are freed.
  assert(shadow.request !== undefined, 'ring %s: shadow %s without a request', rinfo.index, id);
  const incomplete = env.drivers.completeResponse(dev, rinfo, rsp, env);
  if (incomplete !== undefined)
    return fail(dev, rinfo, env, incomplete.code, id, incomplete.message);
  maybe(rinfo.revoking !== undefined);
  return 'ok';
}

/**
 * blkif_interrupt's checks of one response (its private copy): the id names a shadow of this
 * ring, that shadow is waiting, and the response carries the operation the request needs (the
 * inner one of an indirect request). Pure: reads `rinfo.shadow` and `rsp`, changes nothing.
 */
export function validateResponse(rinfo: RingInfo, rsp: BlkifResponse): Refusal | undefined {
  const id = rsp.id;
  // One shadow per ring entry: "id below the ring size" and "id names a shadow" are one check.
  assert(
    rinfo.shadow.length === rinfo.front.size,
    'ring %s: shadows not one per entry',
    rinfo.index,
  );
  if (!(id >= 0 && id < rinfo.shadow.length) || !Number.isInteger(id)) {
    return {
      code: 'response-id-out-of-range',
      message: `response id ${id} is not below ring size ${rinfo.shadow.length}`,
    };
  }
  const shadow = rinfo.shadow[id]!;
  if (shadow.status !== 'waiting') {
    return {
      code: 'response-not-waiting',
      message: `response for request id ${id}, which is ${shadow.status}, not waiting`,
    };
  }
  if (rsp.operation !== shadow.operation) {
    return {
      code: 'response-wrong-operation',
      message: `response op ${rsp.operation} for request id ${id} of op ${shadow.operation}`,
    };
  }
  return undefined;
}

/**
 * blkif_completion and the end of the request, for a response validateResponse accepted: copy a
 * bounced read into the guest's pages, release every grant of the request (releaseGrant, per
 * entry), put the id back on the free list, then end the request once with its outcome. A
 * refusal (a grant the backend still maps) makes the caller mark the device broken.
 */
export function completeResponse(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): Refusal | undefined {
  const id = rsp.id;
  const shadow = rinfo.shadow[id]!;
  assert(shadow.request !== undefined, 'ring %s: shadow %s without a request', rinfo.index, id);
  // gnttab_try_end_foreign_access checks and ends in one step: this completion never splits.
  assert(rinfo.revoking === undefined, 'ring %s: the honest completion split', rinfo.index);
  copyBouncedRead(dev, rinfo, rsp, env);
  return releaseAndEnd(dev, rinfo, rsp, env);
}

/** blkif_completion's first act: a bounced READ that succeeded is copied into the guest's pages. */
export function copyBouncedRead(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): void {
  assert(rinfo.shadow[rsp.id]?.status === 'processing', 'ring %s: not completing', rinfo.index);
  const copies = dev.bounce && rsp.operation === BLKIF_OP_READ && rsp.status === BLKIF_RSP_OKAY;
  maybe(copies);
  if (copies) copyReadData(rinfo, rsp.id, env);
}

/** Release every grant of the response's request (releaseGrant per entry), then end it. */
function releaseAndEnd(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): Refusal | undefined {
  const id = rsp.id;
  const shadow = rinfo.shadow[id]!;
  if (
    !releaseGrants(dev, rinfo, shadow.grantsUsed, env) ||
    !releaseGrants(dev, rinfo, shadow.indirectGrants, env)
  ) {
    return {
      code: 'grant-still-mapped',
      message: `backend still maps a non-persistent grant of request id ${id}`,
    };
  }
  assert(shadow.grantsUsed.length === 0, 'ring %s: request %s kept a grant', rinfo.index, id);
  return endRequest(dev, rinfo, rsp, env);
}

/**
 * The end of blkif_completion once every grant entry is back on the ring's lists: free the id
 * (add_id_to_freelist), then end the request once with the outcome its status gives.
 */
export function endRequest(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): Refusal | undefined {
  const id = rsp.id;
  const shadow = rinfo.shadow[id]!;
  const request = shadow.request;
  assert(request !== undefined, 'ring %s: waiting shadow %s without a request', rinfo.index, id);
  assert(shadow.indirectGrants.length === 0, 'ring %s: request %s kept a grant', rinfo.index, id);
  if (!releaseShadowId(rinfo, id)) {
    env.report({
      side: 'blkfront',
      code: 'bad-free-id',
      ring: rinfo.index,
      requestId: id,
      gref: undefined,
      message: `cannot free request id ${id}`,
    });
    return undefined;
  }
  assert(
    shadow.request === undefined,
    'ring %s: completed shadow %s kept its request',
    rinfo.index,
    id,
  );
  assert(rinfo.shadowFree === id, 'ring %s: freed id %s not at the list head', rinfo.index, id);
  env.complete(request, outcomeOf(dev, rsp, request.op));
  return undefined;
}

/** blkif_interrupt's status switch, including the "not supported" downgrades. */
function outcomeOf(dev: BlkfrontDevice, rsp: BlkifResponse, op: string): Outcome {
  const isFlush =
    rsp.operation === BLKIF_OP_FLUSH_DISKCACHE || rsp.operation === BLKIF_OP_WRITE_BARRIER;
  if (rsp.status === BLKIF_RSP_EOPNOTSUPP && rsp.operation === BLKIF_OP_DISCARD) {
    dev.features.discard = false;
    dev.features.discardSecure = false;
    return 'notsupp';
  }
  if (
    isFlush &&
    (rsp.status === BLKIF_RSP_EOPNOTSUPP || (rsp.status !== BLKIF_RSP_OKAY && op === 'flush'))
  ) {
    // A flush the backend cannot do completes successfully and flush/FUA are turned off.
    dev.features.flush = 'none';
    return 'ok';
  }
  maybe(rsp.status === BLKIF_RSP_OKAY);
  return rsp.status === BLKIF_RSP_OKAY ? 'ok' : 'error';
}

function copyReadData(rinfo: RingInfo, id: number, env: FrontEnv): void {
  const shadow = rinfo.shadow[id]!;
  const buffer = shadow.request?.buffer;
  assert(buffer !== undefined, 'ring %s: bounced read %s without a buffer', rinfo.index, id);
  assert(shadow.grantsUsed.length <= buffer.pageCount, 'request %s: more segments than pages', id);
  for (let i = 0; i < shadow.grantsUsed.length; i++) {
    const slot = shadow.grantsUsed[i]!;
    assert(slot.frame !== undefined, 'ring %s: bounce entry without its own page', rinfo.index);
    const from = env.memory.page(slot.frame);
    env.memory.page(buffer.firstFrame + i).set(from);
  }
}

/** Every entry of one list of the request's grants, through the releaseGrant seam. */
function releaseGrants(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  slots: GrantSlot[],
  env: FrontEnv,
): boolean {
  for (const slot of slots) {
    assert(slot.ref !== INVALID_GRANT_REF, 'ring %s: in-flight entry without a grant', rinfo.index);
    if (!env.drivers.releaseGrant(dev, rinfo, slot, env)) return false;
  }
  slots.length = 0;
  return true;
}

/**
 * The persistent-grant policy at completion, for one entry of a completed request:
 * gnttab_try_end_foreign_access, and an entry the backend still maps stays granted only when
 * persistent grants are negotiated (it goes back to the head of rinfo->grants for reuse); an
 * ended one goes back with INVALID_GRANT_REF. False: the backend still maps a grant it must not
 * keep (the caller marks the device broken, XSA-396).
 */
export function releaseGrant(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  slot: GrantSlot,
  env: FrontEnv,
): boolean {
  assert(
    slot.ref !== INVALID_GRANT_REF,
    'ring %s: releasing an entry without a grant',
    rinfo.index,
  );
  const ended = env.gnttab.endAccess(slot.ref);
  maybe(ended.ok);
  if (ended.ok) {
    slot.ref = INVALID_GRANT_REF;
  } else if (!dev.features.persistent) {
    return false;
  }
  returnGrantSlot(rinfo, slot);
  return true;
}

function fail(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  env: FrontEnv,
  code: BlkfrontReportCode,
  requestId: number | undefined,
  message: string,
): 'error' {
  // Linux: info->connected = BLKIF_STATE_ERROR, "disabled for further use", no EOI. Another
  // ring's handler may have set it already while this loop held a copy (it does not re-check).
  assert(
    dev.connection === 'connected' || dev.connection === 'error',
    'ring %s: a disconnected device failed',
    rinfo.index,
  );
  dev.connection = 'error';
  env.report({ side: 'blkfront', code, ring: rinfo.index, requestId, gref: undefined, message });
  return 'error';
}
