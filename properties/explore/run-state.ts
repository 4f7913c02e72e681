// One run of the explorer's search as a value: the world (its ledger comes with it: the guest's
// observer is part of the world's graph) and the run's step checkers. A search forks it before
// every transition, so each successor continues from exactly the checkers' memory of its own path.
import { AssertionError } from '../../impl/assert.ts';
import { assert } from '../../impl/assert.ts';
import type { Action } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { Drivers } from '../../impl/world/drivers.ts';
import { Hasher } from '../../impl/hash.ts';
import { deepCopy, type FingerprintNames, fingerprint, forkWorld } from '../../impl/world/fork.ts';
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
  const world = initWorld(config, drivers, new Ledger());
  return { world, checkers: startCheckers(stepInvariants, config) };
}

/**
 * An independent copy of the run. The checkers hold only plain data (cursors into the world's
 * logs, per-ring summaries): a deep copy of them continues exactly as the original would.
 */
export function forkRun(run: RunState): RunState {
  const world = forkWorld(run.world);
  const checkers = deepCopy(run.checkers, [run.world.config]);
  assert(checkers !== run.checkers || checkers.length === 0, 'explore: checkers are copied');
  return { world, checkers };
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
 * path was (only their distance to the end is state); and scratch buffers overwritten before
 * they are read.
 * Everything else a checker holds is its memory. search.test.ts holds the list to the checkers:
 * on the honest drivers, merging by the world alone and by world and memory visit as many states.
 */
export const NOT_MEMORY: ReadonlyMap<string, ((world: World) => number) | 'scratch'> = new Map<
  string,
  ((world: World) => number) | 'scratch'
>([
  ['TransitionChecker.next', (w) => w.stateWrites.length],
  ['HonestSideChecker.p.stateWritesSeen', (w) => w.stateWrites.length],
  ['ReportChecker.seen', (w) => w.reports.length],
  ['ReleaseChecker.seen', (w) => w.ringReleases.length],
  ['AnsweredChecker.seen', (w) => w.ringEnds.length],
  // feature-negotiation and queue-layout recheck when xenstore's write count moved; it stands
  // at the count after every check (their cached result is then the world's own verdict).
  ['NegotiationChecker.writes', (w) => w.xs.writeCount],
  ['LayoutChecker.writes', (w) => w.xs.writeCount],
  // ring-isolation swaps its two snapshot buffers: `last` is the world after the last step.
  ['RingIsolationChecker.next', 'scratch'],
  // grant-leak's reference stamps: only this check's stamp is ever read, each check a new one.
  ['RingConservationChecker.stamps', 'scratch'],
  // release-once's pending-slot stamps: likewise, a new generation per count.
  ['ReleaseChecker.stamps', 'scratch'],
]);

/** The checker fields' path prefixes NOT_MEMORY names: deeper, no path is built. */
const MEMORY_PREFIXES: ReadonlySet<string> = new Set(
  [...NOT_MEMORY.keys()].flatMap((key) =>
    key.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.')),
  ),
);

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
    const name = (checker as object).constructor?.name ?? '';
    h.mixString(name);
    hashMemory(h, checker, world, name, 0);
  }
  return `${fingerprint(world, { names })}${h.hex()}`;
}

/**
 * Plain data, canonically: Maps and Sets in key order; the configuration and functions skipped.
 * `path` (Class.field...) is kept only while NOT_MEMORY could still name a field below it.
 */
function hashMemory(
  h: Hasher,
  value: unknown,
  world: World,
  path: string | undefined,
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
    const at = path === undefined ? undefined : `${path}.${key}`;
    const not = at === undefined ? undefined : NOT_MEMORY.get(at);
    if (not === 'scratch') continue;
    h.mixString(key);
    const field = fields[key];
    if (not !== undefined) {
      assert(typeof field === 'number', 'explore: checker cursor %s is a number', at);
      // What is left to judge, not where the path's log ends (0 after every check).
      h.mixNumber(not(world) - field);
      continue;
    }
    const below = at !== undefined && MEMORY_PREFIXES.has(at) ? at : undefined;
    hashMemory(h, field, world, below, depth + 1);
  }
}

/** A Map or Set in key order (numeric keys as they are, others by their JSON). */
function hashCollection(
  h: Hasher,
  value: Map<unknown, unknown> | Set<unknown>,
  world: World,
  depth: number,
): void {
  const entries: [unknown, unknown][] =
    value instanceof Map ? [...value.entries()] : [...value].map((k) => [k, true]);
  const numeric = entries.every(([k]) => typeof k === 'number');
  const keyed = numeric
    ? entries.sort((x, y) => (x[0] as number) - (y[0] as number))
    : entries.map(([k, v]) => [JSON.stringify(k), v] as [unknown, unknown]).sort(byKey);
  h.mix(7);
  h.mix(keyed.length);
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
