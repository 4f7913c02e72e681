// Invariants 23-27 and 34 of the reference: per-ring conservation of blkfront's grant entries,
// every reference the guest granted owned by exactly one place, and every backend mapping
// belonging to a live ring, a persistent entry or an in-flight segment.
import { INVALID_GRANT_REF, type RingInfo } from '../../impl/blkfront/ring-info.ts';
import { type RingIdx, ringIdxAdd, ringIdxDistance } from '../../impl/xen/ring-index.ts';
import { entryOffset } from '../../impl/xen/shared-ring.ts';
import { BACKEND_DOMID } from '../../model/xenstore-paths.ts';
import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import type { Action } from '../../impl/world/action.ts';
import { type Invariant, stateless } from './invariant.ts';
import { newRunScope, type RingChanges } from './ring-changes.ts';
import { honestGuest, honestRun } from './runs.ts';
import { sortDistinct } from './sort-numbers.ts';
import { FindingList, type Violation } from './violation.ts';

/** `held`: the entries the ring's requests hold (walkRing counts them). */
function ringConservation(world: World, rinfo: RingInfo, held: number, out: Violation[]): void {
  if (rinfo.grantSlotCount === 0) return; // grant buffers not filled yet (before connect)
  const free = rinfo.persistentSlots.length + rinfo.unusedSlots.length + rinfo.freshSlots;
  if (free + held !== rinfo.grantSlotCount) {
    out.push({
      code: 'grant-leak',
      step: world.stepCount,
      ring: rinfo.index,
      message: `ring ${rinfo.index} owns ${rinfo.grantSlotCount} grant entries but ${free} are free and ${held} held by requests`,
    });
  }
  if (rinfo.persistentGntsC !== rinfo.persistentSlots.length) {
    out.push({
      code: 'grant-leak',
      step: world.stepCount,
      ring: rinfo.index,
      message: `persistent_gnts_c is ${rinfo.persistentGntsC} but ${rinfo.persistentSlots.length} entries hold a persistent reference`,
    });
  }
}

/** Where a walk found a reference, packed as ring * PLACES + place, for a finding's words. */
const PLACES = 5;
const PLACE_NAMES = [
  'page',
  'persistent list',
  'in-flight request',
  'in-flight indirect page',
  'deferred-end list',
] as const;
const DEFERRED_RING = -1;

/**
 * Exact per-ring conservation, by reference: every entry with a reference holds one the guest
 * still grants (persistent entries keep theirs until blkfront ends it and moves the entry to the
 * tail with INVALID_GRANT_REF) and no reference is held twice (that an unused entry holds none
 * takeGrantSlot asserts as it takes one).
 * `seen`/`where` are stamped per check (no clearing): a reference stamped with this check's
 * stamp was already found in this check. A step on one ring walks that ring only; a step that
 * may touch every ring walks them all and the deferred-end list, so no reference is held by two
 * rings either (a move between rings in a ring's own step is ring-isolation's finding).
 */
class RefStamps {
  private seen = new Int32Array(0);
  private where = new Int32Array(0);
  private stamp = 0;

  next(): void {
    this.stamp++;
  }

  /** Records `ref` at (ring, place); a finding when this check already found it elsewhere. */
  hold(world: World, ref: number, ring: number, place: number, out: Violation[]): void {
    if (ref >= this.seen.length) this.grow(ref);
    const at = ring * PLACES + place;
    if (this.seen[ref] === this.stamp) {
      out.push({
        code: 'grant-leak',
        step: world.stepCount,
        gref: ref,
        message: `grant ${ref} is held twice: ${placeName(this.where[ref]!)} and ${placeName(at)}`,
      });
      return;
    }
    this.seen[ref] = this.stamp;
    this.where[ref] = at;
  }

  private grow(ref: number): void {
    const size = Math.max(64, 2 ** Math.ceil(Math.log2(ref + 1)));
    const seen = new Int32Array(size);
    const where = new Int32Array(size);
    seen.set(this.seen);
    where.set(this.where);
    this.seen = seen;
    this.where = where;
  }
}

function placeName(at: number): string {
  const ring = Math.floor(at / PLACES);
  const name = PLACE_NAMES[at - ring * PLACES]!;
  return ring === DEFERRED_RING ? `the ${name}` : `ring ${ring}'s ${name}`;
}

