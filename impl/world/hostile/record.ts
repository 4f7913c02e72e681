// The adversary's own memory, kept in the World (world.adversary): what it took, which of its
// one-shot specs are spent, and what it planted that the honest side must later refuse. The
// honest-side invariant judges from this record and the shared pages, never from the honest
// driver's verdict about itself. Plain data: rings are named by their index and the guest frame
// of their shared page (frames are never reused), so a deep copy of the world copies it whole.
import { assert } from '../../assert.ts';
import type { BlkbackReportCode } from '../../blkfront/device.ts';
import type { BlkifResponse } from '../../xen/blkif-abi.ts';
import type { Frame } from '../../xen/memory.ts';
import type { RingIdx } from '../../xen/ring-index.ts';
import type { World } from '../world.ts';
import type { BackendAttack, HostileAttack } from './attacks.ts';
import type { HostileAction, HostilePlan } from './plan.ts';

/** A response the hostile backend published; the frontend must refuse it once it reads it. */
export interface ForgedResponse {
  readonly attack: BackendAttack;
  /** The frontend ring it was written into: its index and the first frame of its shared page. */
  readonly ring: number;
  readonly ringFrame: Frame;
  /** The ring index of the slot (the shared rsp_prod it was published at). */
  readonly index: RingIdx;
  readonly rsp: BlkifResponse;
}

/** A malformed request the hostile frontend published; blkback must answer it with an error. */
export interface GarbageRequest {
  readonly ring: number;
  readonly ringFrame: Frame;
  readonly index: RingIdx;
  readonly id: number;
  /** The status Linux blkback answers it with. */
  readonly status: number;
  /** The report of the check that refuses it, and the grant that report names (map failures). */
  readonly report: BlkbackReportCode;
  readonly gref: number | undefined;
  readonly what: string;
}

export interface AdversaryRecord {
  /** Attack actions taken (the budget counts these). */
  taken: number;
  /** Per spec of the plan: already taken (each spec is one shot, a flood's several). */
  readonly used: boolean[];
  /** Per spec of the plan: notifications a flood spec (floodEvents, floodBackendEvents) sent so far. */
  readonly floodShots: number[];
  /** Attacks that changed something, by name, in first-effect order (no-op attempts not counted). */
  readonly effective: Map<HostileAttack, number>;
  readonly forged: ForgedResponse[];
  readonly garbage: GarbageRequest[];
  /**
   * blkfront's own indirect requests whose descriptor page the guest rewrote after publication,
   * before blkback parsed it: each must be refused like a garbage request (its id is blkfront's).
   */
  readonly rewrittenIndirect: GarbageRequest[];
  /** Grant references the hostile backend maps and never unmaps (XSA-396). */
  readonly heldRefs: number[];
  /**
   * Grant references the hostile guest made for pages of its own making (the indirect and data
   * pages of its garbage): none of blkfront's lists holds them, and they are never ended.
   */
  readonly ownRefs: number[];
  nextGarbageId: number;
}

/** Ids of garbage requests: far above any ring size, so the frontend's own code cannot own them. */
export const GARBAGE_ID_BASE = 0x4000_0000;

export function createAdversaryRecord(plan: HostilePlan): AdversaryRecord {
  const record: AdversaryRecord = {
    taken: 0,
    used: plan.attacks.map(() => false),
    floodShots: plan.attacks.map(() => 0),
    effective: new Map(),
    forged: [],
    garbage: [],
    rewrittenIndirect: [],
    heldRefs: [],
    ownRefs: [],
    nextGarbageId: GARBAGE_ID_BASE,
  };
  assert(record.used.length === plan.attacks.length, 'one shot per spec of the plan');
  return record;
}

/** The record of a hostile run; a run without a hostile peer has none. */
export function adversaryOf(world: World): AdversaryRecord {
  const record = world.adversary;
  assert(record !== undefined, 'only a run with a hostile peer has an adversary');
  return record;
}

/**
 * Counts one attack against the budget and spends the first unspent spec it came from (the same
 * attack and value; enabled() offered it from exactly such a spec).
 */
export function spendSpec(record: AdversaryRecord, plan: HostilePlan, action: HostileAction): void {
  const spec = plan.attacks.findIndex(
    (s, i) => !record.used[i] && s.attack === action.attack && s.value === action.value,
  );
  assert(spec >= 0, 'an enabled attack comes from an unspent spec');
  // A flood's later notifications are the same attack going on: only its first counts.
  const shots = record.floodShots[spec] ?? 0;
  assert(shots > 0 || record.taken < plan.budget, 'an attack is enabled only within the budget');
  if (FLOODS.has(action.attack)) {
    record.floodShots[spec] = shots + 1;
    if (shots + 1 < floodShotsOf(action.value)) {
      if (shots === 0) record.taken += 1;
      return;
    }
  }
  if (shots === 0) record.taken += 1;
  record.used[spec] = true;
}

/** The attacks whose spec sends several notifications, each after the last was handled. */
const FLOODS: ReadonlySet<HostileAttack> = new Set(['floodEvents', 'floodBackendEvents']);

/** How many notifications one flood spec sends, each after the last was handled. */
export function floodShotsOf(value: number): number {
  assert(Number.isInteger(value) && value >= 0, 'a spec value');
  return 2 + (value % 6);
}

export function noteEffective(record: AdversaryRecord, attack: HostileAttack): void {
  const before = record.effective.get(attack) ?? 0;
  record.effective.set(attack, before + 1);
  assert(record.effective.size <= record.taken, 'no more attacks effective than taken');
}

export function noteForged(record: AdversaryRecord, forged: ForgedResponse): void {
  assert(record.forged.length < record.taken, 'an attack forges at most one response');
  record.forged.push(forged);
}

/** A fresh garbage request id: never one blkfront's shadow could hand out. */
export function nextGarbageId(record: AdversaryRecord): number {
  const id = record.nextGarbageId;
  assert(id === GARBAGE_ID_BASE + record.garbage.length, 'one id per garbage request published');
  record.nextGarbageId = id + 1;
  return id;
}

export function noteGarbage(record: AdversaryRecord, garbage: GarbageRequest): void {
  assert(record.garbage.length < record.taken, 'an attack publishes at most one request');
  assert(garbage.id === record.nextGarbageId - 1, 'the request carries the id just drawn');
  record.garbage.push(garbage);
}
