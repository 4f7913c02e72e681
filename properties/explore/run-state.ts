// One run of the explorer's search as a value: the world (its ledger comes with it: the guest's
// observer is part of the world's graph) and the run's step checkers. A search forks it before
// every transition, so each successor continues from exactly the checkers' memory of its own path.
import { AssertionError } from '../../impl/assert.ts';
import { assert } from '../../impl/assert.ts';
import type { Action } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { Drivers } from '../../impl/world/drivers.ts';
import { Hasher } from '../../impl/hash.ts';
import {
  ascendingNumbers,
  deepCopy,
  type FingerprintNames,
  fingerprintHash,
  forkWorld,
} from '../../impl/world/fork.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import type { World } from '../../impl/world/world.ts';
import { type Invariant, type InvariantChecker, startCheckers } from '../invariants/invariant.ts';
import type { Violation } from '../invariants/violation.ts';
import { Ledger } from '../ledger.ts';
import { crashFinding } from '../run.ts';

export interface RunState {
  readonly world: World;
  readonly checkers: readonly InvariantChecker[];
  /**
   * What forks share, not copy: the configuration and the checkers' 'renewed' objects. A fork
   * holds the same objects, so it keeps the list (absent: forkRun finds them).
   */
  readonly shared?: readonly object[];
}

/** The run's oracle: the ledger is the guest's observer, so a fork of the world carries its own. */
export function ledgerOf(world: World): Ledger {
  const ledger = world.guest.observer;
  assert(ledger instanceof Ledger, 'explore: the guest observer is the ledger');
  return ledger as Ledger;
}

export function startRun(
  config: WorldConfig,
  drivers: Drivers,
  stepInvariants: readonly Invariant[],
): RunState {
  // Laid out for forking: the search forks a world at almost every transition.
  const world = initWorld(config, drivers, new Ledger(), { forked: true });
  return { world, checkers: startCheckers(stepInvariants, config) };
}

/**
 * An independent copy of the run. The checkers hold only plain data (cursors into the world's
 * logs, per-ring summaries): a deep copy of them continues exactly as the original would.
 */
export function forkRun(run: RunState): RunState {
  const world = forkWorld(run.world);
  const shared = run.shared ?? [run.world.config, ...renewedScratch(run.checkers)];
  const checkers = deepCopy(run.checkers, shared);
  assert(checkers !== run.checkers || checkers.length === 0, 'explore: checkers are copied');
  return { world, checkers, shared };
}

/**
 * One step and the step invariants after it, worded as runSchedule words them (properties/run.ts):
 * a driver assertion is a driver-crash unless the ledger saw its cause first. Returns the first
 * violation, or undefined.
 */
export function performStep(run: RunState, action: Action): Violation | undefined {
  const { world } = run;
  const ledger = ledgerOf(world);
  ledger.now = world.stepCount + 1;
  const ledgerFindings = ledger.violations.length;
  try {
    step(world, action);
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    return crashFinding(world, action, error, ledger.violations[ledgerFindings]);
  }
  for (const checker of run.checkers) {
    const found = checker.check(world, ledger, action);
    if (found.length > 0) return found[0];
  }
  return undefined;
}

/** The quiescence invariants on a world where the fair drain has nothing left to take. */
export function checkQuiescence(
  world: World,
  invariants: readonly Invariant[],
): Violation | undefined {
  const ledger = ledgerOf(world);
  for (const checker of startCheckers(invariants, world.config)) {
    const found = checker.check(world, ledger);
    if (found.length > 0) return found[0];
  }
  return undefined;
}

