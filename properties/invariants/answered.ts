// Answered, not abandoned (docs/findings.md): with honest peers, every request a backend ring
// consumed gets exactly one response before that ring is released. Linux's xen_blkif_disconnect
// stops each ring thread (kthread_stop waits for the iteration it is in) and returns -EBUSY for a
// ring whose `inflight` count is not zero, so the ring stays until __end_block_io_op has pushed
// its last response and the final reference drop releases it. A request the frontend published
// that the thread never consumed is the frontend's to settle (blkif_free fails it, or
// blkfront_resume requeues it): it is not judged here.
//
// Judged from the ring indices (req_cons against rsp_prod_pvt and the published rsp_prod), which
// the world reads as each ring instance leaves the backend's list (world.ringEnds), and while a
// ring lives from the same indices against what the backend still holds for them. Not judged: a
// ring whose host went away (xl destroy, the source domain of a migration, a blkback restart):
// its disk I/O went with the host and no Linux backend could answer it.
import { teardownOf, type RingEnd, type World } from '../../impl/world/world.ts';
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import { type RingIdx, ringIdxAdd, ringIdxDistance } from '../../impl/xen/ring-index.ts';
import { entryOffset } from '../../impl/xen/shared-ring.ts';
import type { Ledger } from '../ledger.ts';
import type { Action } from '../../impl/world/action.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { newRunScope, type RingChanges, type StepChanges } from './ring-changes.ts';
import { honestRun } from './runs.ts';
import { sortNumbers } from './sort-numbers.ts';
import { FindingList, type Violation } from './violation.ts';

const CODE = 'answered';

/** An unsigned RING_IDX distance read as signed: more answered than consumed is negative. */
function signed(distance: number): number {
  return distance | 0;
}

/** The teardown under way, in the words of whoever started it. */
function teardownWords(world: World): string {
  const life = world.lifecycle;
  const forced = life.kind === 'detaching' && life.forced === true ? ', forced' : '';
  switch (teardownOf(world)) {
    case 'unplug':
      return `during xl block-detach${forced}`;
    case 'close':
      return `during the guest's close of the device${forced}`;
    default:
      return 'with no teardown under way (a reconnect)';
  }
}

const CALLER: Record<RingEnd['cause'], string> = {
  frontend_changed: 'xen_blkif_disconnect from frontend_changed',
  end_block_io_op: 'xen_blkif_disconnect after the last completion',
  xen_blkbk_remove: 'xen_blkif_disconnect from xen_blkbk_remove',
  connect_ring: "connect_ring's release after a failed map",
  'host-gone': 'the host going away',
};

/** One ring instance's end: nothing consumed left without its one response, all published. */
function judgeEnd(world: World, end: RingEnd, out: Violation[]): void {
  // The host went away with its disk I/O (abandonInflight): no backend could answer that.
  if (end.cause === 'host-gone') return;
  const owed = signed(end.unanswered);
  const what = `blkback released ring ${end.index} (instance ${end.serial}) at ${CALLER[end.cause]} ${teardownWords(world)}`;
  if (owed > 0) {
    const ids = end.owedIds.length > 0 ? ` (ids ${end.owedIds.join(', ')})` : '';
    out.push({
      code: CODE,
      step: world.stepCount,
      ring: end.index,
      ...(end.owedIds.length > 0 ? { requestId: end.owedIds[0] } : {}),
      message: `${what} with ${owed} consumed request${owed === 1 ? '' : 's'} never answered${ids}, left to blkfront to fail or requeue`,
    });
  } else if (owed < 0) {
    out.push({
      code: CODE,
      step: world.stepCount,
      ring: end.index,
      message: `${what} having answered ${-owed} more requests than it consumed`,
    });
  }
  if (end.unpublished > 0)
    out.push({
      code: CODE,
      step: world.stepCount,
      ring: end.index,
      message: `${what} with ${end.unpublished} responses made but never published (rsp_prod behind rsp_prod_pvt)`,
    });
}

/** A ring as the last check left it: its indices and the ids it held for consumed requests. */
interface RingSeen {
  readonly reqCons: RingIdx;
  readonly rspProdPvt: RingIdx;
  readonly ids: readonly number[];
}

/** What the ring holds for requests it consumed: in flight, held by drain_io, copied. */
function heldCount(ring: BackRingState): number {
  return (
    ring.inflight.size + (ring.barrier !== undefined ? 1 : 0) + (ring.held !== undefined ? 1 : 0)
  );
}

function heldIds(ring: BackRingState): number[] {
  const ids: number[] = [];
  for (const pending of ring.inflight.values()) ids.push(pending.id);
  if (ring.barrier !== undefined) ids.push(ring.barrier.id);
  const copied = ring.held?.copied;
  if (copied !== undefined) ids.push(copied.ok ? copied.value.id : copied.error.id);
  // In id order: the memory is then a function of the world (its maps hash in key order), so
  // two paths into one world are one state to the explorer (run-state.ts).
  sortNumbers(ids);
  return ids;
}

