// Invariants 11-13 of the reference: per ring, the private indices stay within one ring of each
// other and consumers never pass the producer index they read, across the 2^32 wrap.
import type { BackRingState as BackRing } from '../../impl/blkback/back-ring.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { Action } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import { reqProd, rspProd } from '../../impl/xen/shared-ring.ts';
import { ringIdxDistance } from '../../impl/xen/ring-index.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { newRunScope, type RingChanges, type StepChanges } from './ring-changes.ts';
import { honestRun } from './runs.ts';
import { sortDistinctPrefix } from './sort-numbers.ts';
import { FindingList, type Violation } from './violation.ts';

function checkFront(world: World, rinfo: RingInfo, out: Violation[]): void {
  const step = world.stepCount;
  const f = rinfo.front;
  const outstanding = ringIdxDistance(f.rspCons, f.reqProdPvt);
  if (outstanding > f.size) {
    out.push({
      code: 'ring-bounds',
      step,
      ring: rinfo.index,
      message: `frontend has ${outstanding} requests outstanding (req_prod_pvt ${f.reqProdPvt}, rsp_cons ${f.rspCons}) on a ${f.size}-slot ring`,
    });
  }
  const published = reqProd(f.sring);
  if (published !== f.reqProdPvt && rinfo.irq === 'idle') {
    // Which way it is off tells a reviewer the bug: unpublished requests, or a req_prod
    // naming slots the frontend never filled (across the wrap, the nearer direction).
    const behind = ringIdxDistance(published, f.reqProdPvt) <= f.size;
    out.push({
      code: 'ring-bounds',
      step,
      ring: rinfo.index,
      message: behind
        ? `frontend left req_prod ${published} behind req_prod_pvt ${f.reqProdPvt}: requests built but never published`
        : `frontend published req_prod ${published} ahead of req_prod_pvt ${f.reqProdPvt}: slots published that hold no request`,
    });
  }
}

function checkBack(world: World, ring: BackRing, out: Violation[]): void {
  const step = world.stepCount;
  const b = ring.back;
  if (ring.halted) return;
  const prod = reqProd(b.sring);
  if (ringIdxDistance(b.rspProdPvt, b.reqCons) > b.size) {
    out.push({
      code: 'ring-bounds',
      step,
      ring: ring.index,
      message: `backend consumed ${ringIdxDistance(b.rspProdPvt, b.reqCons)} requests it has no response slot for (req_cons ${b.reqCons}, rsp_prod_pvt ${b.rspProdPvt})`,
    });
  }
  if (ringIdxDistance(b.reqCons, prod) > b.size) {
    out.push({
      code: 'ring-bounds',
      step,
      ring: ring.index,
      message: `backend req_cons ${b.reqCons} passed the frontend's req_prod ${prod}`,
    });
  }
  if (ringIdxDistance(b.rspProdPvt, rspProd(b.sring)) !== 0) {
    out.push({
      code: 'ring-bounds',
      step,
      ring: ring.index,
      message: `backend rsp_prod ${rspProd(b.sring)} differs from rsp_prod_pvt ${b.rspProdPvt} after a step`,
    });
  }
}

/**
 * Incremental: every number a ring's verdict reads (its private indices, its handler state and
 * halt, the device's connection, blkfront's view of the shared indices) is one the run's shared
 * comparison watches, so a ring whose numbers did not change keeps the verdict it had after the
 * last step: none (the run goes on only while every check found nothing). Only the rings that
 * changed are judged. blkback reads the shared indices through its own mapping of the ring's
 * pages, written only by its own steps (rsp_prod) and blkfront's on the same ring (req_prod,
 * with req_prod_pvt): a changed blkfront ring has blkback's ring of its index judged too.
 */
class RingBoundsChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  /** backToJudge's places, rewritten at every check (grown when a check needs more). */
  private places = new Int32Array(8);
  constructor(private readonly changes: RingChanges) {}

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const out = this.findings.start();
    const front = world.front.device.rings;
    const back = world.host.back.rings;
    // A frontend that marked the device broken stops trusting (and using) the ring.
    const judgeFront = world.front.device.connection !== 'error';
    const now = action === undefined ? undefined : this.changes.update(world);
    if (now === undefined || now.all) {
      if (judgeFront) for (const rinfo of front) checkFront(world, rinfo, out);
      for (const ring of back) checkBack(world, ring, out);
      return this.findings.take();
    }
    if (judgeFront)
      for (let k = 0; k < now.frontCount; k++) checkFront(world, front[now.front[k]!]!, out);
    // Each changed blkfront ring adds the place of its index, or every place holding that index.
    const most = now.backCount + now.frontCount * Math.max(1, back.length);
    if (this.places.length < most) this.places = new Int32Array(most);
    const n = backToJudge(now, front, back, this.places);
    for (let k = 0; k < n; k++) checkBack(world, back[this.places[k]!]!, out);
    return this.findings.take();
  }
}

/**
 * Places of blkback's rings that changed or whose blkfront ring (same index) did, ascending:
 * the first entries of `places` (the checker's scratch, long enough); returns how many.
 */
function backToJudge(
  now: StepChanges,
  front: readonly RingInfo[],
  back: readonly BackRing[],
  places: Int32Array,
): number {
  let n = 0;
  for (let k = 0; k < now.backCount; k++) places[n++] = now.back[k]!;
  for (let k = 0; k < now.frontCount; k++) {
    const index = front[now.front[k]!]!.index;
    // A ring is mostly at the place of its index.
    if (back[index]?.index === index) places[n++] = index;
    else for (let i = 0; i < back.length; i++) if (back[i]!.index === index) places[n++] = i;
  }
  return n > 1 ? sortDistinctPrefix(places, n) : n;
}

export const ringBounds: Invariant = {
  code: 'ring-bounds',
  phase: 'step',
  when: honestRun,
  summary: 'never more outstanding than the ring holds; consumers never pass producers',
  start: (_config, scope) => new RingBoundsChecker((scope ?? newRunScope()).changes),
};
