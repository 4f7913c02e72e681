// Replay: fold step() over a trace's actions from initWorld(config, drivers) with every invariant
// on, through runSchedule itself, so a replay checks exactly what the original run checked. The
// chooser steps a shadow world in lockstep to find each recorded action's index in enabled():
// actions name their targets, so an index is recomputed, never stored (design rule 4).
import { type Action, describeAction, sameAction } from '../impl/world/action.ts';
import type { Drivers } from '../impl/world/drivers.ts';
import { enabled } from '../impl/world/enabled.ts';
import { initWorld } from '../impl/world/init.ts';
import { step } from '../impl/world/step.ts';
import type { World } from '../impl/world/world.ts';
import { AssertionError } from '../impl/assert.ts';
import { type Trace, traceOf } from '../properties/counterexample.ts';
import type { Invariant } from '../properties/invariants/invariant.ts';
import { formatViolation, type Violation } from '../properties/invariants/violation.ts';
import { Ledger } from '../properties/ledger.ts';
import { variantByName } from '../properties/variants.ts';
import { DRAIN_BOUND_MESSAGE, runSchedule } from '../properties/run.ts';
import type { Chooser } from '../properties/strategies/chooser.ts';

/** Why a replay could not run to its end: the trace does not fit this model. */
export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

export interface ReplayResult {
  /** The violation the trace records (undefined for a passing trace). */
  readonly expected: Violation | undefined;
  /** The violation the replay found (undefined: none). */
  readonly actual: Violation | undefined;
  /** Same code at the same step (or both runs pass). */
  readonly reproduced: boolean;
  /** The replayed run as a trace, observations recomputed. */
  readonly trace: Trace;
  /** Steps the fair drain took after the recorded actions (0 when they ended at quiescence). */
  readonly drainSteps: number;
}

/** The fair drain's bound after the recorded actions when the property does not say (its own). */
export const REPLAY_DRAIN_STEPS_MAX = 20_000;

/** Picks the recorded action at each step, checking it is enabled in a lockstep shadow world. */
class RecordedChooser implements Chooser {
  private next = 0;
  constructor(
    private readonly shadow: World,
    private readonly actions: readonly Action[],
  ) {}

  choose(enabledCount: number): number | 'drain' {
    const action = this.actions[this.next];
    if (action === undefined) return 'drain';
    const actions = enabled(this.shadow);
    if (actions.length !== enabledCount) {
      throw new ReplayError(`step ${this.next + 1}: the shadow world diverged (our bug)`);
    }
    const index = actions.findIndex((a) => sameAction(a, action));
    if (index < 0) {
      const shown = actions.slice(0, 4).map(describeAction).join('; ');
      throw new ReplayError(
        `step ${this.next + 1}: recorded action "${describeAction(action)}" is not enabled ` +
          `(enabled: ${shown}${actions.length > 4 ? '; …' : ''})`,
      );
    }
    this.next += 1;
    try {
      step(this.shadow, action);
    } catch (error) {
      // The replayed run crashes here too and reports driver-crash; the shadow is done.
      if (!(error instanceof AssertionError)) throw error;
    }
    return index;
  }
}

export interface ReplayOptions {
  /** Driver variants by name; default: the mutant registry. */
  readonly drivers?: (name: string) => Drivers | undefined;
  /** The step invariants of the trace's property when it overrides the registry's (the canary). */
  readonly stepInvariants?: readonly Invariant[];
  readonly quiescenceInvariants?: readonly Invariant[];
  /** The fair drain's bound after the recorded actions (the trace's property's). */
  readonly drainStepsMax?: number;
}

/**
 * Replays a validated trace. Every recorded action runs in the scheduled phase, then the fair
 * drain runs as in the original: a trace of the original run ends at quiescence (the drain takes
 * no step and the liveness invariants run as they did), while drivers that have been fixed since
 * may have more to do — the drain does it, and a fixed lost wake-up replays clean. A trace whose
 * violation was the drain's own bound gets no further drain, so it is reported at its step.
 */
export function replayTrace(trace: Trace, options: ReplayOptions = {}): ReplayResult {
  const drivers = (options.drivers ?? variantByName)(trace.drivers);
  if (drivers === undefined) throw new ReplayError(`unknown driver variant "${trace.drivers}"`);
  const actions = trace.steps.map((s) => s.action);
  const shadow = initWorld(trace.config, drivers, new Ledger());
  const drainBound = trace.violation?.message.startsWith(DRAIN_BOUND_MESSAGE) === true;
  const run = runSchedule({
    config: trace.config,
    drivers,
    chooser: new RecordedChooser(shadow, actions),
    stepsMax: actions.length,
    drainStepsMax: drainBound ? 0 : (options.drainStepsMax ?? REPLAY_DRAIN_STEPS_MAX),
    record: true,
    ...(options.stepInvariants === undefined ? {} : { stepInvariants: options.stepInvariants }),
    ...(options.quiescenceInvariants === undefined
      ? {}
      : { quiescenceInvariants: options.quiescenceInvariants }),
  });
  const replayed = traceOf(run, trace.config, trace.drivers, {
    property: trace.property,
    seed: trace.seed,
    path: trace.path,
  });
  const expected = trace.violation;
  const actual = run.violation;
  const reproduced =
    expected === undefined
      ? actual === undefined
      : actual !== undefined && actual.code === expected.code && actual.step === expected.step;
  return { expected, actual, reproduced, trace: replayed, drainSteps: run.drainSteps };
}

/** One line describing a replay's outcome. */
export function describeReplay(result: ReplayResult): string {
  const { expected, actual } = result;
  if (result.reproduced) {
    return actual === undefined
      ? 'replayed: no violation, as recorded'
      : `reproduced: ${formatViolation(actual)}`;
  }
  const want =
    expected === undefined ? 'no violation' : `${expected.code} at step ${expected.step}`;
  const got = actual === undefined ? 'no violation' : formatViolation(actual);
  const drain =
    result.drainSteps > 0
      ? ` (after the recorded actions, the fair drain ran ${result.drainSteps} more ${result.drainSteps === 1 ? 'step' : 'steps'})`
      : '';
  return `NOT reproduced: the trace records ${want}, the replay found ${got}${drain}`;
}