/** The ids of the responses the ring pushed from index `from` on (its own slots, read raw). */
function answeredSince(world: World, ring: BackRingState, from: RingIdx): number[] {
  const b = ring.back;
  const count = Math.min(ringIdxDistance(from, b.rspProdPvt), b.size);
  const ids: number[] = [];
  for (let k = 0; k < count; k++) {
    const at = entryOffset(b.sring, ringIdxAdd(from, k));
    ids.push(world.host.env.abi.copyResponse(b.sring.view, at).id);
  }
  return ids;
}

/** Ids held after the previous check that are neither held now nor answered since. */
function droppedIds(world: World, ring: BackRingState, prev: RingSeen, now: RingSeen): number[] {
  const left = [...prev.ids];
  for (const id of [...now.ids, ...answeredSince(world, ring, prev.rspProdPvt)]) {
    const at = left.indexOf(id);
    if (at >= 0) left.splice(at, 1);
  }
  return left;
}

/**
 * While a ring lives: what its indices say it owes (req_cons - rsp_prod_pvt) is what it still
 * holds for those requests (pending requests in flight, the barrier drain_io holds, the copy not
 * dispatched yet), so a request dropped without its response is seen at the step that drops it.
 * `seen` is each ring (by serial) as the previous check left it, to name what was dropped.
 */
function liveRings(
  world: World,
  seen: Map<number, RingSeen>,
  changes: StepChanges | undefined,
  out: Violation[],
): void {
  const rings = world.host.back.rings;
  if (changes === undefined) for (const ring of rings) liveRing(world, ring, seen, out);
  else
    for (let k = 0; k < changes.backCount; k++)
      liveRing(world, rings[changes.back[k]!]!, seen, out);
  // A ring gone from the list is judged by its end; its memory goes with it.
  if (seen.size > rings.length)
    for (const serial of [...seen.keys()])
      if (!rings.some((r) => r.serial === serial)) seen.delete(serial);
}

function liveRing(
  world: World,
  ring: BackRingState,
  seen: Map<number, RingSeen>,
  out: Violation[],
): void {
  const b = ring.back;
  const prev = seen.get(ring.serial);
  const held = heldCount(ring);
  const same =
    prev?.reqCons === b.reqCons && prev.rspProdPvt === b.rspProdPvt && prev.ids.length === held;
  const now = same ? prev : { reqCons: b.reqCons, rspProdPvt: b.rspProdPvt, ids: heldIds(ring) };
  seen.set(ring.serial, now);
  const owed = signed(ringIdxDistance(b.rspProdPvt, b.reqCons));
  if (owed === held) return;
  const dropped = prev === undefined ? [] : droppedIds(world, ring, prev, now);
  const what =
    dropped.length > 0
      ? `dropped request id ${dropped.join(', ')} without a response`
      : `owes ${owed} requests and holds ${held}`;
  const during = teardownOf(world) === undefined ? '' : ` ${teardownWords(world)}`;
  out.push({
    code: CODE,
    step: world.stepCount,
    ring: ring.index,
    ...(dropped.length > 0 ? { requestId: dropped[0] } : {}),
    message: `blkback ring ${ring.index} ${what}${during}: req_cons ${b.reqCons}, rsp_prod_pvt ${b.rspProdPvt} (${owed} owed), ${held} in flight, draining or copied`,
  });
}

/**
 * A ring's verdict reads its indices, what it holds (in flight, the barrier, the copy) and its
 * instance, all among the run's shared comparison's numbers: after a step that changed none of
 * a ring's, its verdict and memory stay as the last check left them, so only changed rings are
 * judged (all of them at a ring end, a change of the ring set, or a check without an action).
 */
class AnsweredChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  /** How far into world.ringEnds this checker has judged. */
  private seen = 0;
  /** Each live ring (by serial) as the last check left it. */
  private readonly rings = new Map<number, RingSeen>();

  constructor(private readonly changes: RingChanges) {}

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const out = this.findings.start();
    const ends = world.ringEnds;
    const ended = this.seen < ends.length;
    for (; this.seen < ends.length; this.seen++) judgeEnd(world, ends[this.seen]!, out);
    const now = action === undefined || ended ? undefined : this.changes.update(world);
    liveRings(world, this.rings, now === undefined || now.all ? undefined : now, out);
    return this.findings.take();
  }
}

export const answered: Invariant = {
  code: CODE,
  phase: 'step',
  summary:
    'every request a backend ring consumed is answered once before the ring is released (honest peers)',
  when: honestRun,
  start: (_config, scope) => new AnsweredChecker((scope ?? newRunScope()).changes),
};
