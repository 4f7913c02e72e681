// blkif_interrupt and blkif_completion ([cur], after the 2021-2022 hardening), split in two
// actions at the "goto again" of the handler: processing the responses up to the rsp_prod it read,
// then RING_FINAL_CHECK_FOR_RESPONSES. Between the two the backend can push more responses; that
// window is exactly where a handler that skips the re-check loses a wake-up.
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
  entryOffset,
  finalCheckForResponses,
  frontProducerOverflow,
  rspProd,
  setRspEvent,
} from '../xen/shared-ring.ts';
import type { BlkfrontDevice, BlkfrontReportCode, FrontEnv, Outcome } from './device.ts';
import { returnGrantSlot } from './grants.ts';
import { type GrantSlot, INVALID_GRANT_REF, type RingInfo, releaseShadowId } from './ring-info.ts';

export type ResponsesResult = 'ignored' | 'error' | 'finalCheck' | 'idle';

/** First half of blkif_interrupt: process rsp_cons .. rsp_prod (as read once). */
export function processResponses(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  env: FrontEnv,
): ResponsesResult {
  // Events on a device that is not CONNECTED are ignored (and, after an error, never EOI'd).
  if (dev.connection !== 'connected') return 'ignored';
  const front = rinfo.front;
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
  const count = ringIdxDistance(front.rspCons, rp);
  for (let n = 0; n < count; n++) {
    // RING_COPY_RESPONSE: one private copy, every check reads the copy.
    const rsp = env.abi.copyResponse(front.sring.view, entryOffset(front.sring, front.rspCons));
    front.rspCons = ringIdxAdd(front.rspCons, 1);
    if (completeOne(dev, rinfo, rsp, env) === 'error') return 'error';
  }
  if (front.rspCons !== front.reqProdPvt) return 'finalCheck';
  // Nothing outstanding: arm the event without a re-check, as Linux does.
  setRspEvent(front.sring, ringIdxAdd(front.rspCons, 1));
  return 'idle';
}

/** Second half: RING_FINAL_CHECK_FOR_RESPONSES; true means "goto again". */
export function finalCheck(_dev: BlkfrontDevice, rinfo: RingInfo, _env: FrontEnv): boolean {
  return finalCheckForResponses(rinfo.front);
}

function completeOne(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  rsp: BlkifResponse,
  env: FrontEnv,
): 'ok' | 'error' {
  const id = rsp.id;
  if (!(id >= 0 && id < rinfo.shadow.length) || !Number.isInteger(id)) {
    return fail(
      dev,
      rinfo,
      env,
      'response-id-out-of-range',
      id,
      `response id ${id} is not below ring size ${rinfo.shadow.length}`,
    );
  }
  const shadow = rinfo.shadow[id]!;
  if (shadow.status !== 'waiting') {
    return fail(
      dev,
      rinfo,
      env,
      'response-not-waiting',
      id,
      `response for request id ${id}, which is ${shadow.status}, not waiting`,
    );
  }
  shadow.status = 'processing';
  if (rsp.operation !== shadow.operation) {
    return fail(
      dev,
      rinfo,
      env,
      'response-wrong-operation',
      id,
      `response op ${rsp.operation} for request id ${id} of op ${shadow.operation}`,
    );
  }
  const request = shadow.request!;
  if (dev.bounce && rsp.operation === BLKIF_OP_READ && rsp.status === BLKIF_RSP_OKAY)
    copyReadData(rinfo, id, env);
  if (
    !releaseGrants(dev, rinfo, shadow.grantsUsed, env) ||
    !releaseGrants(dev, rinfo, shadow.indirectGrants, env)
  ) {
    return fail(
      dev,
      rinfo,
      env,
      'grant-still-mapped',
      id,
      `backend still maps a non-persistent grant of request id ${id}`,
    );
  }
  if (!releaseShadowId(rinfo, id)) {
    env.report({
      side: 'blkfront',
      code: 'bad-free-id',
      ring: rinfo.index,
      requestId: id,
      gref: undefined,
      message: `cannot free request id ${id}`,
    });
    return 'ok';
  }
  env.complete(request, outcomeOf(dev, rsp, request.op));
  return 'ok';
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
  return rsp.status === BLKIF_RSP_OKAY ? 'ok' : 'error';
}

function copyReadData(rinfo: RingInfo, id: number, env: FrontEnv): void {
  const shadow = rinfo.shadow[id]!;
  const request = shadow.request!;
  const buffer = request.buffer!;
  for (let i = 0; i < shadow.grantsUsed.length; i++) {
    const slot = shadow.grantsUsed[i]!;
    const from = env.memory.page(slot.frame!);
    env.memory.page(buffer.firstFrame + i).set(from);
  }
}

/** gnttab_try_end_foreign_access per grant; a grant still mapped stays only if persistent. */
function releaseGrants(
  dev: BlkfrontDevice,
  rinfo: RingInfo,
  slots: GrantSlot[],
  env: FrontEnv,
): boolean {
  for (const slot of slots) {
    const ended = env.gnttab.endAccess(slot.ref);
    if (ended.ok) {
      slot.ref = INVALID_GRANT_REF;
    } else if (!dev.features.persistent) {
      return false;
    }
    returnGrantSlot(rinfo, slot);
  }
  slots.length = 0;
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
  // Linux: info->connected = BLKIF_STATE_ERROR, "disabled for further use", no EOI.
  dev.connection = 'error';
  env.report({ side: 'blkfront', code, ring: rinfo.index, requestId, gref: undefined, message });
  return 'error';
}
