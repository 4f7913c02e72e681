// runSchedule: the driver loop of every check. A safety phase where the chooser picks each
// action and the step invariants run after each step; then a fair drain (no new faults) to
// quiescence; then the liveness invariants — TigerBeetle's safety phase followed by its liveness
// phase. Every loop is bounded; hitting a bound is a liveness violation with a reason.
import { type Action, describeAction } from '../impl/world/action.ts';
import type { WorldConfig } from '../impl/world/config.ts';
import type { Drivers } from '../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../impl/world/enabled.ts';
import { initWorld } from '../impl/world/init.ts';
import { step } from '../impl/world/step.ts';
import type { Observation, World } from '../impl/world/world.ts';
import { AssertionError, assert } from '../impl/assert.ts';
import { QUIESCENCE_INVARIANTS, STEP_INVARIANTS } from './invariants/index.ts';
import { type Invariant, startCheckers } from './invariants/invariant.ts';
import type { Violation } from './invariants/violation.ts';
import { Ledger } from './ledger.ts';
import { summarizeWorld, type WorldSummary } from './counterexample.ts';
import { markRings, ringFacts } from './ring-facts.ts';
import type { Chooser } from './strategies/chooser.ts';

export interface RunOptions {
  readonly config: WorldConfig;
  readonly drivers: Drivers;
  readonly chooser: Chooser;
  /** Bound on the scheduled (safety) phase. */
  readonly stepsMax: number;
  /** Bound on the fair drain; exceeding it is a liveness violation. */
  readonly drainStepsMax: number;
  /** Checked after every step; default: every step invariant. Pass [] to measure raw speed. */
  readonly stepInvariants?: readonly Invariant[];
  readonly quiescenceInvariants?: readonly Invariant[];
  /** Keep the action list and per-step observations (traces). */
  readonly record?: boolean;
  /**
   * Step checkers look at everything after every step instead of what the step touched (tests
   * use it to show the incremental checks reach the same verdicts at the same steps).
   */
  readonly fullStepChecks?: boolean;
  /** Called after every step that did not crash (coverage probes); must not change the world. */
  readonly onStep?: (world: World, action: Action) => void;
}

export interface StepRecord {
  readonly action: Action;
  readonly observations: readonly Observation[];
  readonly state: WorldSummary;
}

export interface RunResult {
  readonly world: World;
  readonly ledger: Ledger;
  readonly steps: number;
  readonly drainSteps: number;
  /** Every action taken, in order (recorded only with `record`). */
  readonly records: readonly StepRecord[];
  readonly violation: Violation | undefined;
  /** Action kinds taken, for coverage reports. */
  readonly actionCounts: ReadonlyMap<string, number>;
}

/** Actors in the order the fair drain visits them. */
const DRAIN_ACTORS = [
  'xenstored',
  'blkback',
  'hypervisor',
  'blkfront',
  'guest',
  'toolstack',
] as const;
// drainSlot() spells this order out as a switch (the drain's hot path): the two must agree.
DRAIN_ACTORS.forEach((actor, slot) => {
  assert(drainSlot(actor) === slot, 'drain slot of %s is %s', actor, slot);
});

export function runSchedule(options: RunOptions): RunResult {
  const ledger = new Ledger();
  const world = initWorld(options.config, options.drivers, ledger);
  // One checker per invariant for this run: their cursors are theirs, not module state.
  const stepList = options.stepInvariants ?? STEP_INVARIANTS;
  const stepCheckers = startCheckers(stepList, options.config);
  // In full-check mode a checker that judges the action itself still gets it (its full check is
  // a whole comparison, e.g. ring-isolation's reference); every other checker gets none.
  const judgesAction = stepList
    .filter((i) => i.when === undefined || i.when(options.config))
    .map((i) => i.judgesAction === true);
  assert(judgesAction.length === stepCheckers.length, 'one flag per step checker');
  const records: StepRecord[] = [];
  // Counted per actor and kind without building a key string on every step (the hot path).
  const counts = new Map<string, Map<string, number>>();
  let notes: Observation[] = [];
  if (options.record === true) world.observe = (note) => notes.push(note);
  let steps = 0;
  let drainSteps = 0;
  const result = (violation: Violation | undefined): RunResult => ({
    world,
    ledger,
    steps,
    drainSteps,
    records,
    violation,
    actionCounts: flattenCounts(counts),
  });

  const perform = (action: Action): Violation | undefined => {
    ledger.now = world.stepCount + 1;
    const ledgerFindings = ledger.violations.length;
    const marks = options.record === true ? markRings(world) : undefined;
    try {
      step(world, action);
    } catch (error) {
      if (!(error instanceof AssertionError)) throw error;
      if (options.record === true)
        records.push({ action, observations: notes, state: summarizeWorld(world) });
      return crashFinding(world, action, error, ledger.violations[ledgerFindings]);
    }
    options.onStep?.(world, action);
    let byKind = counts.get(action.actor);
    if (byKind === undefined) {
      byKind = new Map();
      counts.set(action.actor, byKind);
    }
    byKind.set(action.kind, (byKind.get(action.kind) ?? 0) + 1);
    if (marks !== undefined) {
      notes.push(...ringFacts(world, action, marks));
      records.push({ action, observations: notes, state: summarizeWorld(world) });
      notes = [];
    }
    const full = options.fullStepChecks === true;
    for (let i = 0; i < stepCheckers.length; i++) {
      const found = stepCheckers[i]!.check(
        world,
        ledger,
        full && !judgesAction[i] ? undefined : action,
      );
      if (found.length > 0) return found[0];
    }
    return undefined;
  };

  for (; steps < options.stepsMax; steps++) {
    const actions = enabled(world);
    if (actions.length === 0) break;
    const choice = options.chooser.choose(actions.length, actions);
    if (choice === 'drain') break;
    const violation = perform(actions[choice]!);
    if (violation !== undefined) return result(violation);
  }

  const drained = drainWorld(world, options.drainStepsMax, perform);
  drainSteps = drained.steps;
  if (drained.violation !== undefined) return result(drained.violation);

  const quiescence = options.quiescenceInvariants ?? QUIESCENCE_INVARIANTS;
  for (const checker of startCheckers(quiescence, options.config)) {
    const found = checker.check(world, ledger);
    if (found.length > 0) return result(found[0]);
  }
  return result(undefined);
}

