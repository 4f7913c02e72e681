// Ring isolation: an action on ring i changes no state of ring j != i. Since Bob Liu's
// multi-queue series each blkfront_ring_info and each xen_blkif_ring owns its shared page, event
// channel, shadows, grant list, pending pool and persistent tree; a ring's interrupt handler,
// request queueing, ring thread and completions take only that ring's lock.
import type { BackRingState as BackRing } from '../../impl/blkback/back-ring.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { Action } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import { reqEvent, reqProd, rspEvent, rspProd } from '../../impl/xen/shared-ring.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant } from './invariant.ts';
import type { Violation } from './violation.ts';

/**
 * What is judged per ring, blkfront's then blkback's. The first field of each side is its ring's
 * identity (the ring page's frame, the event channel's port): when either changes, the ring set
 * changed (connect, disconnect, recovery) and the step is not judged. blkfront's `stopped` flag
 * is left out: kick_pending_request_queues restarts every stopped hardware queue of the device
 * (blk_mq_start_stopped_hw_queues), which is no state of one ring.
 */
const FRONT_FIELDS = [
  'ring page',
  'req_prod_pvt',
  'rsp_cons',
  'req_prod',
  'req_event',
  'rsp_prod',
  'rsp_event',
  'shadow free-list head',
  'requests in flight',
  'persistent grant entries',
  'unused grant entries',
  'fresh grant entries',
  'persistent_gnts_c',
  'hardware-queue dispatch list',
  'interrupt handler state',
] as const;
const BACK_FIELDS = [
  'event channel',
  'req_cons',
  'rsp_prod_pvt',
  'requests consumed',
  'responses made',
  'free pending requests',
  'requests in flight',
  'persistent grants',
  'ring thread',
  'halted',
  'held barrier',
] as const;
const FRONT_WIDTH = FRONT_FIELDS.length;
const WIDTH = FRONT_WIDTH + BACK_FIELDS.length;
/** A ring index one side does not have (or does not judge: the hostile side's). */
const ABSENT = -1;
const IRQ_IDLE = 0;
const IRQ_RESPONSES = 1;
const IRQ_FINAL = 2;

/** "blkfront ring 1's rsp_cons" */
function fieldName(ring: number, field: number): string {
  return field < FRONT_WIDTH
    ? `blkfront ring ${ring}'s ${FRONT_FIELDS[field]}`
    : `blkback ring ${ring}'s ${BACK_FIELDS[field - FRONT_WIDTH]}`;
}

/** blkfront's and blkback's rings as judged: the hostile side's are not. */
function judgedRings(world: World): {
  readonly front: readonly RingInfo[];
  readonly back: readonly BackRing[];
} {
  const hostile = world.config.hostile?.side;
  return {
    front: hostile === 'blkfront' ? [] : world.front.device.rings,
    back: hostile === 'blkback' ? [] : world.host.back.rings,
  };
}

/** The number of ring indices either side has (the highest index + 1). */
function ringCount(front: readonly RingInfo[], back: readonly BackRing[]): number {
  let count = 0;
  for (const r of front) count = Math.max(count, r.index + 1);
  for (const r of back) count = Math.max(count, r.index + 1);
  return count;
}

/** blkfront ring `r`'s judged numbers, FRONT_WIDTH of them from `into[at]` on. */
function readFront(r: RingInfo, into: number[], at: number): void {
  const s = r.front.sring;
  into[at] = r.ringFrame;
  into[at + 1] = r.front.reqProdPvt;
  into[at + 2] = r.front.rspCons;
  into[at + 3] = reqProd(s);
  into[at + 4] = reqEvent(s);
  into[at + 5] = rspProd(s);
  into[at + 6] = rspEvent(s);
  into[at + 7] = r.shadowFree;
  into[at + 8] = r.inflightCount;
  into[at + 9] = r.persistentSlots.length;
  into[at + 10] = r.unusedSlots.length;
  into[at + 11] = r.freshSlots;
  into[at + 12] = r.persistentGntsC;
  into[at + 13] = r.dispatch.length;
  into[at + 14] = irqCode(r);
}

