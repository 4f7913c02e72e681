// What must still hold when one peer is hostile (reference sections 9.3, 10 and invariant 5): the
// honest side refuses and reports, keeps its own accounting, and never completes the wrong request.
// Invariants written for two honest peers (the hostile side's ring indices, its grants, liveness)
// do not apply: each invariant's `when` (runs.ts) says which runs it judges.
//
// Expectations are judged from what the adversary did (its own record, world.adversary) and from
// the shared page and xenstore, never from the honest driver's verdict about itself. Which checks
// a run gets comes from the attack table: every defence the hostile side's attacks call for
// (impl/world/hostile/attacks.ts), each judged by one check below.

import {
  frontendQueueCountMax,
  NOT_ADVERTISED,
  XENBUS_MAX_RING_GRANT_ORDER,
} from '../../model/negotiate.ts';
import { XenbusState } from '../../model/xenbus-state.ts';
import { BE, errorNodePath, FE, readUnsigned } from '../../model/xenstore-keys.ts';
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import type { BlkfrontReportCode, DriverReport } from '../../impl/blkfront/device.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { BlkifResponse } from '../../impl/xen/blkif-abi.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import { type Defence, defencesAgainst } from '../../impl/world/hostile/attacks.ts';
import type { GarbageRequest } from '../../impl/world/hostile/record.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../model/xenstore-paths.ts';
import { readState } from '../../impl/world/xenbus.ts';
import { teardownOf, type World } from '../../impl/world/world.ts';
import type { Frame } from '../../impl/xen/memory.ts';
import { type RingIdx, ringIdxAdd, ringIdxDistance } from '../../impl/xen/ring-index.ts';
import {
  backProducerOverflow,
  entryOffset,
  frontProducerOverflow,
  reqProd,
  rspProd,
} from '../../impl/xen/shared-ring.ts';
import {
  type BackPasses,
  backendSpuriousThrottled,
  backRingFrame,
  noEoiAfterHalt,
} from './backend-events.ts';
import type { Invariant, InvariantChecker, InvariantPhase } from './invariant.ts';
import { hostileRun } from './runs.ts';
import { FindingList, type Violation } from './violation.ts';

const CODE = 'honest-side';

/**
 * What one run's checker remembers between steps, as plain data: which entries of the adversary's
 * record (by position) it judged, how far it read the state writes, and each backend ring's
 * state after the previous step.
 */
interface Progress {
  readonly forgedJudged: boolean[];
  /**
   * Per forged response not read yet, as after the previous step: what its slot holds (the
   * forged bytes, or a request blkfront itself later wrote there), and what blkif_interrupt
   * must make of those bytes: the report its checks give, or 'accepted' (an id in range,
   * waiting, with that operation: the id was reused after the forge), which completes a
   * request no frontend can tell from a real answer.
   */
  readonly forgedSlot: (BlkifResponse | undefined)[];
  readonly forgedVerdict: Verdict[];
  /** Per frontend ring (by its first frame): req_prod_pvt after the previous step. */
  readonly frontReqProd: Map<Frame, RingIdx>;
  /** Per frontend ring (by its first frame): rsp_cons and whether rsp_prod overflowed. */
  readonly frontCons: Map<Frame, FrontBefore>;
  readonly garbageJudged: boolean[];
  readonly rewrittenJudged: boolean[];
  /** Had blkfront connected its disk (blkfront_connect's full connect) before this step. */
  hadDisk: boolean;
  stateWritesSeen: number;
  /** Per frontend ring (by its first frame): its handler run and spurious runs in a row. */
  frontIrq: Map<Frame, FrontIrq>;
  /** By ring serial: was req_prod beyond the ring, how many requests consumed, was it halted. */
  rings: Map<number, RingBefore>;
  /** By ring serial: the ring thread's passes and spurious EOIs in a row (backend-events.ts). */
  backPasses: Map<number, BackPasses>;
  /** By ring serial: whether the backend ring's channel was masked. */
  backMasked: Map<number, boolean>;
}

interface FrontBefore {
  readonly rspCons: RingIdx;
  readonly overflow: boolean;
  /** Mid-loop (a copy held): the rsp_prod the loop read before, which it goes on up to. */
  readonly batchEnd: RingIdx | undefined;
  /** How many driver reports there were: blkfront's refusal is judged in the step that made it. */
  readonly reports: number;
}

interface RingBefore {
  readonly overflow: boolean;
  readonly consumed: number;
  readonly halted: boolean;
}

