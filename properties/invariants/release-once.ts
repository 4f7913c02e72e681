// Release exactly once (xen_blkif_disconnect / xen_blkif_free in xenbus.c, free_persistent_gnts in
// blkback.c): each backend ring instance is released once, and that release frees everything —
// its thread stopped, its event channel closed, its ring pages unmapped, its persistent grants
// freed — with its pending pool whole. Linux guards each resource (ring->xenblkd, ring->irq,
// the mapped sring) so a second xen_blkif_disconnect releases nothing twice; a second release is
// judged at the release, by what the hypervisor calls returned (EVTCHNOP_close on a closed port,
// an unmap of what is no longer mapped), not only when the freed resource is reused.
import type { RingRelease } from '../../impl/blkback/back-ring.ts';
import type { Action } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { stateless } from './invariant.ts';
import { newRunScope, type RingChanges, type StepChanges } from './ring-changes.ts';
import { FindingList, type Violation } from './violation.ts';

/** The backend itself is honest (a hostile backend's releases are not judged). */
const honestBackend = (config: World['config']): boolean => config.hostile?.side !== 'blkback';

function violation(world: World, ring: number, message: string): Violation {
  return { code: 'release-once', step: world.stepCount, ring, message };
}

/** What one release record says went wrong, in the order the release ran. */
function judgeRelease(world: World, r: RingRelease, out: Violation[]): void {
  const what = `releasing blkback ring ${r.index} (instance ${r.serial})`;
  if (!r.workerStopped) out.push(violation(world, r.index, `${what}: its ring thread still runs`));
  if (r.channelClosed !== 'ok')
    out.push(violation(world, r.index, `${what}: EVTCHNOP_close returned ${r.channelClosed}`));
  const failed = r.persistentUnmapped.filter((x) => x !== 'ok');
  if (failed.length > 0)
    out.push(
      violation(world, r.index, `${what}: unmapping a persistent grant returned ${failed[0]}`),
    );
  if (r.persistentLeft > 0)
    out.push(violation(world, r.index, `${what}: ${r.persistentLeft} persistent grants left`));
  r.ringUnmapped.forEach((x, page) => {
    if (x !== 'ok')
      out.push(violation(world, r.index, `${what}: unmapping ring page ${page} returned ${x}`));
  });
  const slots = new Set(r.pendingFree);
  const whole =
    slots.size === r.pendingFree.length &&
    r.pendingFree.length === r.pendingCount &&
    r.pendingFree.every((s) => Number.isInteger(s) && s >= 0 && s < r.pendingCount);
  if (!whole)
    out.push(
      violation(
        world,
        r.index,
        `${what}: its pending pool holds ${slots.size} distinct of ${r.pendingCount} slots (${r.pendingFree.length} entries)`,
      ),
    );
}

/**
 * Stamps per pending slot for the distinct count, one generation per count: a Set of a 16-page
 * ring's 512 slots after every blkback step was a fifth of a 16-queue run's time.
 */
class SlotStamps {
  private stamps = new Uint32Array(64);
  private generation = 0;

  /**
   * How many distinct slots of 0..count-1 `free` (from index `from` on), `inflight` and
   * `barrier` name together, not counting a slot whose `except` entry is 1..exceptUpTo.
   */
  distinct(
    count: number,
    free: readonly number[],
    from: number,
    inflight: Iterable<number>,
    barrier: number | undefined,
    except?: Int32Array,
    exceptUpTo = 0,
  ): number {
    if (this.stamps.length < count) this.stamps = new Uint32Array(count * 2);
    this.generation += 1;
    if (this.generation === 0xffffffff) {
      this.stamps.fill(0);
      this.generation = 1;
    }
    const stamps = this.stamps;
    const generation = this.generation;
    let distinct = 0;
    // A step's check passes only the slots it moved (distinctSince); the whole pool (512 slots
    // at order 4) is counted at a ring's first check and in a check without an action.
    // A slot is an integer in 0..count-1: `slot >>> 0 === slot` is false for fractions,
    // negatives and NaN. An excepted slot (one of the list's unchanged first entries, counted
    // by the caller) is stamped as seen, so it counts nowhere else.
    const skip = except ?? NO_EXCEPT;
    const mark = (slot: number): number => {
      if (slot >>> 0 !== slot || slot >= count || stamps[slot] === generation) return 0;
      stamps[slot] = generation;
      const at = skip[slot] ?? 0;
      return at >= 1 && at <= exceptUpTo ? 0 : 1;
    };
    for (let i = from; i < free.length; i++) distinct += mark(free[i]!);
    for (const slot of inflight) distinct += mark(slot);
    if (barrier !== undefined) distinct += mark(barrier);
    return distinct;
  }
}