/** blkback ring `r`'s judged numbers, WIDTH - FRONT_WIDTH of them from `into[at]` on. */
function readBack(r: BackRing, into: number[], at: number): void {
  into[at] = r.port;
  into[at + 1] = r.back.reqCons;
  into[at + 2] = r.back.rspProdPvt;
  into[at + 3] = r.consumedCount;
  into[at + 4] = r.respondedCount;
  into[at + 5] = r.pendingFree.length;
  into[at + 6] = r.inflight.size;
  into[at + 7] = r.persistent.size;
  into[at + 8] = r.worker === 'running' ? 1 : 0;
  into[at + 9] = r.halted ? 1 : 0;
  into[at + 10] = r.barrier === undefined ? 0 : 1;
}

/**
 * The first of blkfront ring `r`'s numbers (by place, its identity aside) that differs from those
 * at `v[at]`, or -1 when none does: the fast path, plain compares the JIT inlines (a call per
 * number cost more than the reads). The order is readFront's.
 */
function frontChange(r: RingInfo, v: readonly number[], at: number): number {
  const s = r.front.sring;
  if (v[at + 1] !== r.front.reqProdPvt) return 1;
  if (v[at + 2] !== r.front.rspCons) return 2;
  if (v[at + 3] !== reqProd(s)) return 3;
  if (v[at + 4] !== reqEvent(s)) return 4;
  if (v[at + 5] !== rspProd(s)) return 5;
  if (v[at + 6] !== rspEvent(s)) return 6;
  if (v[at + 7] !== r.shadowFree) return 7;
  if (v[at + 8] !== r.inflightCount) return 8;
  if (v[at + 9] !== r.persistentSlots.length) return 9;
  if (v[at + 10] !== r.unusedSlots.length) return 10;
  if (v[at + 11] !== r.freshSlots) return 11;
  if (v[at + 12] !== r.persistentGntsC) return 12;
  if (v[at + 13] !== r.dispatch.length) return 13;
  if (v[at + 14] !== irqCode(r)) return 14;
  return -1;
}

/** The same for blkback ring `r` (readBack's order), its place counted from FRONT_WIDTH. */
function backChange(r: BackRing, v: readonly number[], at: number): number {
  if (v[at + 1] !== r.back.reqCons) return 1;
  if (v[at + 2] !== r.back.rspProdPvt) return 2;
  if (v[at + 3] !== r.consumedCount) return 3;
  if (v[at + 4] !== r.respondedCount) return 4;
  if (v[at + 5] !== r.pendingFree.length) return 5;
  if (v[at + 6] !== r.inflight.size) return 6;
  if (v[at + 7] !== r.persistent.size) return 7;
  if (v[at + 8] !== (r.worker === 'running' ? 1 : 0)) return 8;
  if (v[at + 9] !== (r.halted ? 1 : 0)) return 9;
  if (v[at + 10] !== (r.barrier === undefined ? 0 : 1)) return 10;
  return -1;
}

function irqCode(r: RingInfo): number {
  return r.irq === 'idle' ? IRQ_IDLE : r.irq === 'responses' ? IRQ_RESPONSES : IRQ_FINAL;
}

/** `into` gets WIDTH numbers per ring index; returns the number of ring indices. */
function snapshot(world: World, into: number[]): number {
  const { front, back } = judgedRings(world);
  const count = ringCount(front, back);
  into.length = count * WIDTH;
  into.fill(ABSENT);
  for (const r of front) readFront(r, into, r.index * WIDTH);
  // Looked up by its index, not its place in the array.
  for (const r of back) readBack(r, into, r.index * WIDTH + FRONT_WIDTH);
  return count;
}

/** The ring a driver or event action works on; undefined for actions of no one ring. */
function actedRing(action: Action): number | undefined {
  if (action.actor !== 'blkfront' && action.actor !== 'blkback' && action.actor !== 'hypervisor')
    return undefined;
  return 'ring' in action ? action.ring : undefined;
}

/** The ring set (each side's ring identities) is the same in both snapshots. */
function sameRings(before: readonly number[], after: readonly number[]): boolean {
  if (before.length !== after.length) return false;
  for (let at = 0; at < after.length; at += WIDTH)
    if (before[at] !== after[at] || before[at + FRONT_WIDTH] !== after[at + FRONT_WIDTH])
      return false;
  return true;
}