function violation(
  world: World,
  message: string,
  at: { ring?: number; requestId?: number; gref?: number; key?: string } = {},
): Violation {
  return { code: CODE, step: world.stepCount, ...at, message };
}

// ---- a hostile backend: blkfront must refuse -------------------------------------------------

/**
 * A forged response the frontend read while connected leaves the device broken, with a report.
 * Until blkfront reads the slot, the slot changes only by blkfront publishing a request there
 * (req_prod_pvt passes its index: what it then reads is still bytes the backend never produced)
 * or by the honest backend writing its own response there (then nothing forged is read, even
 * when blkback releases that ring in the same step).
 */
function forgedResponses(world: World, p: Progress, out: Violation[]): void {
  const dev = world.front.device;
  const forgedAll = world.adversary?.forged ?? [];
  for (let i = 0; i < forgedAll.length; i++) {
    if (p.forgedJudged[i] === true) continue;
    const forged = forgedAll[i]!;
    // The ring it was forged on, if the device still has it (a reconnect allocates new pages).
    const rinfo = dev.rings.find((r) => r.ringFrame === forged.ringFrame);
    if (rinfo === undefined) {
      p.forgedJudged[i] = true;
      continue;
    }
    const before = p.forgedSlot[i] ?? forged.rsp;
    if (!passed(forged.index, rinfo.front.rspCons, rinfo.front.size)) {
      const now = slotResponse(world, rinfo, forged.index);
      const frontWrote = frontPublished(p, rinfo, forged.index);
      if (!sameResponse(now, before) && !frontWrote) p.forgedJudged[i] = true;
      p.forgedSlot[i] = now;
      p.forgedVerdict[i] = verdictOn(rinfo, now);
      continue;
    }
    p.forgedJudged[i] = true;
    const verdict = p.forgedVerdict[i] ?? verdictOn(rinfo, before);
    if (verdict === 'accepted') continue;
    const report = lastFrontReport(world);
    // A shadow an earlier response of the same batch completed is no longer waiting.
    const codes: string[] =
      verdict === 'response-wrong-operation' ? [verdict, NOT_WAITING] : [verdict];
    const exact =
      report !== undefined && report.ring === rinfo.index && codes.includes(report.code);
    if (dev.connection !== 'error' || !exact) {
      const got = report === undefined ? 'no report' : `report ${report.code}`;
      out.push(
        violation(
          world,
          `${forged.attack}: blkfront read a forged response (id ${before.id}, op ${before.operation}, index ${forged.index}) and ` +
            `the device is ${dev.connection} with ${got}, not marked broken with ${verdict}`,
          { ring: rinfo.index, requestId: before.id },
        ),
      );
    }
  }
}

type Verdict = BlkfrontReportCode | 'accepted';
const NOT_WAITING: BlkfrontReportCode = 'response-not-waiting';

/** What blkif_interrupt's checks make of `rsp` on `rinfo` now, in their order. */
function verdictOn(rinfo: RingInfo, rsp: BlkifResponse): Verdict {
  if (!Number.isInteger(rsp.id) || rsp.id < 0 || rsp.id >= rinfo.shadow.length)
    return 'response-id-out-of-range';
  const shadow = rinfo.shadow[rsp.id]!;
  if (shadow.status !== 'waiting') return NOT_WAITING;
  return shadow.operation === rsp.operation ? 'accepted' : 'response-wrong-operation';
}

/** The position of blkfront's last report in world.reports (-1: none). */
function lastFrontReportAt(world: World): number {
  for (let k = world.reports.length - 1; k >= 0; k--)
    if (world.reports[k]!.side === 'blkfront') return k;
  return -1;
}

function lastFrontReport(world: World): DriverReport | undefined {
  for (let k = world.reports.length - 1; k >= 0; k--)
    if (world.reports[k]!.side === 'blkfront') return world.reports[k];
  return undefined;
}

/**
 * RING_RESPONSE_PROD_OVERFLOW comes before the response loop: on a ring whose rsp_prod lay more
 * than a ring past rsp_cons after the previous step, blkfront reads no slot, and if it ran its
 * handler there the device is broken with illegal-response-count.
 */