/**
 * Checker fields that are not per-path memory, by checker class and field path: positions in a
 * log the world's fingerprint leaves out (the state-write log, the drivers' reports, xenstore's
 * write count), which after every check stand at the log's end, so their value says how long the
 * path was (only their distance to the end is state); scratch buffers overwritten before they
 * are read, and copies of the world's own numbers taken at every check ('scratch': copied by a
 * fork, not hashed); 'renewed' when every use starts a new generation of it, so that a run and
 * its forks may share one (the search runs one check at a time).
 * Everything else a checker holds is its memory. search.test.ts holds the list to the checkers:
 * on the honest drivers, merging by the world alone and by world and memory visit as many states.
 */
export const NOT_MEMORY: ReadonlyMap<string, NotMemory> = new Map<string, NotMemory>([
  ['TransitionChecker.next', (w) => w.stateWrites.length],
  ['HonestSideChecker.p.stateWritesSeen', (w) => w.stateWrites.length],
  ['ReportChecker.seen', (w) => w.reports.length],
  ['ReleaseChecker.seen', (w) => w.ringReleases.length],
  ['AnsweredChecker.seen', (w) => w.ringEnds.length],
  // feature-negotiation and queue-layout recheck when xenstore's write count moved; it stands
  // at the count after every check (their cached result is then the world's own verdict).
  ['NegotiationChecker.writes', (w) => w.xs.writeCount],
  ['LayoutChecker.writes', (w) => w.xs.writeCount],
  // queue-layout's record of what its ring-key verdict read (xenstore generations): a cache
  // that only decides whether to recompute the world's own verdict.
  ['LayoutChecker.ringReads', 'scratch'],
  // The run's shared ring comparison (ring-changes.ts): its `last` is the world after the last
  // step; `step` stands at the world's step count after every check; `now` is the last step's
  // changes, overwritten before it is read. Hashed once, under ring-isolation (every run has
  // it); the other checkers hold the same object.
  ['RingIsolationChecker.changes.step', (w) => w.stepCount],
  // `now` is rewritten by the first checker to ask after every step and read only within that
  // check pass, so a run and its forks may share one. `last` and `extra` are the rings' numbers
  // after the last step, which ring-isolation compares on every step: after a check they are the
  // world's own numbers, a function of the fingerprinted world, not of the path (still copied).
  ['RingIsolationChecker.changes.now', 'renewed'],
  ['RingIsolationChecker.changes.last', 'scratch'],
  ['RingIsolationChecker.changes.extra', 'scratch'],
  // Whether those rows are still shared with a fork (copy-on-write): bookkeeping, not state.
  ['RingIsolationChecker.changes.rowsShared', 'scratch'],
  ['RingBoundsChecker.changes', 'scratch'],
  ['RingConservationChecker.changes', 'scratch'],
  ['ReleaseChecker.changes', 'scratch'],
  ['AnsweredChecker.changes', 'scratch'],
  ['NoLeakChecker.changes', 'scratch'],
  // grant-leak's reference stamps: only this check's stamp is ever read, each check a new one.
  ['RingConservationChecker.stamps', 'renewed'],
  // release-once's pending-slot stamps: likewise, a new generation per count.
  ['ReleaseChecker.stamps', 'renewed'],
  // Each check's findings list (violation.ts's FindingList), emptied when a check starts, and
  // ring-bounds' list of rings to judge, rewritten at every check.
  ...[
    'AnsweredChecker',
    'CacheChecker',
    'HonestSideChecker',
    'NoLeakChecker',
    'ReleaseChecker',
    'RingBoundsChecker',
    'RingConservationChecker',
    'TransitionChecker',
  ].map((checker): [string, NotMemory] => [`${checker}.findings`, 'renewed']),
  ['RingBoundsChecker.places', 'renewed'],
]);

/** A checker field that is no memory: a log cursor (its distance to the log's end), or scratch. */
export type NotMemory = ((world: World) => number) | 'scratch' | 'renewed';

/** NOT_MEMORY as a tree by checker class and field: what forkRun shares, hashMemory skips. */
type RuleTree = ReadonlyMap<string, NotMemory | RuleTree>;