/** Entry `ref` at place `place` of ring `rinfo`: granted, and not held twice. */
function holdGranted(
  world: World,
  rinfo: RingInfo,
  ref: number,
  place: number,
  stamps: RefStamps,
  out: Violation[],
): void {
  stamps.hold(world, ref, rinfo.index, place, out);
  if (ref !== INVALID_GRANT_REF && world.guestGnttab.isGranted(ref)) return;
  out.push({
    code: 'grant-leak',
    step: world.stepCount,
    ring: rinfo.index,
    message: `ring ${rinfo.index}'s ${PLACE_NAMES[place]} holds grant ${ref}, which the guest does not grant`,
  });
}

/** Entries held by shadow `shadow`, each held and judged when `stamps` is given. */
function holdShadow(
  world: World,
  rinfo: RingInfo,
  shadow: RingInfo['shadow'][number],
  stamps: RefStamps | undefined,
  out: Violation[],
): number {
  const used = shadow.grantsUsed;
  const indirect = shadow.indirectGrants;
  if (stamps !== undefined) {
    for (const slot of used) holdGranted(world, rinfo, slot.ref, 2, stamps, out);
    for (const slot of indirect) holdGranted(world, rinfo, slot.ref, 3, stamps, out);
  }
  return used.length + indirect.length;
}

/**
 * One walk of ring `rinfo` for both of its checks: the exact one (with `stamps`: every reference
 * granted, none held twice; its findings first) and the conservation count. The shadows walked
 * are `ids` (ascending; every other shadow holds nothing), or all of them; returns the ids of
 * the shadows that hold entries, ascending.
 */
function walkRing(
  world: World,
  rinfo: RingInfo,
  ids: readonly number[] | undefined,
  stamps: RefStamps | undefined,
  out: Violation[],
): number[] {
  if (stamps !== undefined) {
    for (const ref of rinfo.ringRefs) stamps.hold(world, ref, rinfo.index, 0, out);
    for (const slot of rinfo.persistentSlots) holdGranted(world, rinfo, slot.ref, 1, stamps, out);
  }
  const shadows = rinfo.shadow;
  const holding: number[] = [];
  let held = 0;
  const count = ids === undefined ? shadows.length : ids.length;
  for (let k = 0; k < count; k++) {
    const id = ids === undefined ? k : ids[k]!;
    const n = holdShadow(world, rinfo, shadows[id]!, stamps, out);
    held += n;
    if (n > 0) holding.push(id);
  }
  ringConservation(world, rinfo, held, out);
  return holding;
}

/**
 * The shadows a step can have given entries on ring `rinfo`: those the ring published a request
 * for since the last walk (blkif_queue_rq takes a shadow, grants its pages and writes its id into
 * the slot at req_prod_pvt in one step; a request it could not grant gives its entries back
 * unpublished, and nothing else puts an entry in a shadow), with those that held entries after
 * the last walk, ascending and once each. Undefined when a published slot names no shadow (the
 * walk is then over all of them).
 */
function shadowsToWalk(
  world: World,
  rinfo: RingInfo,
  holding: readonly number[],
  from: number,
): number[] | undefined {
  const front = rinfo.front;
  const count = ringIdxDistance(from as RingIdx, front.reqProdPvt);
  if (count > front.size) return undefined;
  const ids = holding.slice();
  const layout = world.front.env.abi.layout;
  const view = front.sring.view;
  for (let k = count; k > 0; k--) {
    const at = entryOffset(front.sring, ringIdxAdd(front.reqProdPvt, -k)) + layout.idOffset;
    const id = view.getUint32(at, true);
    if (view.getUint32(at + 4, true) !== 0 || id >= rinfo.shadow.length) return undefined;
    ids.push(id);
  }
  if (count === 0) return ids;
  sortDistinct(ids);
  return ids;
}

/**
 * Who holds a reference: a ring's page, its persistent or grant list, a request's data or
 * indirect page, or the deferred-end list. Kept as numbers and worded only for a finding: at
 * quiescence every granted reference (hundreds with persistent grants) gets one.
 */
type OwnerKind = 'page' | 'persistent' | 'list' | 'request' | 'indirect' | 'deferred';
interface Owner {
  readonly kind: OwnerKind;
  readonly ring: number;
  /** The ring page or request id. */
  readonly at: number;
}

function describeOwner(owner: Owner): string {
  const ring = `ring ${owner.ring}`;
  switch (owner.kind) {
    case 'page':
      return `${ring} page ${owner.at}`;
    case 'persistent':
      return `${ring} persistent list`;
    case 'list':
      return `${ring} grant list`;
    case 'request':
      return `${ring} request id ${owner.at}`;
    case 'indirect':
      return `${ring} request id ${owner.at} indirect page`;
    case 'deferred':
      return 'deferred-end list';
  }
}

