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
import { shortenSchedule } from './shorten.ts';
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
  /**
   * Polled before each run: true ends the campaign there (an interrupt). A failure being shrunk
   * keeps the smallest counterexample reached so far, which its path still replays.
   */
  readonly stop?: () => boolean;
  /**
   * Shorten the counterexample's interleaving after fast-check's shrinking (shorten.ts): what
   * `blkif check` does. Off by default: the suites' verdicts do not need it, and it costs a
   * failing property up to a second or two.
   */
  readonly shorten?: boolean;
  /**
   * After the first failure, fast-check's shrinking ends once it has taken this many runs (what
   * `blkif check` does: SHRINK_RUNS_MAX); the smallest counterexample reached is kept, its path
   * replays it, and the shortener goes on from there. Runs, not time: a seed gives one result on
   * any machine. With a path, fast-check does not shrink at all: the path's counterexample is the
   * one reported, so a rerun reaches the trace its run printed. Absent: shrinking runs to its end.
   */
  readonly shrinkRunsMax?: number;
}

/**
 * `blkif check`'s shrinking budget. fast-check shrinks a scenario well at first and then slowly
 * (tens of thousands of runs on some known-bad variants, 40 s); the shortener does the rest in a
 * few hundred: with this budget every variant's trace came out as short as with 4,000 runs or
 * unbounded shrinking, four of them shorter, and the explore-ratios bench ran in 67 s (126 s with
 * 4,000 runs).
 */
export const SHRINK_RUNS_MAX = 1_000;

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
  /** `stop` ended the campaign early (with a failure: its shrinking was cut short). */
  readonly interrupted?: boolean;
  /** A replay `path` that leads to no failure under its seed (or to no run at all). */
  readonly pathMissed?: boolean;
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

/** Counts runs and actions and decides each run; shared by the sync and async checks. */
class Campaign {
  actions = 0;
  runs = 0;
  /** The run count at the first failure, where shrinking starts. */
  private failedAt: number | undefined;
  /** The shrinking budget ended the check (not an interrupt). */
  private shrinkCut = false;
  readonly started = performance.now();
  readonly drivers: Drivers;
  constructor(
    readonly def: PropertyDef,
    readonly options: CheckOptions,
  ) {
    this.drivers = options.drivers ?? HONEST_DRIVERS;
  }

  /** One run; at a stop request, fast-check ends the campaign (or its shrinking) right here. */
  run(scenario: Scenario): boolean {
    if (this.options.stop?.() === true) throw new fc.PreconditionFailure(true);
    const budget = this.options.shrinkRunsMax;
    if (
      budget !== undefined &&
      this.failedAt !== undefined &&
      this.runs - this.failedAt >= budget
    ) {
      this.shrinkCut = true;
      throw new fc.PreconditionFailure(true);
    }
    const run = runScenario(this.def, scenario, this.drivers, false, this.options.strategy);
    this.actions += run.steps + run.drainSteps;
    this.runs += 1;
    this.options.onRun?.(this.runs, this.actions);
    if (run.violation !== undefined) this.failedAt ??= this.runs;
    return run.violation === undefined;
  }

  parameters(): fc.Parameters<[Scenario]> {
    const { numRuns, seed, path, shrinkRunsMax } = this.options;
    // A path names a counterexample that shrinking may have stopped short of: kept as it is.
    const asNamed = path !== undefined && shrinkRunsMax !== undefined;
    return {
      numRuns,
      seed,
      ...(path !== undefined ? { path } : {}),
      ...(asNamed ? { endOnFailure: true } : {}),
    };
  }

  /** fast-check throws on a --path that its seed's runs do not contain. */
  pathError(error: unknown): PropertyOutcome {
    if (!(error instanceof Error) || !error.message.startsWith('Unable to replay')) throw error;
    return this.outcome({ failure: undefined, error: undefined, pathMissed: true });
  }

  outcome(
    result: Pick<PropertyOutcome, 'failure' | 'error'> &
      Partial<Pick<PropertyOutcome, 'interrupted' | 'pathMissed'>>,
  ): PropertyOutcome {
    const { name } = this.def;
    const timeMs = performance.now() - this.started;
    return { name, runs: this.runs, actions: this.actions, timeMs, ...result };
  }