type BackRing = World['host']['back']['rings'][number];

const NO_EXCEPT = new Int32Array(0);

/**
 * A ring's pool as the last check found it whole: its free list and, per slot, its place in that
 * list plus one (0: not free then). A function of the world: each is checked whenever its pool
 * can have changed (its ring's steps that change its numbers, and every step of no one ring).
 */
interface PoolSeen {
  readonly free: number[];
  readonly place: Int32Array;
}

/**
 * Per listed ring: free + in flight + held barrier is the pool, each slot once. Without `pools`
 * (a check without an action) every slot is counted.
 */
function poolConserved(
  world: World,
  index: number | undefined,
  stamps: SlotStamps,
  pools: Map<number, PoolSeen> | undefined,
  out: Violation[],
): void {
  const rings = world.host.back.rings;
  for (const ring of rings) {
    if (index !== undefined && ring.index !== index) continue;
    const count = 32 * ring.ringRefs.length;
    const entries = ring.pendingFree.length + ring.inflight.size + (ring.barrier ? 1 : 0);
    // The count first: it is what a double free or a lost slot changes, and costs nothing.
    const known = pools?.get(ring.serial);
    const seen = known !== undefined && known.place.length === count ? known : undefined;
    const same = seen === undefined ? 0 : samePrefix(seen.free, ring.pendingFree);
    const distinct =
      entries !== count
        ? undefined
        : seen !== undefined
          ? distinctSince(ring, count, stamps, seen, same)
          : distinctOf(ring, count, stamps);
    if (distinct === count) {
      if (pools !== undefined) remember(ring, count, pools, seen, same);
      continue;
    }
    pools?.delete(ring.serial);
    const d = distinctOf(ring, count, stamps);
    out.push(
      violation(
        world,
        ring.index,
        `blkback ring ${ring.index}'s pending pool: ${entries} slots free or in use, ${d} distinct, of ${count}`,
      ),
    );
  }
  // A ring gone from the list takes its pool with it.
  if (pools !== undefined && pools.size > rings.length)
    for (const serial of [...pools.keys()])
      if (!rings.some((r) => r.serial === serial)) pools.delete(serial);
}

function distinctOf(ring: BackRing, count: number, stamps: SlotStamps): number {
  return stamps.distinct(count, ring.pendingFree, 0, ring.inflight.keys(), ring.barrier?.slot);
}

/**
 * The same count from the last whole pool: the free list's first `same` entries are those it had
 * then (compared, not assumed), each a distinct slot; what follows, the slots in flight and the
 * barrier's count once each, unless one of those first entries (stamps.distinct's `except`).
 * blkback takes and returns pending requests at the list's end (get_free_req, free_req), so a
 * step compares the list and looks at the few slots it moved, not at the whole pool.
 */
function distinctSince(
  ring: BackRing,
  count: number,
  stamps: SlotStamps,
  seen: PoolSeen,
  same: number,
): number {
  const free = ring.pendingFree;
  const { inflight, barrier } = ring;
  return (
    same + stamps.distinct(count, free, same, inflight.keys(), barrier?.slot, seen.place, same)
  );
}

/** How many first entries two lists share. */
function samePrefix(before: readonly number[], now: readonly number[]): number {
  const end = Math.min(before.length, now.length);
  let same = 0;
  while (same < end && before[same] === now[same]) same++;
  return same;
}

/** Keeps ring `ring`'s whole pool as the next check's start (updated past the `same` entries). */
function remember(
  ring: BackRing,
  count: number,
  pools: Map<number, PoolSeen>,
  seen: PoolSeen | undefined,
  same: number,
): void {
  const free = ring.pendingFree;
  if (seen === undefined) {
    const place = new Int32Array(count);
    for (let i = 0; i < free.length; i++) place[free[i]!] = i + 1;
    pools.set(ring.serial, { free: free.slice(), place });
    return;
  }
  const before = seen.free;
  for (let i = same; i < before.length; i++) seen.place[before[i]!] = 0;
  before.length = same;
  for (let i = same; i < free.length; i++) {
    seen.place[free[i]!] = i + 1;
    before.push(free[i]!);
  }
}