function finding(
  world: World,
  action: Action,
  ring: number,
  at: number,
  from: number,
  to: number,
): Violation {
  const j = Math.floor(at / WIDTH);
  return {
    code: 'ring-isolation',
    step: world.stepCount,
    ring: j,
    message: `${action.actor} ${action.kind} on ring ${ring} changed ${fieldName(j, at - j * WIDTH)} from ${from} to ${to}`,
  };
}

/**
 * The reference check: a whole snapshot of every ring after every step, compared field by field
 * with the one before. Kept for the test that shows the incremental checker below reaches the
 * same verdicts at the same steps (incremental.test.ts).
 */
class RingIsolationReference {
  private last: number[] = [];
  private next: number[] = [];

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const count = snapshot(world, this.next);
    const before = this.last;
    const after = this.next;
    this.last = after;
    this.next = before;
    const ring = action === undefined ? undefined : actedRing(action);
    if (ring === undefined || count < 2 || !sameRings(before, after)) return [];
    for (let at = 0; at < after.length; at++) {
      if (before[at] === after[at] || Math.floor(at / WIDTH) === ring) continue;
      return [finding(world, action!, ring, at, before[at]!, after[at]!)];
    }
    return [];
  }
}

/**
 * Incremental: the snapshot of the last step is updated in place. Each ring is first compared
 * with it (frontChange, backChange); only a ring that changed is read into it, and
 * a change on another ring than the acting one is the finding. No snapshot is built, filled or
 * swapped per step. `last` holds exactly what the reference's does (the world after the last
 * step), so a search that merges runs by what checkers remember sees the same states.
 */
class RingIsolationChecker {
  private last: number[] = [];
  /** Ring counts per side in `last` (with the identities, they say whether the ring set held). */
  private frontRings = 0;
  private backRings = 0;

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const { front, back } = judgedRings(world);
    const count = ringCount(front, back);
    if (!this.sameRingSet(front, back, count)) {
      snapshot(world, this.last);
      this.frontRings = front.length;
      this.backRings = back.length;
      return [];
    }
    const acted = action === undefined ? undefined : actedRing(action);
    const ring = acted === undefined || count < 2 ? -1 : acted;
    const last = this.last;
    // The first change on another ring, by its place in the snapshot (the reference's order),
    // and its old value.
    let found = -1;
    let from = 0;
    for (const r of front) {
      const at = r.index * WIDTH;
      const k = frontChange(r, last, at);
      if (k < 0) continue;
      if (ring >= 0 && r.index !== ring && (found < 0 || at + k < found)) {
        found = at + k;
        from = last[at + k]!;
      }
      readFront(r, last, at);
    }
    for (const r of back) {
      const at = r.index * WIDTH + FRONT_WIDTH;
      const k = backChange(r, last, at);
      if (k < 0) continue;
      if (ring >= 0 && r.index !== ring && (found < 0 || at + k < found)) {
        found = at + k;
        from = last[at + k]!;
      }
      readBack(r, last, at);
    }
    return found < 0 ? [] : [finding(world, action!, ring, found, from, last[found]!)];
  }

  /** The same ring indices as in `last`, each with the same identity (ring frame, port). */
  private sameRingSet(
    front: readonly RingInfo[],
    back: readonly BackRing[],
    count: number,
  ): boolean {
    if (count * WIDTH !== this.last.length) return false;
    if (front.length !== this.frontRings || back.length !== this.backRings) return false;
    for (const r of front) if (this.last[r.index * WIDTH] !== r.ringFrame) return false;
    for (const r of back) if (this.last[r.index * WIDTH + FRONT_WIDTH] !== r.port) return false;
    return true;
  }
}

/** The reference check as an invariant (tests only: the registry holds the incremental one). */
export const ringIsolationReference: Invariant = {
  code: 'ring-isolation',
  phase: 'step',
  summary: 'ring isolation, judged from whole snapshots (the reference for the incremental check)',
  judgesAction: true,
  start: () => new RingIsolationReference(),
};

export const ringIsolation: Invariant = {
  code: 'ring-isolation',
  phase: 'step',
  summary: 'an action on ring i changes no state of ring j != i (either honest side)',
  judgesAction: true,
  // Every run: with a hostile peer only the honest side's rings are snapshot.
  start: () => new RingIsolationChecker(),
};