/** Each reference the guest has granted, mapped to the one place that owns it. */
function ownersOf(world: World): Map<number, Owner[]> {
  const owners = new Map<number, Owner[]>();
  const own = (ref: number, kind: OwnerKind, ring: number, at: number): void => {
    if (ref === INVALID_GRANT_REF) return;
    const owner: Owner = { kind, ring, at };
    const list = owners.get(ref);
    if (list === undefined) owners.set(ref, [owner]);
    else list.push(owner);
  };
  for (const rinfo of world.front.device.rings) {
    const ring = rinfo.index;
    rinfo.ringRefs.forEach((ref, page) => {
      own(ref, 'page', ring, page);
    });
    for (const slot of rinfo.persistentSlots) own(slot.ref, 'persistent', ring, 0);
    for (const slot of rinfo.unusedSlots) own(slot.ref, 'list', ring, 0);
    rinfo.shadow.forEach((shadow, id) => {
      for (const slot of shadow.grantsUsed) own(slot.ref, 'request', ring, id);
      for (const slot of shadow.indirectGrants) own(slot.ref, 'indirect', ring, id);
    });
  }
  for (const ref of world.guestGnttab.deferredRefs()) own(ref, 'deferred', 0, 0);
  return owners;
}

function globalAccounting(world: World, out: Violation[]): void {
  const owners = ownersOf(world);
  const gnttab = world.guestGnttab;
  for (const ref of gnttab.grantedRefs()) {
    const where = owners.get(ref);
    const entry = gnttab.entry(ref)!;
    if (where === undefined) {
      out.push({
        code: 'grant-leak',
        step: world.stepCount,
        gref: ref,
        message: `grant ${ref} is still granted to domain ${entry.grantee} but no ring, request or list owns it`,
      });
    } else if (where.length > 1) {
      out.push({
        code: 'grant-leak',
        step: world.stepCount,
        gref: ref,
        message: `grant ${ref} is owned twice: ${where.map(describeOwner).join(' and ')}`,
      });
    }
    if (!world.guestMemory.isAllocated(entry.frame)) {
      out.push({
        code: 'grant-leak',
        step: world.stepCount,
        gref: ref,
        message: `grant ${ref} still gives domain ${entry.grantee} access to freed guest frame ${entry.frame}`,
      });
    }
  }
  for (const [ref, where] of owners) {
    if (
      !gnttab.isGranted(ref) &&
      !where.every((w) => w.kind === 'persistent' || w.kind === 'list')
    ) {
      out.push({
        code: 'grant-leak',
        step: world.stepCount,
        gref: ref,
        message: `grant ${ref} used by ${describeOwner(where[0]!)} was never granted or already ended`,
      });
    }
  }
  let expectedMaps = 0;
  for (const ring of world.host.back.rings) {
    expectedMaps += ring.ringRefs.length + ring.persistent.size;
    for (const pending of ring.inflight.values())
      expectedMaps += pending.segments.filter((s) => !s.persistent).length;
    if (ring.barrier) expectedMaps += ring.barrier.segments.filter((s) => !s.persistent).length;
  }
  const mapped = gnttab.mappedCount(BACKEND_DOMID);
  if (mapped !== expectedMaps) {
    out.push({
      code: 'grant-leak',
      step: world.stepCount,
      message: `the backend maps ${mapped} guest grants but its rings, persistent trees and in-flight requests account for ${expectedMaps}`,
    });
  }
}

/**
 * The entries that joined ring `rinfo`'s persistent list since the last check, each judged once
 * as it joins: blkif_completion keeps a grant persistent only when gnttab_try_end_foreign_access
 * finds the backend still mapping it (Roger Pau Monné's "xen-blkfront: revoke foreign access for
 * grants not mapped by the backend"), so it must be granted and mapped, persistently when the
 * backend is honest. Judged once, not on every step: the backend may drop an idle persistent
 * mapping later (disconnect, purge_persistent_gnt) and blkfront then ends it in its own time
 * (purge_persistent_grants, blkif_free). `judged` holds the list's references as of the last
 * check; the list is a stack (entries are taken and returned at its end), so what joined is what
 * follows the longest prefix both share.
 */