function frontendOverflowAtOnce(world: World, p: Progress, out: Violation[]): void {
  const dev = world.front.device;
  for (const rinfo of dev.rings) {
    const before = p.frontCons.get(rinfo.ringFrame);
    if (before?.overflow !== true) continue;
    // blkif_interrupt reads rsp_prod once per loop: a loop that was holding a copy goes on up to
    // the rp it read then, and checks the new rsp_prod only when it reads it again.
    const allowed =
      before.batchEnd === undefined ? 0 : ringIdxDistance(before.rspCons, before.batchEnd);
    if (ringIdxDistance(before.rspCons, rinfo.front.rspCons) > allowed) {
      out.push(
        violation(
          world,
          `blkfront consumed response index ${before.rspCons} although rsp_prod lay more than ${rinfo.front.size} past rsp_cons`,
          { ring: rinfo.index },
        ),
      );
      continue;
    }
    const report = lastFrontReport(world);
    // Mid-loop the handler judges the copies it takes up to its rp, each with its own report.
    if (
      before.batchEnd === undefined &&
      lastFrontReportAt(world) >= before.reports &&
      dev.connection === 'error' &&
      report?.ring === rinfo.index
    ) {
      if (report.code !== 'illegal-response-count') {
        out.push(
          violation(
            world,
            `blkfront refused rsp_prod ${rspProd(rinfo.front.sring)} with ${report.code}, not illegal-response-count`,
            { ring: rinfo.index },
          ),
        );
      }
    }
  }
  p.frontCons.clear();
  for (const rinfo of dev.rings)
    p.frontCons.set(rinfo.ringFrame, {
      rspCons: rinfo.front.rspCons,
      overflow: frontProducerOverflow(rinfo.front),
      batchEnd: rinfo.held === undefined ? undefined : rinfo.rspBatchEnd,
      reports: world.reports.length,
    });
}

/**
 * XSA-391's rule in blkif_interrupt: after a protocol error no EOI, so the ring whose check
 * failed keeps its channel masked and a hostile backend cannot storm the guest through it.
 */
function noEoiAfterError(world: World, _p: Progress, out: Violation[]): void {
  const dev = world.front.device;
  if (dev.connection !== 'error') return;
  const report = lastFrontReport(world);
  const rinfo = report?.ring === undefined ? undefined : dev.rings[report.ring];
  if (rinfo === undefined) return;
  if (!world.evtchn.isMasked(world.guestDomid, rinfo.port)) {
    out.push(
      violation(
        world,
        `blkfront re-enabled the event channel of ring ${rinfo.index} after ${report!.code} (an EOI after a protocol error)`,
        { ring: rinfo.index },
      ),
    );
  }
}

/** The response fields of slot `index` of a frontend ring, as blkif_interrupt would copy them. */
function slotResponse(world: World, rinfo: RingInfo, index: RingIdx): BlkifResponse {
  const sring = rinfo.front.sring;
  return world.front.env.abi.copyResponse(sring.view, entryOffset(sring, index));
}

function sameResponse(a: BlkifResponse, b: BlkifResponse): boolean {
  return a.id === b.id && a.operation === b.operation && a.status === b.status;
}

/** blkfront published the request of ring index `index` in the last step. */
function frontPublished(p: Progress, rinfo: RingInfo, index: RingIdx): boolean {
  const prev = p.frontReqProd.get(rinfo.ringFrame);
  const now = rinfo.front.reqProdPvt;
  if (prev === undefined) return false;
  const d = ringIdxDistance(prev, index);
  return d < ringIdxDistance(prev, now);
}

/** Remember each frontend ring's req_prod_pvt for the next step's frontPublished. */
function noteFrontReqProd(world: World, p: Progress): void {
  p.frontReqProd.clear();
  for (const rinfo of world.front.device.rings)
    p.frontReqProd.set(rinfo.ringFrame, rinfo.front.reqProdPvt);
}

/** True when a consumer or producer at `at` has moved past ring index `index` (within one ring). */
function passed(index: number, at: number, size: number): boolean {
  const d = ringIdxDistance(index as RingIdx, at as RingIdx);
  return d >= 1 && d <= size;
}

