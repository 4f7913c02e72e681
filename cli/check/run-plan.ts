// Running a checked plan: every property's chunks in order until its first failure, the
// properties interleaved run by run (turns.ts), the progress line, the failure report (style
// rule 10: the violation line, then seed, path and the replay command), the trace file (one per
// distinct violation, findings.ts), the table, the coverage pass when asked for. --bail stops at
// the first failure reported; --duration ends every property at once and says how many runs fitted.
import type { Drivers } from '../../impl/world/drivers.ts';
import {
  checkPropertyAsync,
  type PropertyDef,
  type PropertyOutcome,
  SHRINK_RUNS_MAX,
  type Strategy,
} from '../../properties/catalog.ts';
import { LIVENESS_CODES } from '../../properties/invariants/violation.ts';
import { coverageJson, EdgeCounter } from '../../traces/coverage.ts';
import type { Trace } from '../../traces/schema.ts';
import type { DriversFile } from '../../properties/counterexample.ts';
import type { CliIo, Interrupts } from '../command.ts';
import { badValue, CliError } from '../errors.ts';
import {
  formatCoverage,
  measureCoverage as measureScenarioCoverage,
} from '../../properties/coverage.ts';
import { type Paint, paintFor } from '../colour.ts';
import { BLKIF_VERSION } from '../version.ts';
import { Findings } from './findings.ts';
import type { JobSetup } from './jobs.ts';
import { ParallelRun } from './parallel.ts';
import { Progress } from './progress.ts';
import { Turns } from './turns.ts';
import type { Chunk, Shard } from './shard.ts';
import {
  type CampaignBudgets,
  type CheckSummary,
  failuresText,
  type PropertySummary,
  SUMMARY_VERSION,
  summaryTable,
} from './summary.ts';

export interface CheckPlan {
  readonly properties: readonly { readonly def: PropertyDef; readonly chunks: readonly Chunk[] }[];
  readonly drivers: Drivers;
  /** Set when the variant came from a user's file: recorded in every trace. */
  readonly driversFile: DriversFile | undefined;
  /** The --drivers value that names this variant again in a printed command. */
  readonly driversArg: string;
  readonly seed: number;
  readonly runs: number | undefined;
  readonly shard: Shard;
  readonly path: string | undefined;
  readonly out: string;
  readonly coverageOut: string | undefined;
  /** Print the coverage report: named scenarios, action kinds, xenbus edges, machine states. */
  readonly coverageReport: boolean;
  readonly strategy: Strategy;
  readonly budgets: CampaignBudgets;
  /** Job runners (--jobs); 1 runs every chunk in this thread. */
  readonly jobs: number;
  /** How worker threads rebuild this plan (absent: the registry cannot be loaded by name). */
  readonly jobSetup: JobSetup | undefined;
}

export interface PlanResult {
  readonly summary: CheckSummary;
  /** The kept trace of each failure, by file. */
  readonly traces: ReadonlyMap<string, Trace>;
  /** The first failure trace that could not be written (reported once the rest is done). */
  readonly writeError?: CliError;
}

function rerunFlags(plan: CheckPlan): string {
  return (
    (plan.drivers.name === 'honest' ? '' : ` --drivers ${plan.driversArg}`) +
    (plan.strategy === 'choices' ? '' : ` --strategy ${plan.strategy}`)
  );
}

function pathMissed(plan: CheckPlan, def: PropertyDef): CliError {
  const drivers = plan.drivers.name === 'honest' ? '' : ` --drivers ${plan.drivers.name}`;
  return badValue(
    'path',
    `${plan.path} with --seed ${plan.seed} leads to no failure of ${def.name}${drivers}: ` +
      'give the seed, path and options of one FAIL report of this blkif version',
  );
}

/** What a property's chunks did together (one job or several: parallel.ts). */
export interface Ran {
  readonly runs: number;
  readonly actions: number;
  /** The outcome of its failing chunk, else of its last. */
  readonly outcome: PropertyOutcome | undefined;
  readonly timeLimited: boolean;
  /** A signal cut its runs short. */
  readonly interrupted: boolean;
  /** The failure's shrinking was cut short (a signal, or its share of --duration). */
  readonly shrinkCut: boolean;
}