/**
 * The ring a blkback ring action works on (its pool only), NONE for a step that touches no
 * backend pool (blkfront, event delivery, a submission), undefined for anything else.
 */
const NONE = -1;
function poolRingOf(action: Action | undefined): number | undefined {
  if (action === undefined) return undefined;
  if (action.actor === 'blkback') return 'ring' in action ? action.ring : undefined;
  if (action.actor === 'blkfront' || action.actor === 'hypervisor') return NONE;
  if (action.actor === 'guest' && action.kind === 'submit') return NONE;
  return undefined;
}

/**
 * Blkback ring `index` changed none of its numbers in the step (its indices, pool and in-flight
 * sizes, barrier, instance): its ring thread took and freed no pending request, so the pool it
 * had after the last check, which was whole, is unchanged (a ring step that does no I/O: a
 * persistent-grant purge, a final check with nothing to consume).
 */
function unchanged(now: StepChanges, rings: readonly BackRing[], index: number): boolean {
  if (now.all) return false;
  for (let k = 0; k < now.backCount; k++) if (rings[now.back[k]!]!.index === index) return false;
  return true;
}

class ReleaseChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  /** How far into world.ringReleases this checker has judged. */
  private seen = 0;
  /** Serials of the ring instances released so far. */
  private readonly released = new Set<number>();
  private readonly stamps = new SlotStamps();
  /** Per ring instance (serial), its pool as the last check found it whole. */
  private readonly pools = new Map<number, PoolSeen>();

  constructor(private readonly changes: RingChanges) {}

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const out = this.findings.start();
    const log = world.ringReleases;
    const releases = this.seen < log.length;
    for (; this.seen < log.length; this.seen++) {
      const r = log[this.seen]!;
      if (this.released.has(r.serial))
        out.push(
          violation(
            world,
            r.index,
            `blkback released ring ${r.index} (instance ${r.serial}) twice`,
          ),
        );
      this.released.add(r.serial);
      judgeRelease(world, r, out);
    }
    // Whether a live ring was released changes only with a release or a ring's instance (its
    // serial is among the shared comparison's numbers): otherwise only changed rings are asked.
    const rings = world.host.back.rings;
    const now = action === undefined || releases ? undefined : this.changes.update(world);
    if (now === undefined || now.all) for (const ring of rings) this.stillListed(world, ring, out);
    else for (let k = 0; k < now.backCount; k++) this.stillListed(world, rings[now.back[k]!]!, out);
    const pool = poolRingOf(action);
    if (pool !== NONE && !(pool !== undefined && now !== undefined && unchanged(now, rings, pool)))
      poolConserved(world, pool, this.stamps, action === undefined ? undefined : this.pools, out);
    return this.findings.take();
  }

  private stillListed(world: World, ring: BackRing, out: Violation[]): void {
    if (this.released.has(ring.serial))
      out.push(
        violation(
          world,
          ring.index,
          `blkback ring ${ring.index} (instance ${ring.serial}) was released but is still one of its rings`,
        ),
      );
  }
}

export const releaseOnce: Invariant = {
  code: 'release-once',
  phase: 'step',
  summary:
    'each backend ring released once, completely (thread, channel, ring pages, persistent grants), its pending pool whole',
  when: honestBackend,
  start: (_config, scope) => new ReleaseChecker((scope ?? newRunScope()).changes),
};

/**
 * After the device's removal (xen_blkbk_remove's disconnect) every ring without I/O in flight
 * has been released: xen_blkif_disconnect keeps only busy rings, and the last completion of a
 * busy one releases it.
 */
export const releaseOnceAtQuiescence = stateless({
  code: 'release-once',
  phase: 'quiescence',
  summary: 'once the backend device is removed no idle ring is left unreleased',
  when: honestBackend,
  check(world) {
    const out: Violation[] = [];
    const back = world.host.back;
    // Only a removed device: blkback in Closed still maps rings again when a frontend it is
    // still bound to announces Initialised (frontend_changed runs connect_ring from Closed).
    if (!back.removed) return out;
    for (const ring of back.rings)
      if (ring.inflight.size === 0 && ring.barrier === undefined)
        out.push(
          violation(
            world,
            ring.index,
            `blkback ring ${ring.index} has no I/O in flight but was never released after the disconnect`,
          ),
        );
    return out;
  },
});