/** The frontend's own limits hold whatever the backend advertised, and every error is reported. */
function frontendLimits(world: World, out: Violation[]): void {
  const dev = world.front.device;
  const cfg = world.config.frontend;
  if (dev.connection === 'error' && !world.reports.some((r) => r.side === 'blkfront')) {
    out.push(violation(world, 'blkfront marked the device broken without a report'));
  }
  const queueCountMax = Math.max(
    1,
    frontendQueueCountMax(cfg.queueCountMax, world.config.vcpuCount),
  );
  if (dev.rings.length > queueCountMax) {
    out.push(
      violation(
        world,
        `blkfront set up ${dev.rings.length} rings; its own limit is ${queueCountMax}`,
        { key: 'multi-queue-max-queues' },
      ),
    );
  }
  const orderMax = Math.min(cfg.ringPageOrderMax, XENBUS_MAX_RING_GRANT_ORDER);
  if (dev.rings.length > 0 && dev.ringPageOrder > orderMax) {
    out.push(
      violation(
        world,
        `blkfront uses ring page order ${dev.ringPageOrder}; its own limit is ${orderMax}`,
        { key: 'max-ring-page-order' },
      ),
    );
  }
  if (dev.features.indirectSegments > cfg.indirectSegmentsMax) {
    out.push(
      violation(
        world,
        `blkfront uses ${dev.features.indirectSegments} indirect segments; its own limit is ${cfg.indirectSegmentsMax}`,
        { key: 'feature-max-indirect-segments' },
      ),
    );
  }
  if (dev.connection !== 'connected') return;
  for (const rinfo of dev.rings) {
    const outstanding = ringIdxDistance(rinfo.front.rspCons, rinfo.front.reqProdPvt);
    if (outstanding > rinfo.front.size) {
      out.push(
        violation(
          world,
          `blkfront has ${outstanding} requests outstanding on a ${rinfo.front.size}-slot ring`,
          { ring: rinfo.index },
        ),
      );
    }
  }
}

/**
 * XSA-396: a page the backend still maps is never freed, and its grant is never ended. At
 * teardown Linux's blkif_free_ring calls gnttab_end_foreign_access(gref, NULL): the reference
 * waits on the deferred-end list but the page goes back to the guest (a weakness of Linux that
 * no property here demands away: the honest drivers follow it), so a deferred grant is judged
 * only on never being ended.
 */
function heldGrants(world: World, out: Violation[]): void {
  const gnttab = world.guestGnttab;
  for (const gref of world.adversary?.heldRefs ?? []) {
    const entry = gnttab.entry(gref);
    if (entry === undefined) {
      out.push(
        violation(world, `grant ${gref} was ended while the backend still maps it`, { gref }),
      );
    } else if (world.front.deferredGrants.includes(gref)) {
      // blkif_free's deferral: judged only on never being ended (above).
    } else if (!world.guestMemory.isAllocated(entry.frame)) {
      out.push(
        violation(
          world,
          `blkfront freed guest frame ${entry.frame} while the backend still maps it through grant ${gref}`,
          { gref },
        ),
      );
    } else if (reusable(world, entry.frame, gref)) {
      out.push(
        violation(
          world,
          `blkfront put guest frame ${entry.frame} back for reuse while the backend still maps it through grant ${gref}`,
          { gref },
        ),
      );
    }
  }
}

/**
 * A bounce page blkfront may hand out again: its entry is back on a ring's list without `gref`,
 * or another grant of a request in flight carries it (the page was given up while mapped).
 */
function reusable(world: World, frame: number, gref: number): boolean {
  for (const rinfo of world.front.device.rings) {
    for (const slot of rinfo.unusedSlots) if (slot.frame === frame) return true;
    for (const slot of rinfo.persistentSlots)
      if (slot.frame === frame && slot.ref !== gref) return true;
    for (const shadow of rinfo.shadow)
      for (const slot of shadow.grantsUsed)
        if (slot.frame === frame && slot.ref !== gref) return true;
  }
  return false;
}

/** The device keys blkfront_connect gathers; the disk connects only when all three read. */
const DEVICE_INFO_KEYS = [BE.sectors, BE.info, BE.sectorSize] as const;

/**
 * blkfront_connect: xenbus_gather of sectors, info and sector-size, and on failure
 * xenbus_dev_fatal "reading backend fields at %s" without connecting. The read and the connect
 * are one callback, so the keys as they are after the step are the ones it read.
 */
function deviceInfoBeforeDisk(world: World, p: Progress, out: Violation[]): void {
  const hasDisk = world.front.hasDisk;
  const connectedNow = hasDisk && !p.hadDisk;
  p.hadDisk = hasDisk;
  if (!connectedNow) return;
  for (const key of DEVICE_INFO_KEYS) {
    const path = `${backendPath(world.guestDomid)}/${key}`;
    const read = world.xs.read(world.guestDomid, path);
    const text = read.ok ? read.value : undefined;
    if (readUnsigned(text) === undefined) {
      const what = text === undefined ? 'absent' : JSON.stringify(text);
      out.push(
        violation(world, `blkfront connected the disk with the backend's ${key} ${what}`, {
          key: path,
        }),
      );
    }
  }
}

// ---- a hostile frontend: blkback must refuse -------------------------------------------------

/**
 * Per ring: every consumed request answered once or in flight; indices within one ring; nothing
 * consumed while the frontend's req_prod lay more than a ring ahead (RING_REQUEST_PROD_OVERFLOW).
 */