/** What every property's task shares in one job. */
interface RunContext {
  readonly io: CliIo;
  readonly progress: Progress;
  readonly interrupts: Interrupts;
  readonly turns: Turns;
  /** Date.now at which --duration ends every property's runs. */
  readonly deadline: number | undefined;
  /** --bail: a property has failed, the others stop at their next run. */
  bailed: boolean;
  /** Runs and actions of every property so far, for the progress line. */
  readonly done: {
    runs: number;
    actions: number;
    readonly total: number;
    readonly started: number;
  };
}

/**
 * Property `index`'s chunks in order, taking turns with the other properties before each run
 * (turns.ts). A signal, --bail or the end of --duration stops it at the next run boundary (through
 * fast-check's `stop`; only a signal is an interrupt). Ends holding the turn, its actions counted.
 */
async function runChunks(
  plan: CheckPlan,
  index: number,
  context: RunContext,
  clock: { spentMs: number; resumed: number; owed: number },
): Promise<Ran> {
  const { io, progress, interrupts, deadline, done } = context;
  const { def, chunks } = plan.properties[index]!;
  let timeUp = false;
  let signalled = false;
  const stop = () => {
    signalled = signalled || interrupts.requested();
    timeUp = timeUp || (!signalled && deadline !== undefined && io.now() >= deadline);
    return signalled || timeUp || context.bailed;
  };
  let runs = 0;
  let actions = 0;
  let outcome: PropertyOutcome | undefined;
  const label =
    plan.properties.length === 1 ? def.name : `${plan.properties.length} properties, interleaved`;
  for (const chunk of chunks) {
    timeUp = timeUp || (deadline !== undefined && io.now() >= deadline);
    if (timeUp || context.bailed) break;
    let seen = 0;
    outcome = await checkPropertyAsync(def, {
      numRuns: chunk.runs,
      seed: chunk.seed,
      drivers: plan.drivers,
      strategy: plan.strategy,
      shorten: true,
      shrinkRunsMax: SHRINK_RUNS_MAX,
      ...(plan.path === undefined ? {} : { path: plan.path }),
      onRun: (_, a) => {
        clock.owed += a - seen;
        done.actions += a - seen;
        done.runs += 1;
        seen = a;
        progress.update(label, done.runs, done.total, done.actions, done.started);
      },
      stop,
      pause: () => pass(index, context, clock),
    });
    runs += outcome.runs;
    actions += outcome.actions;
    if (outcome.failure !== undefined || outcome.error !== undefined || outcome.interrupted) break;
  }
  // The time limit is not an interrupt: the campaign goes on with the next property.
  const interrupted = outcome?.interrupted === true && signalled;
  const timeLimited = timeUp && !signalled;
  return {
    runs,
    actions,
    outcome,
    timeLimited,
    interrupted,
    shrinkCut: interrupted || timeLimited,
  };
}

/** Gives up the turn (its actions since the last one counted), then the event loop a turn. */
async function pass(
  index: number,
  context: RunContext,
  clock: { spentMs: number; resumed: number; owed: number },
): Promise<void> {
  const { io, turns, interrupts } = context;
  clock.spentMs += io.now() - clock.resumed;
  const owed = clock.owed;
  clock.owed = 0;
  await turns.pass(index, owed);
  clock.resumed = io.now();
  const paused = interrupts.pause();
  if (paused !== undefined) await paused;
}

