// What a step changed, ring by ring: one comparison of every ring's numbers with the world after
// the previous step, made once per step for all the step checkers of a run (the first to ask
// makes it). Ring isolation judges it (a change on a ring the action did not name); the checkers
// whose verdict on a ring depends only on these numbers judge just the rings that changed, so at
// 16 queues a step costs them one ring, not sixteen. The numbers are the world's own (indices,
// list sizes, the ring's identity), read as a peer or a reviewer would; nothing in impl/ marks
// what it wrote, so a wrong-ring write is seen here however it was made.
import type { BackRingState as BackRing } from '../../impl/blkback/back-ring.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { World } from '../../impl/world/world.ts';
import { FORK_SELF, type ForksSelf } from '../../impl/hash.ts';
import { reqEvent, reqProd, rspEvent, rspProd } from '../../impl/xen/shared-ring.ts';

/**
 * What is judged per ring, blkfront's then blkback's. The first field of each side is its ring's
 * identity (the ring page's frame, the event channel's port): when either changes, the ring set
 * changed (connect, disconnect, recovery) and the step is not judged. blkfront's `stopped` flag
 * is left out: kick_pending_request_queues restarts every stopped hardware queue of the device
 * (blk_mq_start_stopped_hw_queues), which is no state of one ring.
 */