function backendRings(world: World, p: Progress, out: Violation[]): void {
  let expectedMaps = 0;
  const seen: Progress['rings'] = new Map();
  for (const ring of world.host.back.rings) {
    const b = ring.back;
    // The ring instance, not its page: a release and a new map of the same page is a new ring.
    const key = ring.serial;
    const before = p.rings.get(key);
    if (before?.overflow === true && ring.consumedCount > before.consumed) {
      out.push(
        violation(
          world,
          `blkback consumed request index ${ringIdxAdd(b.reqCons, -1)} although req_prod lay more than ${b.size} ` +
            'past rsp_prod_pvt',
          { ring: ring.index },
        ),
      );
    }
    if (before !== undefined) haltedExactly(world, ring, before, out);
    seen.set(key, {
      overflow: backProducerOverflow(b),
      consumed: ring.consumedCount,
      halted: ring.halted,
    });
    // A request copied but not dispatched yet (the worker's window) is owed too.
    const owed =
      ring.inflight.size + (ring.barrier !== undefined ? 1 : 0) + (ring.held !== undefined ? 1 : 0);
    if (ring.consumedCount !== ring.respondedCount + owed) {
      out.push(
        violation(
          world,
          `blkback consumed ${ring.consumedCount} requests but answered ${ring.respondedCount} with ${owed} in flight`,
          { ring: ring.index },
        ),
      );
    }
    if (ringIdxDistance(b.rspProdPvt, b.reqCons) > b.size) {
      out.push(
        violation(
          world,
          `blkback req_cons ${b.reqCons} is more than ${b.size} past rsp_prod_pvt ${b.rspProdPvt}`,
          { ring: ring.index },
        ),
      );
    }
    expectedMaps += ring.ringRefs.length + ring.persistent.size;
    for (const pending of ring.inflight.values())
      for (const seg of pending.segments) if (!seg.persistent) expectedMaps += 1;
    if (ring.barrier !== undefined)
      for (const seg of ring.barrier.segments) if (!seg.persistent) expectedMaps += 1;
  }
  // Rings gone since the previous step never come back: a new ring is a new key.
  p.rings = seen;
  const mapped = world.guestGnttab.mappedCount(BACKEND_DOMID);
  if (mapped !== expectedMaps) {
    out.push(
      violation(
        world,
        `blkback maps ${mapped} guest grants; its rings, persistent trees and requests account for ${expectedMaps}`,
      ),
    );
  }
}

/**
 * __do_block_io_op's RING_REQUEST_PROD_OVERFLOW ("Frontend provided bogus ring requests ...
 * Halting ring processing"): the ring halts with the ring-overflow report, not another refusal,
 * and a halted ring consumes nothing more (xen_blkif_schedule waits for kthread_stop on -EACCES).
 */
function haltedExactly(
  world: World,
  ring: BackRingState,
  before: RingBefore,
  out: Violation[],
): void {
  if (before.halted && ring.consumedCount > before.consumed) {
    out.push(
      violation(
        world,
        `blkback consumed request index ${ringIdxAdd(ring.back.reqCons, -1)} on a halted ring`,
        {
          ring: ring.index,
        },
      ),
    );
  }
  // A disconnect halts busy rings too (kthread_stop), with no report even over an overflowed
  // req_prod: only the worker's own halt over an overflow is judged.
  if (before.halted || !ring.halted || !before.overflow || ring.stopped) return;
  const report = world.reports.findLast((r) => r.side === 'blkback' && r.ring === ring.index);
  if (report?.code !== 'ring-overflow') {
    const got = report === undefined ? 'no report' : `report ${report.code}`;
    out.push(
      violation(
        world,
        `blkback halted the ring over req_prod ${reqProd(ring.back.sring)} with ${got}, not ring-overflow`,
        {
          ring: ring.index,
        },
      ),
    );
  }
}