/** One property's task in one job: its runs, then its row once its turn to finish comes. */
async function runProperty(
  plan: CheckPlan,
  index: number,
  context: RunContext,
  findings: Findings,
): Promise<PropertySummary> {
  const { io, progress, turns } = context;
  const { def } = plan.properties[index]!;
  await turns.first(index);
  const clock = { spentMs: 0, resumed: io.now(), owed: 0 };
  try {
    const ran = await runChunks(plan, index, context, clock);
    // It finishes in turn, after its last run's actions: the rows come in report-order.ts's order.
    await pass(index, context, clock);
    progress.clear();
    if (context.bailed)
      return { name: def.name, runs: 0, actions: 0, timeMs: 0, result: 'skipped' };
    const row = propertySummary(plan, def, ran, clock.spentMs, { io, findings });
    context.bailed = plan.budgets.bail && row.result !== 'pass';
    return row;
  } finally {
    turns.done(index);
  }
}

/** A property's row of the summary; its failure is reported (printed, its trace written). */
export function propertySummary(
  plan: CheckPlan,
  def: PropertyDef,
  ran: Ran,
  timeMs: number,
  { io, findings }: { readonly io: CliIo; readonly findings: Findings },
): PropertySummary {
  const outcome = ran.outcome;
  if (outcome?.pathMissed === true) throw pathMissed(plan, def);
  const base = {
    name: def.name,
    runs: ran.runs,
    actions: ran.actions,
    timeMs,
    ...(ran.timeLimited ? { timeLimited: true } : {}),
    ...(ran.interrupted ? { interrupted: true as const } : {}),
  };
  if (outcome?.error !== undefined) {
    io.stdout(`ERROR ${def.name}: ${outcome.error}\n`);
    return { ...base, result: 'error', firstLine: outcome.error };
  }
  const failure = outcome?.failure;
  if (failure === undefined) return { ...base, result: 'pass' };
  const recorded =
    plan.driversFile === undefined
      ? failure
      : { ...failure, trace: { ...failure.trace, driversFile: plan.driversFile } };
  const id = findings.add(def, recorded, ran.shrinkCut);
  const result = LIVENESS_CODES.has(failure.violation.code) ? 'liveness' : 'safety';
  return {
    ...base,
    result,
    firstLine: failure.firstLine,
    seed: failure.seed,
    path: failure.path,
    failure: id,
  };
}

/** Prints the edge coverage, then writes it: a failed write is returned, the campaign goes on. */
function measureCoverage(plan: CheckPlan, io: CliIo, file: string): CliError | undefined {
  const counter = new EdgeCounter();
  for (const { def, chunks } of plan.properties) {
    for (const chunk of chunks) counter.addProperty(def, chunk.seed, chunk.runs, plan.drivers);
  }
  let lost: CliError | undefined;
  try {
    io.writeFile(file, coverageJson(counter));
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    lost = error;
  }
  const c = counter.summary();
  const where =
    lost === undefined
      ? `written to ${file} (npx blkif diagrams --coverage ${file})`
      : `${file} not written (below)`;
  io.stdout(
    `coverage: ${c.runs} runs, frontend ${c.frontend.taken}/${c.frontend.total} edges taken, ` +
      `backend ${c.backend.taken}/${c.backend.total}; ${where}\n`,
  );
  return lost;
}

function headerLine(plan: CheckPlan): string {
  const shard = plan.shard.count > 1 ? `, shard ${plan.shard.index}/${plan.shard.count}` : '';
  const strategy = plan.strategy === 'choices' ? '' : `, strategy ${plan.strategy}`;
  const duration =
    plan.budgets.durationMs === 'none' ? '' : `, duration ${plan.budgets.durationMs / 1000}s`;
  const file = plan.driversFile === undefined ? '' : ` (${plan.driversFile.path})`;
  const n = plan.properties.length;
  return (
    `blkif check: seed ${plan.seed}, drivers ${plan.drivers.name}${file}${strategy}, ` +
    `${n} ${n === 1 ? 'property' : 'properties'}${shard}${duration}\n`
  );
}

/**
 * Runs every property at once, interleaved run by run (turns.ts); rows in plan order. Under
 * --bail the properties that had not finished when the first failure was written are skipped.
 */