function judgeJoins(world: World, rinfo: RingInfo, judged: number[], out: Violation[]): void {
  const list = rinfo.persistentSlots;
  let same = 0;
  while (same < list.length && same < judged.length && list[same]!.ref === judged[same]) same++;
  for (let i = same; i < list.length; i++) judgeJoin(world, rinfo, list[i]!.ref, out);
  judged.length = list.length;
  for (let i = same; i < list.length; i++) judged[i] = list[i]!.ref;
}

function judgeJoin(world: World, rinfo: RingInfo, ref: number, out: Violation[]): void {
  const gnttab = world.guestGnttab;
  let why: string | undefined;
  if (!gnttab.isGranted(ref)) why = 'the guest no longer grants it';
  else if (!gnttab.isMapped(ref)) why = 'the backend does not map it';
  else if (world.config.hostile === undefined && !backendKeeps(world, rinfo.index, ref))
    why = `the backend maps it but not in ring ${rinfo.index}'s persistent tree`;
  if (why === undefined) return;
  out.push({
    code: 'grant-leak',
    step: world.stepCount,
    ring: rinfo.index,
    gref: ref,
    message: `grant ${ref} joined ring ${rinfo.index}'s persistent list but ${why}`,
  });
}

/** The honest backend's ring with this index (by its index, not its place) keeps `ref` mapped. */
function backendKeeps(world: World, index: number, ref: number): boolean {
  for (const ring of world.host.back.rings)
    if (ring.index === index) return ring.persistent.has(ref);
  return false;
}

/** Per ring, the numbers a grant-moving step changes: which ring instance, and its list sizes. */
const SUMMARY_WIDTH = 7;

/** Stores ring `rinfo`'s summary at `at`; true when it differs from what was stored there. */
function summarize(rinfo: RingInfo, into: number[], at: number): boolean {
  // Written out, not looped over a temporary array or closure: this runs per ring per step.
  const changed =
    into.length < at + SUMMARY_WIDTH ||
    into[at] !== rinfo.ringFrame ||
    into[at + 1] !== rinfo.inflightCount ||
    into[at + 2] !== rinfo.persistentSlots.length ||
    into[at + 3] !== rinfo.unusedSlots.length ||
    into[at + 4] !== rinfo.freshSlots ||
    into[at + 5] !== rinfo.persistentGntsC ||
    into[at + 6] !== rinfo.shadowFree;
  if (!changed) return false;
  into[at] = rinfo.ringFrame;
  into[at + 1] = rinfo.inflightCount;
  into[at + 2] = rinfo.persistentSlots.length;
  into[at + 3] = rinfo.unusedSlots.length;
  into[at + 4] = rinfo.freshSlots;
  into[at + 5] = rinfo.persistentGntsC;
  into[at + 6] = rinfo.shadowFree;
  return true;
}

/**
 * Incremental: after a blkfront step on ring r only ring r is walked, after a backend ring step,
 * an event delivery or a submission none, plus any ring whose instance or list sizes changed
 * (among the rings the run's shared comparison says changed: the summary's numbers are all among
 * its numbers); a step that names no ring (control plane, faults, hostile peers) walks them all.
 * A walk reads the ring's pages, its persistent list and, of its shadows (8,192 at 16 queues of
 * order-4 rings), those that held entries after the last walk and those it published a request
 * for since (shadowsToWalk). A check without an action (quiescence, and the full-check mode
 * tests use to show both agree) walks every shadow of every ring.
 */
class RingConservationChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  /** SUMMARY_WIDTH numbers per ring, as of the last check. */
  private readonly summaries: number[] = [];
  /** Per ring, its persistent list's references as of the last check (judgeJoins). */
  private readonly judged: number[][] = [];
  private readonly stamps = new RefStamps();
  /**
   * Per ring, the shadows that held entries after the last walk (ascending), and req_prod_pvt
   * then: the next walk starts from them. A function of the world (a ring is walked on every
   * step that can change its shadows: its own, and any that changes its numbers).
   */
  private readonly holding: (number[] | undefined)[] = [];
  private readonly published: (number | undefined)[] = [];

  constructor(private readonly changes: RingChanges) {}

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const out = this.findings.start();
    // A hostile backend can leave any grant mapped: blkfront's accounting is judged until it
    // declared the device broken.
    if (world.config.hostile !== undefined && world.front.device.connection === 'error')
      return this.findings.take();
    const rings = world.front.device.rings;
    const touched = action === undefined ? undefined : ringOf(action);
    if (this.summaries.length !== rings.length * SUMMARY_WIDTH) this.summaries.length = 0;
    this.stamps.next();
    const whole = touched === undefined;
    const now = whole ? undefined : this.changes.update(world);
    if (now === undefined || now.all) {
      if (whole)
        for (const ref of world.guestGnttab.deferredRefs())
          this.stamps.hold(world, ref, DEFERRED_RING, 4, out);
      for (let i = 0; i < rings.length; i++)
        this.judgeRing(world, i, touched, action === undefined, out);
      return this.findings.take();
    }
    // Only the acting ring and the rings that changed can have moved an entry; in place order,
    // as the whole walk would find them.
    let acting = -1;
    if (touched !== NO_RING)
      for (let i = 0; i < rings.length; i++) if (rings[i]!.index === touched) acting = i;
    const changed = now.front;
    const count = now.frontCount;
    for (let k = 0; ; ) {
      const next = k < count ? changed[k]! : rings.length;
      if (acting >= 0 && acting <= next) {
        this.judgeRing(world, acting, touched, false, out);
        if (acting === next) k++;
        acting = -1;
      } else if (k < count) {
        this.judgeRing(world, changed[k++]!, touched, false, out);
      } else break;
    }
    return this.findings.take();
  }

  /** Ring at place `i`: walked when `touched` names it (or everything), or its summary changed. */
  private judgeRing(
    world: World,
    i: number,
    touched: number | undefined,
    full: boolean,
    out: Violation[],
  ): void {
    const rinfo = world.front.device.rings[i]!;
    const frame = this.summaries[i * SUMMARY_WIDTH];
    const changed = summarize(rinfo, this.summaries, i * SUMMARY_WIDTH);
    // A new ring instance (reconnect) starts with a list of its own.
    if (frame !== rinfo.ringFrame || this.judged[i] === undefined) {
      this.judged[i] = [];
      this.holding[i] = undefined;
    }
    const published = this.published[i];
    this.published[i] = rinfo.front.reqProdPvt;
    if (touched !== undefined && touched !== rinfo.index && !changed) {
      // Not walked: what it held is known no longer if it published (it cannot without a change).
      if (published !== rinfo.front.reqProdPvt) this.holding[i] = undefined;
      return;
    }
    // A step walks the shadows the ring can have filled (those it published a request for) and
    // those that held entries; a check without an action, or of a ring not known yet, all.
    const known = this.holding[i];
    const ids =
      !full && known !== undefined && published !== undefined
        ? shadowsToWalk(world, rinfo, known, published)
        : undefined;
    // A ring step that moved no entry (same list sizes) cannot have made a reference double.
    const stamps = changed || touched === undefined ? this.stamps : undefined;
    this.holding[i] = walkRing(world, rinfo, ids, stamps, out);
    judgeJoins(world, rinfo, this.judged[i]!, out);
  }
}

/** No frontend ring: the step cannot have moved any of blkfront's grant entries. */
const NO_RING = -1;

/**
 * The one ring whose grants an action can move, NO_RING when it moves none, or undefined when it
 * may touch any: blkfront's ring actions name theirs; blkback's ring actions (its ring thread and
 * request completion) run in dom0 and reach the guest's entries only through the shared ring,
 * which no entry lives in; an event delivery only wakes a handler (xen_blkif_be_int,
 * blkif_interrupt's upcall marks the ring), whose processing is a step of its own; a submission
 * only reaches blk-mq's queue of its vCPU (blk_mq_map_queue), where no grant is taken until
 * queueRequest (blkif_queue_rq); control-plane, fault and hostile actions may touch them all.
 * A ring whose list sizes or instance changed is walked whatever the action said.
 */
function ringOf(action: Action): number | undefined {
  if (action.actor === 'blkfront') return 'ring' in action ? action.ring : undefined;
  if (action.actor === 'blkback') return 'ring' in action ? NO_RING : undefined;
  if (action.actor === 'hypervisor') return NO_RING;
  if (action.actor === 'guest' && action.kind === 'submit') return NO_RING;
  return undefined;
}

export const grantAccounting: Invariant = {
  code: 'grant-leak',
  phase: 'step',
  summary:
    'per-ring grant conservation; every granted reference owned once; backend maps accounted for',
  when: honestGuest,
  start: (_config, scope) => new RingConservationChecker((scope ?? newRunScope()).changes),
};

export const grantAccountingFull = stateless({
  code: 'grant-leak',
  phase: 'quiescence',
  summary:
    'at quiescence every granted reference is owned exactly once and every backend mapping accounted for',
  when: honestRun,
  check(world) {
    const out: Violation[] = [];
    globalAccounting(world, out);
    return out;
  },
});