function flattenCounts(
  counts: ReadonlyMap<string, ReadonlyMap<string, number>>,
): Map<string, number> {
  const flat = new Map<string, number>();
  for (const [actor, byKind] of counts)
    for (const [kind, n] of byKind) flat.set(`${actor}.${kind}`, n);
  return flat;
}

/** How a drain that hit its bound is worded (replay gives such a trace no further drain). */
export const DRAIN_BOUND_MESSAGE = 'the fair drain did not reach quiescence';

/**
 * The fair drain: no new faults, round-robin over actors, until nothing is enabled. A started
 * fault (a migration under way, an unplug) runs to its end. Exceeding `stepsMax` is reported.
 */
export function drainWorld(
  world: World,
  stepsMax: number,
  perform: (action: Action) => Violation | undefined,
): { steps: number; violation: Violation | undefined } {
  // Most of a campaign's steps are drain steps: each is picked in one pass over enabled(), with
  // no filtered copy of it (the list is only built for the bound's message).
  const firstOf = new Array<number>(DRAIN_ACTORS.length);
  for (let steps = 0; ; steps++) {
    const all = enabled(world);
    firstOf.fill(-1);
    let first = -1;
    for (let i = 0; i < all.length; i++) {
      const action = all[i]!;
      if (isFaultStart(action)) continue;
      if (first < 0) first = i;
      const slot = drainSlot(action.actor);
      if (slot >= 0 && firstOf[slot]! < 0) firstOf[slot] = i;
    }
    if (first < 0) return { steps, violation: undefined };
    if (steps >= stepsMax) {
      const actions = all.filter((a) => !isFaultStart(a));
      return {
        steps,
        violation: {
          code: 'no-lost-request',
          step: world.stepCount,
          message: `${DRAIN_BOUND_MESSAGE} in ${stepsMax} steps; still enabled: ${actions.slice(0, 3).map(describeAction).join('; ')}`,
        },
      };
    }
    const violation = perform(all[pickFair(firstOf, first, steps)]!);
    if (violation !== undefined) return { steps: steps + 1, violation };
  }
}

/** An actor's place in DRAIN_ACTORS; -1 for one the drain never visits (the hostile peer). */
function drainSlot(actor: Action['actor']): number {
  switch (actor) {
    case 'xenstored':
      return 0;
    case 'blkback':
      return 1;
    case 'hypervisor':
      return 2;
    case 'blkfront':
      return 3;
    case 'guest':
      return 4;
    case 'toolstack':
      return 5;
    default:
      return -1;
  }
}

/**
 * Round-robin over actors: the next actor in turn that has an enabled action takes its first
 * (`firstOf`: each actor's first non-fault action, -1 for none); else the first of them all.
 */
function pickFair(firstOf: readonly number[], first: number, turn: number): number {
  for (let k = 0; k < DRAIN_ACTORS.length; k++) {
    const at = firstOf[(turn + k) % DRAIN_ACTORS.length]!;
    if (at >= 0) return at;
  }
  return first;
}

/**
 * What a driver's failed assertion during `action` is reported as. The guest edge may have seen the
 * cause first (a second completion frees the request's pages twice): then the protocol finding,
 * not its consequence.
 */
export function crashFinding(
  world: World,
  action: Action,
  error: AssertionError,
  cause: Violation | undefined,
): Violation {
  if (cause !== undefined) return cause;
  return {
    code: 'driver-crash',
    step: world.stepCount,
    message: `${describeAction(action)}: ${error.message}`,
  };
}