/** Invariant 5: connected only within its limits; a refused frontend gets Closing and an error node. */
function backendConnect(world: World, p: Progress, out: Violation[]): void {
  const back = world.host.back;
  const cfg = back.config;
  // An unregistered backend (its directory removed under it) keeps its cached state, not its rings.
  if (back.cachedState === XenbusState.Connected && !back.drainOwed && !back.removed) {
    const queueCountMax = cfg.queueCountMax ?? NOT_ADVERTISED.queueCount;
    if (
      back.queueCount < 1 ||
      back.queueCount > queueCountMax ||
      back.rings.length !== back.queueCount
    ) {
      out.push(
        violation(
          world,
          `blkback connected ${back.rings.length} rings for num-queues ${back.queueCount} (max ${queueCountMax})`,
          { key: 'multi-queue-num-queues' },
        ),
      );
    }
    if (back.ringPageOrder > (cfg.ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder)) {
      out.push(
        violation(
          world,
          `blkback connected with ring-page-order ${back.ringPageOrder} above its max ${cfg.ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder}`,
          { key: 'ring-page-order' },
        ),
      );
    }
  }
  const writes = world.stateWrites;
  for (; p.stateWritesSeen < writes.length; p.stateWritesSeen++) {
    const w = writes[p.stateWritesSeen]!;
    if (w.side !== 'backend' || w.to !== XenbusState.Closing || teardownOf(world) !== undefined)
      continue;
    const frontState = readState(world.xs, BACKEND_DOMID, frontendPath(world.guestDomid));
    if (frontState === XenbusState.Closing || frontState === XenbusState.Closed) continue;
    const path = `/local/domain/${BACKEND_DOMID}/${errorNodePath(`backend/vbd/${world.guestDomid}/${world.front.device.handle}`)}`;
    const node = world.xs.read(BACKEND_DOMID, path);
    if (!node.ok) {
      out.push(
        violation(world, 'blkback went Closing on its own without writing the error node', {
          key: path,
        }),
      );
    } else {
      refusedForTheReason(world, node.value, path, out);
    }
  }
}

/** The frontend states frontend_changed has a case for (Unknown, Initialising..Connected, Closing, Closed; not InitWait). */
const FRONTEND_CHANGED_CASES: ReadonlySet<number> = new Set([
  XenbusState.Unknown,
  XenbusState.Initialising,
  XenbusState.Initialised,
  XenbusState.Connected,
  XenbusState.Closing,
  XenbusState.Closed,
]);

/**
 * connect_ring's order: num-queues (0 or above multi-queue-max-queues), then ring-page-order
 * above max-ring-page-order, both before read_per_ring_refs maps a page. When the frontend's
 * keys as blkback read them (in the callback that wrote Closing) fail one of these, the error
 * node names that check and no ring is mapped.
 */
function refusedForTheReason(world: World, text: string, path: string, out: Violation[]): void {
  const back = world.host.back;
  const read = (key: string): number | undefined => {
    const r = world.xs.read(BACKEND_DOMID, `${frontendPath(world.guestDomid)}/${key}`);
    return readUnsigned(r.ok ? r.value : undefined);
  };
  // frontend_changed switches on the state it read first: connect_ring runs only for
  // Initialised and Connected, and a value it has no case for is fatal on its own.
  const state = read(FE.state);
  if (state !== undefined && !FRONTEND_CHANGED_CASES.has(state)) {
    const want = `saw state ${state} at frontend`;
    if (!text.includes(want))
      out.push(
        violation(
          world,
          `blkback refused the frontend with ${JSON.stringify(text)}, not "${want}"`,
          {
            key: path,
          },
        ),
      );
    return;
  }
  if (state !== XenbusState.Initialised && state !== XenbusState.Connected) return;
  const queues = read(FE.multiQueueNumQueues) ?? NOT_ADVERTISED.queueCount;
  const order = read(FE.ringPageOrder);
  const queueMax = back.config.queueCountMax ?? NOT_ADVERTISED.queueCount;
  const orderMax = back.config.ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder;
  let reason: string | undefined;
  if (queues === 0 || queues > queueMax) reason = `guest requested ${queues} queues`;
  else if (order !== undefined && order > orderMax) reason = `requested ring page order ${order}`;
  if (reason === undefined) return;
  if (!text.includes(reason)) {
    out.push(
      violation(
        world,
        `blkback refused the frontend with ${JSON.stringify(text)}, not "${reason} ..."`,
        {
          key: path,
        },
      ),
    );
  } else if (back.rings.length > 0) {
    out.push(
      violation(
        world,
        `blkback refused the frontend (${reason}) with ${back.rings.length} rings mapped`,
        {
          key: path,
        },
      ),
    );
  }
}

/**
 * Section 5.5: every garbage request blkback consumed got its error status, with a report; so did
 * every indirect request of blkfront's whose descriptor page the guest spoiled before the parse.
 */
function garbageRequests(world: World, p: Progress, out: Violation[]): void {
  refusedRequests(world, world.adversary?.garbage ?? [], p.garbageJudged, out);
  refusedRequests(world, world.adversary?.rewrittenIndirect ?? [], p.rewrittenJudged, out);
}