const RULES: RuleTree = (() => {
  const root = new Map<string, NotMemory | Map<string, unknown>>();
  for (const [key, rule] of NOT_MEMORY) {
    const parts = key.split('.');
    let at = root as Map<string, unknown>;
    for (const part of parts.slice(0, -1)) {
      let below = at.get(part);
      if (below === undefined) {
        below = new Map<string, unknown>();
        at.set(part, below);
      }
      assert(below instanceof Map, 'NOT_MEMORY: %s names a field and a field below it', key);
      at = below as Map<string, unknown>;
    }
    at.set(parts[parts.length - 1]!, rule);
  }
  return root as RuleTree;
})();

/** The rules below `name` in `tree` (a checker class, or one of its fields), if any. */
function rulesBelow(tree: RuleTree | undefined, name: string): RuleTree | undefined {
  const below = tree?.get(name);
  return below instanceof Map ? below : undefined;
}

/**
 * The checkers' 'renewed' scratch objects (stamp tables of a few hundred bytes each): a fork
 * shares them instead of copying a buffer per table per transition.
 */
function renewedScratch(checkers: readonly InvariantChecker[]): object[] {
  const out: object[] = [];
  for (const checker of checkers)
    collectRenewed(checker, rulesBelow(RULES, (checker as object).constructor?.name ?? ''), out);
  return out;
}

/** The 'renewed' objects below `value` along the paths `rules` names. */
function collectRenewed(value: object, rules: RuleTree | undefined, out: object[]): void {
  if (rules === undefined) return;
  for (const [field, rule] of rules) {
    const below = (value as Record<string, unknown>)[field];
    if (typeof below !== 'object' || below === null) continue;
    if (rule === 'renewed') out.push(below);
    else if (rule instanceof Map) collectRenewed(below, rule, out);
  }
}

/**
 * The run's state as the search merges it: the world's fingerprint and a hash of what the step
 * checkers remember along the path (what an invariant carries from step to step). Two paths into
 * one world whose checkers remember different things are two states: a checker could judge
 * their futures differently. `names`: the name codes a search reuses across its states.
 */
export function runFingerprint(run: RunState, names?: FingerprintNames): string {
  const world = run.world;
  const h = new Hasher();
  for (const checker of run.checkers) {
    const kind = MEMORY_NAMES.kind(checker);
    h.mix(kind.code);
    hashMemory(h, checker, world, kind.rules, 0);
  }
  const w = fingerprintHash(world, { names });
  // The four 32-bit lanes as eight UTF-16 units: a short key for the search's map of states
  // (hex digits were four times as long, and built at every transition).
  return String.fromCharCode(
    w.a & 0xffff,
    w.a >>> 16,
    w.b & 0xffff,
    w.b >>> 16,
    h.a & 0xffff,
    h.a >>> 16,
    h.b & 0xffff,
    h.b >>> 16,
  );
}

/** A checker class's name code and NOT_MEMORY rules, looked up once per class. */
interface CheckerKind {
  readonly code: number;
  readonly rules: RuleTree | undefined;
}

/**
 * Names' hashes and checker classes' rules, kept: checker memory is hashed at every transition
 * of a search, and hashing its names' characters anew cost a fifth of that. A cache of the
 * program's names (no run state), shared by every search.
 */
class MemoryNames {
  private readonly codes = new Map<string, number>();
  /** By constructor: the program's checker classes (and Object, for the plain ones). */
  private readonly kinds = new Map<unknown, CheckerKind>();

  code(name: string): number {
    let code = this.codes.get(name);
    if (code === undefined) {
      const one = new Hasher();
      one.mixString(name);
      code = one.a ^ Math.imul(one.b, 0x9e3779b1);
      // Names are the checkers' fields and classes: few. A map keyed by data could bring many.
      if (this.codes.size < NAME_CODES_MAX) this.codes.set(name, code);
    }
    return code;
  }