  finish(details: fc.RunDetails<[Scenario]>): PropertyOutcome {
    const interrupted = details.interrupted && !this.shrinkCut ? { interrupted: true } : {};
    const scenario = details.counterexample?.[0];
    if (!details.failed || (details.interrupted && scenario === undefined)) {
      // A path names one run and its shrinks: that it passes is no pass of the property.
      const pathMissed = this.options.path !== undefined && !details.interrupted;
      return this.outcome({ failure: undefined, error: undefined, ...interrupted, pathMissed });
    }
    if (scenario === undefined)
      return this.outcome({
        failure: undefined,
        error: String(details.errorInstance ?? 'fast-check failed'),
      });
    return { ...this.failure(details, scenario), ...interrupted };
  }

  /**
   * fast-check's counterexample with its interleaving shortened (shorten.ts), unless shortening
   * is turned off; the shortened run is kept only when it breaks the same invariant again,
   * recorded. Under either strategy: the shortener starts from the failing run's actions, and
   * its scenario's choices are indices into enabled() (a PCT counterexample's were priorities),
   * replayed as such; the trace holds the actions, which is what replay and render read.
   */
  private shortened(shrunk: Scenario, first: RunResult): { scenario: Scenario; replay: RunResult } {
    const code = first.violation!.code;
    const { shorten, stop } = this.options;
    // An interrupted campaign reports what it has at once.
    if (shorten !== true || stop?.() === true) return { scenario: shrunk, replay: first };
    const actions = first.records.map((r) => r.action);
    const { scenario, runs } = shortenSchedule(this.def, shrunk, this.drivers, actions, code);
    this.runs += runs;
    if (scenario === shrunk) return { scenario: shrunk, replay: first };
    const replay = runScenario(this.def, scenario, this.drivers, true);
    if (replay.violation?.code !== code) return { scenario: shrunk, replay: first };
    return { scenario, replay };
  }

  private failure(details: fc.RunDetails<[Scenario]>, shrunk: Scenario): PropertyOutcome {
    const { def, drivers } = this;
    const first = runScenario(def, shrunk, drivers, true, this.options.strategy);
    if (first.violation === undefined) {
      return this.outcome({
        failure: undefined,
        error: `the shrunk counterexample of ${def.name} did not fail again: the run is not deterministic`,
      });
    }
    const { scenario, replay } = this.shortened(shrunk, first);
    const violation = replay.violation!;
    const path = details.counterexamplePath ?? '';
    const trace = traceOf(replay, scenario.config, drivers.name, {
      property: def.name,
      seed: details.seed,
      path,
    });
    const firstLine = formatViolation(violation);
    return this.outcome({
      error: undefined,
      failure: { seed: details.seed, path, violation, trace, firstLine, scenario },
    });
  }
}

export function checkProperty(def: PropertyDef, options: CheckOptions): PropertyOutcome {
  const campaign = new Campaign(def, options);
  const property = fc.property(def.scenario, (scenario) => campaign.run(scenario));
  try {
    return campaign.finish(fc.check(property, campaign.parameters()));
  } catch (error) {
    return campaign.pathError(error);
  }
}

/**
 * checkProperty giving the event loop a turn whenever `pause` returns a promise, so a signal
 * handler can ask `stop` to end the campaign at the next run boundary (the CLI's Ctrl-C).
 */
export async function checkPropertyAsync(
  def: PropertyDef,
  options: CheckOptions & { readonly pause: () => Promise<void> | undefined },
): Promise<PropertyOutcome> {
  const campaign = new Campaign(def, options);
  const property = fc.asyncProperty(def.scenario, async (scenario) => {
    const pause = options.pause();
    if (pause !== undefined) await pause;
    return campaign.run(scenario);
  });
  try {
    return campaign.finish(await fc.check(property, campaign.parameters()));
  } catch (error) {
    return campaign.pathError(error);
  }
}