function refusedRequests(
  world: World,
  garbageAll: readonly GarbageRequest[],
  judged: boolean[],
  out: Violation[],
): void {
  for (let i = 0; i < garbageAll.length; i++) {
    if (judged[i] === true) continue;
    const garbage = garbageAll[i]!;
    // The backend ring that consumed it: it maps the page the garbage was published on (a
    // hostile ring-ref can map one page for two rings) and its req_cons passed the slot.
    const ring = world.host.back.rings.find(
      (r) =>
        backRingFrame(world, r) === garbage.ringFrame &&
        passed(garbage.index, r.back.reqCons, r.back.size) &&
        r.held?.index !== garbage.index,
    );
    if (ring === undefined) continue;
    // One dispatch per step, answered in that step: its response is the last one produced.
    judged[i] = true;
    const sring = ring.back.sring;
    const rsp = world.host.env.abi.copyResponse(
      sring.view,
      entryOffset(sring, ringIdxAdd(ring.back.rspProdPvt, -1)),
    );
    if (rsp.id !== garbage.id || rsp.status !== garbage.status) {
      out.push(
        violation(
          world,
          `blkback consumed garbage request id ${garbage.id} (${garbage.what}) and answered id ${rsp.id} status ${rsp.status}, ` +
            `not status ${garbage.status}`,
          { ring: ring.index, requestId: garbage.id },
        ),
      );
    } else {
      const report = world.reports.findLast(
        (r) => r.side === 'blkback' && r.requestId === garbage.id,
      );
      const exact =
        report?.code === garbage.report &&
        (garbage.gref === undefined || report.gref === garbage.gref);
      if (!exact) {
        const got = report === undefined ? 'no report' : `report ${report.code}`;
        const want =
          garbage.gref === undefined
            ? garbage.report
            : `${garbage.report} on grant ${garbage.gref}`;
        out.push(
          violation(
            world,
            `blkback refused garbage request id ${garbage.id} (${garbage.what}) with ${got}, not ${want}`,
            garbage.gref === undefined
              ? { ring: ring.index, requestId: garbage.id }
              : { ring: ring.index, requestId: garbage.id, gref: garbage.gref },
          ),
        );
      }
    }
  }
}

/**
 * The front rings of a connected device idle with rsp_prod more than a ring ahead, while the
 * backend can still notify them. A ring whose channel lost its peer (the backend closed and
 * unbound it) gets no event, so blkif_interrupt never runs there to see the index.
 */
function frontendIdlesOverflowed(world: World, _p: Progress, out: Violation[]): void {
  if (world.front.device.connection !== 'connected') return;
  for (const rinfo of world.front.device.rings) {
    const notifiable = world.evtchn.peerOf(world.guestDomid, rinfo.port) !== undefined;
    if (notifiable && frontProducerOverflow(rinfo.front)) {
      out.push(
        violation(world, 'blkfront idles connected with rsp_prod more than a ring past rsp_cons', {
          ring: rinfo.index,
        }),
      );
    }
  }
}

/** A backend ring idles, not halted, with req_prod more than a ring ahead. */
function backendIdlesOverflowed(world: World, _p: Progress, out: Violation[]): void {
  for (const ring of world.host.back.rings) {
    if (!ring.halted && backProducerOverflow(ring.back)) {
      out.push(
        violation(
          world,
          'blkback idles with req_prod more than a ring past rsp_prod_pvt and did not halt the ring',
          { ring: ring.index },
        ),
      );
    }
  }
}

/**
 * XSA-391 in blkif_interrupt: eoiflag starts as XEN_EOI_FLAG_SPURIOUS and is cleared by the
 * first response processed; xen_irq_lateeoi delays the unmask from the second spurious EOI in a
 * row. Judged per ring from its indices alone: a handler run (delivery to EOI) that moved no
 * rsp_cons is spurious, and after the second in a row the channel must still be masked.
 */
function spuriousThrottled(world: World, p: Progress, out: Violation[]): void {
  const dev = world.front.device;
  const seen = new Map<Frame, FrontIrq>();
  for (const rinfo of dev.rings) {
    const before = p.frontIrq.get(rinfo.ringFrame);
    let run: FrontIrq = before ?? { running: false, startCons: rinfo.front.rspCons, spurious: 0 };
    const running = rinfo.irq !== 'idle';
    if (!run.running && running) run = { ...run, running, startCons: rinfo.front.rspCons };
    else if (run.running && !running) {
      const spurious = rinfo.front.rspCons === run.startCons ? run.spurious + 1 : 0;
      run = { running, startCons: rinfo.front.rspCons, spurious };
      const masked = world.evtchn.isMasked(world.guestDomid, rinfo.port);
      // After a protocol error the channel stays masked anyway (noEoiAfterError judges it).
      if (spurious >= 2 && !masked && dev.connection !== 'error') {
        out.push(
          violation(
            world,
            `blkfront ended ${spurious} spurious events in a row on ring ${rinfo.index} and the channel was unmasked at once (no XEN_EOI_FLAG_SPURIOUS throttling)`,
            { ring: rinfo.index },
          ),
        );
      }
    }
    seen.set(rinfo.ringFrame, run);
  }
  p.frontIrq = seen;
}