  /** A checker class's name code and NOT_MEMORY rules, looked up once per class. */
  kind(checker: object): CheckerKind {
    const ctor = checker.constructor;
    let kind = this.kinds.get(ctor);
    if (kind === undefined) {
      const name = ctor?.name ?? '';
      kind = { code: this.code(name), rules: rulesBelow(RULES, name) };
      this.kinds.set(ctor, kind);
    }
    return kind;
  }
}

const NAME_CODES_MAX = 4096;
const MEMORY_NAMES = new MemoryNames();

/**
 * Plain data, canonically: Maps and Sets in key order; the configuration and functions skipped.
 * `rules`: what NOT_MEMORY names below this value (only along the paths it names).
 */
function hashMemory(
  h: Hasher,
  value: unknown,
  world: World,
  rules: RuleTree | undefined,
  depth: number,
): void {
  assert(depth < 32, 'explore: checker memory nests 32 deep');
  if (typeof value === 'function' || value === world.config) return;
  if (typeof value !== 'object' || value === null) {
    mixScalar(h, value);
    return;
  }
  if (value instanceof Map || value instanceof Set) {
    hashCollection(h, value, world, depth);
    return;
  }
  if (Array.isArray(value)) {
    h.mix(6);
    h.mix(value.length);
    // Mostly arrays of numbers (per-ring summaries, snapshot rows): those without a call each.
    for (const item of value)
      if (typeof item === 'number') h.mixNumber(item);
      else hashMemory(h, item, world, undefined, depth + 1);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    h.mix(9);
    h.mixBytes(value);
    return;
  }
  h.mix(5);
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    const not = rules?.get(key);
    if (not === 'scratch' || not === 'renewed') continue;
    h.mix(MEMORY_NAMES.code(key));
    const field = fields[key];
    if (typeof not === 'function') {
      assert(typeof field === 'number', 'explore: checker cursor %s is a number', key);
      // What is left to judge, not where the path's log ends (0 after every check).
      h.mixNumber(not(world) - field);
      continue;
    }
    hashMemory(h, field, world, not, depth + 1);
  }
}

/** A Map or Set in key order (numeric keys as they are, others by their JSON). */
function hashCollection(
  h: Hasher,
  value: Map<unknown, unknown> | Set<unknown>,
  world: World,
  depth: number,
): void {
  h.mix(7);
  h.mix(value.size);
  // The common case, keys that are numbers inserted in ascending order: no copy, no sort.
  if (ascendingNumbers(value.keys())) {
    // Mixed as the sorting path below mixes them: a Set's members as keys of `true`.
    if (value instanceof Set)
      for (const k of value) {
        mixScalar(h, k);
        mixScalar(h, true);
      }
    else
      for (const [k, v] of value) {
        mixScalar(h, k);
        hashMemory(h, v, world, undefined, depth + 1);
      }
    return;
  }
  const entries: [unknown, unknown][] =
    value instanceof Map ? [...value.entries()] : [...value].map((k) => [k, true]);
  const numeric = entries.every(([k]) => typeof k === 'number');
  const keyed = numeric
    ? entries.sort((x, y) => (x[0] as number) - (y[0] as number))
    : entries.map(([k, v]) => [JSON.stringify(k), v] as [unknown, unknown]).sort(byKey);
  for (const [k, v] of keyed) {
    mixScalar(h, k);
    hashMemory(h, v, world, undefined, depth + 1);
  }
}

/** A primitive by type and value. */
function mixScalar(h: Hasher, value: unknown): void {
  if (typeof value === 'number') h.mixNumber(value);
  else if (typeof value === 'string') h.mixString(value);
  else h.mixString(`${typeof value}:${String(value)}`);
}

const byKey = (x: [unknown, unknown], y: [unknown, unknown]): number =>
  (x[0] as string) < (y[0] as string) ? -1 : (x[0] as string) > (y[0] as string) ? 1 : 0;