async function runAll(
  plan: CheckPlan,
  io: CliIo,
  findings: Findings,
  interrupts: Interrupts,
): Promise<PropertySummary[]> {
  const { durationMs } = plan.budgets;
  const started = io.now();
  const total = plan.properties.reduce((n, p) => n + p.chunks.reduce((m, c) => m + c.runs, 0), 0);
  const context: RunContext = {
    io,
    progress: new Progress(io),
    interrupts,
    turns: new Turns(plan.properties.length),
    deadline: durationMs === 'none' ? undefined : started + durationMs,
    bailed: false,
    done: { runs: 0, actions: 0, total, started },
  };
  const tasks = plan.properties.map((_, i) => runProperty(plan, i, context, findings));
  context.turns.start();
  return Promise.all(tasks);
}

/** Runs the plan's properties in order; an interrupt ends it at the next run boundary. */
export async function runPlan(plan: CheckPlan, io: CliIo): Promise<PlanResult> {
  const interrupts = io.trapInterrupts();
  try {
    return await runTrapped(plan, io, interrupts);
  } finally {
    interrupts.release();
  }
}

async function runTrapped(plan: CheckPlan, io: CliIo, interrupts: Interrupts): Promise<PlanResult> {
  io.stdout(headerLine(plan));
  const paint: Paint = paintFor(io.colour);
  const findings = new Findings({
    out: plan.out,
    driversName: plan.drivers.name,
    rerunFlags: rerunFlags(plan),
    io,
    paint,
  });
  const properties =
    plan.jobs > 1 && io.jobs !== undefined && plan.jobSetup !== undefined
      ? await runJobs(plan, io, findings, interrupts)
      : await runAll(plan, io, findings, interrupts);
  const interrupted = properties.some((p) => p.interrupted === true);
  const summary: CheckSummary = {
    kind: 'blkif-check-summary',
    version: SUMMARY_VERSION,
    blkif: BLKIF_VERSION,
    seed: plan.seed,
    runs: plan.runs ?? 'default',
    strategy: plan.strategy,
    drivers: plan.drivers.name,
    budgets: plan.budgets,
    shards: [plan.shard],
    properties,
    failures: findings.summaries(),
    ...(interrupted ? { interrupted: true } : {}),
  };
  if (interrupted) {
    const runs = properties.reduce((n, p) => n + p.runs, 0);
    io.stdout(`\ninterrupted after ${runs} runs: the summary so far\n`);
  }
  io.stdout(`\n${summaryTable(summary, paint)}`);
  // The list of distinct violations only says more than the table when several properties failed.
  const failing = properties.filter((p) => p.failure !== undefined).length;
  if (failing > 1) io.stdout(`\n${failuresText(summary)}`);
  const lostCoverage = interrupted ? undefined : measureAfterwards(plan, io);
  const writeError = findings.writeError() ?? lostCoverage;
  return {
    summary,
    traces: findings.traces(),
    ...(writeError === undefined ? {} : { writeError }),
  };
}

async function runJobs(
  plan: CheckPlan,
  io: CliIo,
  findings: Findings,
  interrupts: Interrupts,
): Promise<PropertySummary[]> {
  const local = {
    defs: plan.properties.map((p) => p.def),
    drivers: plan.drivers,
    strategy: plan.strategy,
  };
  const pool = await io.jobs!.start(plan.jobSetup!, local, plan.jobs);
  try {
    return await new ParallelRun(plan, pool, io, findings).run(interrupts);
  } finally {
    await pool.close();
  }
}

function measureAfterwards(plan: CheckPlan, io: CliIo): CliError | undefined {
  const lost =
    plan.coverageOut === undefined ? undefined : measureCoverage(plan, io, plan.coverageOut);
  if (plan.coverageReport) {
    // Re-draws the same scenarios with probes on, so a green run that never reached the
    // interesting states shows it.
    const defs = plan.properties.map((p) => p.def);
    const report = measureScenarioCoverage(defs, {
      seed: plan.seed,
      drivers: plan.drivers,
      ...(plan.runs !== undefined ? { runs: plan.runs } : {}),
    });
    io.stdout(`\n${formatCoverage(report)}\n`);
  }
  return lost;
}