export const FRONT_FIELDS = [
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
export const BACK_FIELDS = [
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
export const FRONT_WIDTH = FRONT_FIELDS.length;
export const WIDTH = FRONT_WIDTH + BACK_FIELDS.length;
/**
 * Per ring index, numbers other checkers read that isolation does not judge: blkback's ring
 * instance (a restart keeps the port) and the request it copied but has not dispatched. A change
 * marks the ring changed.
 */
const EXTRA_WIDTH = 2;
/** A row of numbers: plain for the reference's snapshots, a Float64Array for the shared one. */
type Row = number[] | Float64Array;

/** A ring index one side does not have (or does not judge: the hostile side's). */
const ABSENT = -1;
const IRQ_IDLE = 0;
const IRQ_RESPONSES = 1;
const IRQ_FINAL = 2;

/** blkfront's and blkback's rings as judged: the hostile side's are not. */
export function judgedRings(world: World): {
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
function readFront(r: RingInfo, into: Row, at: number): void {
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
function readBack(r: BackRing, into: Row, at: number): void {
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

/** blkback ring `r`'s extra numbers (EXTRA_WIDTH), stored from `into[at]` on. */
function readExtra(r: BackRing, into: Float64Array, at: number): void {
  into[at] = r.serial;
  into[at + 1] = r.held === undefined ? 0 : 1;
}

/** Whether blkback ring `r`'s extra numbers differ from those stored at `v[at]`. */
function extraDiffers(r: BackRing, v: Float64Array, at: number): boolean {
  return v[at] !== r.serial || v[at + 1] !== (r.held === undefined ? 0 : 1);
}

/**
 * The first of blkfront ring `r`'s numbers (by place, its identity aside) that differs from those
 * at `v[at]`, or -1 when none does: the fast path, plain compares the JIT inlines (a call per
 * number cost more than the reads). The order is readFront's.
 */
function frontChange(r: RingInfo, v: Float64Array, at: number): number {
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
function backChange(r: BackRing, v: Float64Array, at: number): number {
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
export function snapshot(world: World, into: number[]): number {
  const { front, back } = judgedRings(world);
  const count = ringCount(front, back);
  into.length = count * WIDTH;
  into.fill(ABSENT);
  for (const r of front) readFront(r, into, r.index * WIDTH);
  // Looked up by its index, not its place in the array.
  for (const r of back) readBack(r, into, r.index * WIDTH + FRONT_WIDTH);
  return count;
}

/** One step's changes. Scratch: the next step's comparison overwrites it before anyone reads. */
export interface StepChanges {
  /** The ring set changed (or this is the first comparison): isolation judges nothing. */
  ringSet: boolean;
  /**
   * Every ring counts as changed: the ring set changed, or the device's connection (blkfront's
   * checks of a broken device stop, and start again on the device's next connection).
   */
  all: boolean;
  /** The number of ring indices either side has. */
  count: number;
  /**
   * Places (in world.front.device.rings) of blkfront rings whose numbers changed: the first
   * `frontCount` entries (the arrays are reused from step to step, not cut).
   */
  readonly front: number[];
  frontCount: number;
  /**
   * Per changed blkfront ring: the place in the snapshot (ring index * WIDTH + field) of its
   * first judged number that changed and that number's old value; -1 when only what isolation
   * does not judge changed.
   */
  readonly frontAt: number[];
  readonly frontFrom: number[];
  /** The same for blkback's rings (places in world.host.back.rings). */
  readonly back: number[];
  backCount: number;
  readonly backAt: number[];
  readonly backFrom: number[];
}

/** No rings yet: never written (the first comparison with a ring makes new rows). */
const NO_ROWS = new Float64Array(0);

function noChanges(): StepChanges {
  return {
    ringSet: true,
    all: true,
    count: 0,
    front: [],
    frontCount: 0,
    frontAt: [],
    frontFrom: [],
    back: [],
    backCount: 0,
    backAt: [],
    backFrom: [],
  };
}

/**
 * The shared comparison. `last` holds exactly the world's numbers after the last step (each ring
 * that changed is read into it), so a search that merges runs by what checkers remember sees the
 * same states as one that merges by the world; `step` stands at world.stepCount after every check.
 */
export class RingChanges implements ForksSelf {
  private step = -1;
  /** In typed arrays: a third less time per comparison than plain arrays of numbers. */
  private last = NO_ROWS;
  private extra = NO_ROWS;
  /**
   * `last` and `extra` may be a fork's too (copy-on-write: a fork shares them, and whichever
   * run writes first takes its own copy). Buffers of this size live outside V8's heap: copying
   * them at every fork of an explorer's search cost an allocation each, most never written.
   */
  private rowsShared = false;
  /** Ring counts per side in `last` (with the identities, they say whether the ring set held). */
  private frontRings = 0;
  private backRings = 0;
  private connection = '';

  /** `now`: a fork's is its original's (see FORK_SELF). */
  constructor(readonly now: StepChanges = noChanges()) {}

  /**
   * A fork for an explorer's search (impl/world/fork.ts): `now` is shared (rewritten by the first
   * check after every step, NOT_MEMORY's 'renewed'), the rows copy-on-write.
   */
  [FORK_SELF](): RingChanges {
    // Made by the constructor, so the copy has the original's layout (not Object.create's).
    const copy = new RingChanges(this.now);
    copy.step = this.step;
    copy.last = this.last;
    copy.extra = this.extra;
    copy.frontRings = this.frontRings;
    copy.backRings = this.backRings;
    copy.connection = this.connection;
    this.rowsShared = true;
    copy.rowsShared = true;
    return copy;
  }

  /** The rows about to be written are this run's own (see rowsShared). */
  private ownRows(): void {
    if (!this.rowsShared) return;
    this.last = this.last.slice();
    this.extra = this.extra.slice();
    this.rowsShared = false;
  }

  /** This step's changes, compared on the step's first call. */
  update(world: World): StepChanges {
    if (world.stepCount === this.step) return this.now;
    this.step = world.stepCount;
    const now = this.now;
    now.frontCount = 0;
    now.backCount = 0;
    const { front, back } = judgedRings(world);
    const connection = world.front.device.connection;
    now.all = connection !== this.connection;
    this.connection = connection;
    // Each ring's identity is compared with its numbers: the same number of rings per side,
    // each at an index that had the same identity, is the same ring set (no frame or port is
    // ABSENT), so the count of indices is the same too.
    const same =
      front.length === this.frontRings &&
      back.length === this.backRings &&
      this.compareFront(front, now) &&
      this.compareBack(back, now);
    if (!same) {
      const row: number[] = [];
      const count = snapshot(world, row);
      this.last = Float64Array.from(row);
      this.extra = new Float64Array(count * EXTRA_WIDTH).fill(ABSENT);
      this.rowsShared = false;
      for (const r of back) readExtra(r, this.extra, r.index * EXTRA_WIDTH);
      this.frontRings = front.length;
      this.backRings = back.length;
      now.frontCount = 0;
      now.backCount = 0;
      now.count = count;
      now.ringSet = true;
      now.all = true;
      return now;
    }
    now.count = this.last.length / WIDTH;
    now.ringSet = false;
    return now;
  }

  /** Records the blkfront rings that changed; false when one is not the ring it was. */
  private compareFront(front: readonly RingInfo[], now: StepChanges): boolean {
    let last = this.last;
    for (let i = 0; i < front.length; i++) {
      const r = front[i]!;
      const at = r.index * WIDTH;
      if (last[at] !== r.ringFrame) return false;
      const k = frontChange(r, last, at);
      if (k < 0) continue;
      const n = now.frontCount++;
      now.front[n] = i;
      now.frontAt[n] = at + k;
      now.frontFrom[n] = last[at + k]!;
      this.ownRows();
      last = this.last;
      readFront(r, last, at);
    }
    return true;
  }

  /** Records the blkback rings that changed; false when one is not the ring it was. */
  private compareBack(back: readonly BackRing[], now: StepChanges): boolean {
    let last = this.last;
    for (let i = 0; i < back.length; i++) {
      const r = back[i]!;
      const at = r.index * WIDTH + FRONT_WIDTH;
      if (last[at] !== r.port) return false;
      const k = backChange(r, last, at);
      const extraAt = r.index * EXTRA_WIDTH;
      const extra = extraDiffers(r, this.extra, extraAt);
      if (k < 0 && !extra) continue;
      this.ownRows();
      last = this.last;
      if (extra) readExtra(r, this.extra, extraAt);
      const n = now.backCount++;
      now.back[n] = i;
      now.backAt[n] = k < 0 ? -1 : at + k;
      now.backFrom[n] = k < 0 ? 0 : last[at + k]!;
      if (k >= 0) readBack(r, last, at);
    }
    return true;
  }
}

/** What one run's step checkers share: made by startCheckers, one per run. */
export interface RunScope {
  readonly changes: RingChanges;
}

export function newRunScope(): RunScope {
  return { changes: new RingChanges() };
}
