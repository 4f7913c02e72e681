// A property is a scenario arbitrary (configuration, workload, faults, schedule) run through
// runSchedule with the invariants on. checkProperty() is what both `npm test` and `blkif check`
// call: fast-check generates and shrinks, and the shrunk counterexample is run once more with
// recording on to produce its trace.
import fc from 'fast-check';
import type { WorldConfig } from '../impl/world/config.ts';
import { type Drivers, HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { type Trace, traceOf } from './counterexample.ts';
import type { Invariant } from './invariants/invariant.ts';
import { formatViolation, type Violation, type ViolationCode } from './invariants/violation.ts';
import { type RunResult, runSchedule } from './run.ts';
import { ChoiceListChooser } from './strategies/chooser.ts';
import { PctChooser } from './strategies/pct.ts';

export interface Scenario {
  readonly config: WorldConfig;
  /** The schedule: each choice taken modulo the enabled count, then the fair drain. */
  readonly choices: readonly number[];
}

export interface PropertyDef {
  readonly name: string;
  readonly summary: string;
  /** The invariants whose violation this property reports. */
  readonly codes: readonly ViolationCode[];
  readonly scenario: fc.Arbitrary<Scenario>;
  /** Runs in the default `npm test` budget. */
  readonly defaultRuns: number;
  readonly stepsMax: number;
  readonly drainStepsMax: number;
  /** Step invariants to check instead of the registry's (the canary adds one that always fires). */
  readonly stepInvariants?: readonly Invariant[];
  /** Liveness checks when they differ from the registry's (hostile peers: the honest side's). */
  readonly quiescenceInvariants?: readonly Invariant[];
}

export interface CheckOptions {
  readonly numRuns: number;
  readonly seed: number;
  /** fast-check's replay path of a previous failure. */
  readonly path?: string;
  readonly drivers?: Drivers;
  /** How a scenario's choices pick actions: taken modulo the enabled count, or PCT priorities. */
  readonly strategy?: Strategy;
  /** Called after each run (progress displays). */
  readonly onRun?: (runs: number, actions: number) => void;
}

export interface Failure {
  readonly seed: number;
  readonly path: string;
  readonly violation: Violation;
  readonly trace: Trace;
  /** `<code> at step N: ring r, request id i, ... — message` */
  readonly firstLine: string;
  readonly scenario: Scenario;
}

export interface PropertyOutcome {
  readonly name: string;
  readonly runs: number;
  /** Simulated actions over every run, shrinking included. */
  readonly actions: number;
  readonly timeMs: number;
  readonly failure: Failure | undefined;
  /** fast-check failed for a reason other than a violation (an exception: our bug). */
  readonly error: string | undefined;
}

export type Strategy = 'choices' | 'pct';

export function runScenario(
  def: PropertyDef,
  scenario: Scenario,
  drivers: Drivers,
  record: boolean,
  strategy: Strategy = 'choices',
): RunResult {
  const chooser =
    strategy === 'pct'
      ? new PctChooser(scenario.choices, def.stepsMax)
      : new ChoiceListChooser(scenario.choices);
  return runSchedule({
    config: scenario.config,
    drivers,
    chooser,
    stepsMax: def.stepsMax,
    drainStepsMax: def.drainStepsMax,
    record,
    ...(def.stepInvariants !== undefined ? { stepInvariants: def.stepInvariants } : {}),
    ...(def.quiescenceInvariants !== undefined
      ? { quiescenceInvariants: def.quiescenceInvariants }
      : {}),
  });
}

export function checkProperty(def: PropertyDef, options: CheckOptions): PropertyOutcome {
  const drivers = options.drivers ?? HONEST_DRIVERS;
  const started = performance.now();
  let actions = 0;
  let runs = 0;
  const property = fc.property(def.scenario, (scenario) => {
    const run = runScenario(def, scenario, drivers, false, options.strategy);
    actions += run.steps + run.drainSteps;
    runs += 1;
    options.onRun?.(runs, actions);
    return run.violation === undefined;
  });
  const details = fc.check(property, {
    numRuns: options.numRuns,
    seed: options.seed,
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  const timeMs = performance.now() - started;
  if (!details.failed)
    return { name: def.name, runs, actions, timeMs, failure: undefined, error: undefined };
  const scenario = details.counterexample?.[0];
  if (scenario === undefined) {
    return {
      name: def.name,
      runs,
      actions,
      timeMs,
      failure: undefined,
      error: String(details.errorInstance ?? 'fast-check failed'),
    };
  }
  const replay = runScenario(def, scenario, drivers, true, options.strategy);
  const violation = replay.violation;
  if (violation === undefined) {
    return {
      name: def.name,
      runs,
      actions,
      timeMs,
      failure: undefined,
      error: `the shrunk counterexample of ${def.name} did not fail again: the run is not deterministic`,
    };
  }
  const path = details.counterexamplePath ?? '';
  const trace = traceOf(replay, scenario.config, drivers.name, {
    property: def.name,
    seed: details.seed,
    path,
  });
  return {
    name: def.name,
    runs,
    actions,
    timeMs,
    error: undefined,
    failure: {
      seed: details.seed,
      path,
      violation,
      trace,
      firstLine: formatViolation(violation),
      scenario,
    },
  };
}