interface FrontIrq {
  readonly running: boolean;
  readonly startCons: RingIdx;
  /** Handler runs in a row that processed no response. */
  readonly spurious: number;
}

type DefenceCheck = (world: World, p: Progress, out: Violation[]) => void;

/**
 * One check per defence of the attack table, with its phase. Within a phase they run in this
 * order, and the first finding is the one reported.
 */
const DEFENCE_CHECKS = {
  refuseForgedResponse: {
    phase: 'step',
    check: (world, p, out) => {
      forgedResponses(world, p, out);
      noteFrontReqProd(world, p);
    },
  },
  noEoiAfterError: { phase: 'step', check: noEoiAfterError },
  throttleSpuriousEvents: { phase: 'step', check: spuriousThrottled },
  refuseRspProdOverflowAtOnce: { phase: 'step', check: frontendOverflowAtOnce },
  keepOwnLimits: { phase: 'step', check: (world, _p, out) => frontendLimits(world, out) },
  keepMappedPage: { phase: 'step', check: (world, _p, out) => heldGrants(world, out) },
  accountEveryRequest: { phase: 'step', check: backendRings },
  refuseBadConnect: { phase: 'step', check: backendConnect },
  refuseMissingDeviceInfo: { phase: 'step', check: deviceInfoBeforeDisk },
  refuseGarbage: { phase: 'step', check: garbageRequests },
  refuseRspProdOverflow: { phase: 'quiescence', check: frontendIdlesOverflowed },
  haltOnReqProdOverflow: { phase: 'quiescence', check: backendIdlesOverflowed },
  throttleBackendEvents: {
    phase: 'step',
    check: (world, p, out) => {
      p.backPasses = backendSpuriousThrottled(world, p.backPasses, out);
    },
  },
  noEoiAfterHalt: {
    phase: 'step',
    check: (world, p, out) => {
      p.backMasked = noEoiAfterHalt(world, p.backMasked, out);
    },
  },
} as const satisfies Record<Defence, { phase: InvariantPhase; check: DefenceCheck }>;

/** The checks of `phase` for a run of `config`: the defences its hostile side's attacks call for. */
function checksFor(config: WorldConfig, phase: InvariantPhase): readonly DefenceCheck[] {
  const side = config.hostile?.side;
  if (side === undefined) return [];
  const needed = defencesAgainst(side);
  const out: DefenceCheck[] = [];
  for (const [defence, row] of Object.entries(DEFENCE_CHECKS) as [
    Defence,
    (typeof DEFENCE_CHECKS)[Defence],
  ][])
    if (row.phase === phase && needed.has(defence)) out.push(row.check);
  return out;
}

/** One run's judge of the honest side: its checks, picked once, and what it has judged so far. */
class HonestSideChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  private readonly checks: readonly DefenceCheck[];
  private readonly p: Progress = {
    forgedJudged: [],
    forgedSlot: [],
    forgedVerdict: [],
    frontReqProd: new Map(),
    frontCons: new Map(),
    garbageJudged: [],
    rewrittenJudged: [],
    hadDisk: false,
    stateWritesSeen: 0,
    frontIrq: new Map(),
    rings: new Map(),
    backPasses: new Map(),
    backMasked: new Map(),
  };

  constructor(config: WorldConfig, phase: InvariantPhase) {
    this.checks = checksFor(config, phase);
  }

  check(world: World): readonly Violation[] {
    const out = this.findings.start();
    for (const check of this.checks) check(world, this.p, out);
    return this.findings.take();
  }
}

export const honestSide: Invariant = {
  code: CODE,
  phase: 'step',
  summary:
    'with a hostile peer, the honest side refuses and reports, keeps its own limits and accounting',
  when: hostileRun,
  start: (config) => new HonestSideChecker(config, 'step'),
};

export const honestSideAtQuiescence: Invariant = {
  code: CODE,
  phase: 'quiescence',
  summary: 'with a hostile peer, no producer index beyond the ring is left unrefused at quiescence',
  when: hostileRun,
  start: (config) => new HonestSideChecker(config, 'quiescence'),
};
