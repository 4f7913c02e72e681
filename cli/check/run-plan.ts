// Running a checked plan: each property's chunks in order until the first failure, the progress
// line, the failure report (style rule 10: the violation line, then seed, path and the replay
// command), the trace file, the table, and the coverage pass when asked for.
import type { Drivers } from '../../impl/world/drivers.ts';
import {
  checkPropertyAsync,
  type Failure,
  type PropertyDef,
  type PropertyOutcome,
  type Strategy,
} from '../../properties/catalog.ts';
import { traceJson } from '../../properties/counterexample.ts';
import { LIVENESS_CODES } from '../../properties/invariants/violation.ts';
import { coverageJson, EdgeCounter } from '../../traces/coverage.ts';
import type { CliIo, Interrupts } from '../command.ts';
import { badValue, type CliError } from '../errors.ts';
import {
  formatCoverage,
  measureCoverage as measureScenarioCoverage,
} from '../../properties/coverage.ts';
import { Progress } from './progress.ts';
import type { Chunk, Shard } from './shard.ts';
import type { CheckSummary, PropertySummary } from './summary.ts';
import { summaryTable } from './summary.ts';

export interface CheckPlan {
  readonly properties: readonly { readonly def: PropertyDef; readonly chunks: readonly Chunk[] }[];
  readonly drivers: Drivers;
  readonly seed: number;
  readonly runs: number | undefined;
  readonly shard: Shard;
  readonly path: string | undefined;
  readonly out: string;
  readonly coverageOut: string | undefined;
  /** Print the coverage report: named scenarios, action kinds, xenbus edges, machine states. */
  readonly coverageReport: boolean;
  readonly strategy: Strategy;
}

function traceFile(plan: CheckPlan, name: string, failure: Failure): string {
  const variant = plan.drivers.name === 'honest' ? '' : `-${plan.drivers.name}`;
  return `${plan.out.replace(/\/+$/, '')}/${name}${variant}-${failure.seed}.json`;
}

/** Style rule 10: the violation, seed, path and rerun reach the terminal before any write. */
function reportFailure(
  plan: CheckPlan,
  def: PropertyDef,
  failure: Failure,
  io: CliIo,
  shrinkCut: boolean,
): string {
  const file = traceFile(plan, def.name, failure);
  const drivers =
    (plan.drivers.name === 'honest' ? '' : ` --drivers ${plan.drivers.name}`) +
    (plan.strategy === 'choices' ? '' : ` --strategy ${plan.strategy}`);
  const cut = shrinkCut ? ' (interrupted while shrinking: the smallest counterexample so far)' : '';
  io.stdout(`FAIL ${def.name}${cut}\n  ${failure.firstLine}\n`);
  io.stdout(`  seed ${failure.seed}, path ${failure.path}: npx blkif replay ${file}\n`);
  io.stdout(
    `  rerun: npx blkif check --property ${def.name} --seed ${failure.seed} --path ${failure.path}${drivers}\n`,
  );
  io.mkdir(plan.out);
  io.writeFile(file, traceJson(failure.trace));
  return file;
}

function pathMissed(plan: CheckPlan, def: PropertyDef): CliError {
  const drivers = plan.drivers.name === 'honest' ? '' : ` --drivers ${plan.drivers.name}`;
  return badValue(
    'path',
    `${plan.path} with --seed ${plan.seed} leads to no failure of ${def.name}${drivers}: ` +
      'give the seed, path and options of one FAIL report of this blkif version',
  );
}

async function runChunks(
  plan: CheckPlan,
  def: PropertyDef,
  chunks: readonly Chunk[],
  context: { progress: Progress; interrupts: Interrupts; started: number },
): Promise<{ runs: number; actions: number; outcome: PropertyOutcome | undefined }> {
  const { progress, interrupts, started } = context;
  const total = chunks.reduce((n, c) => n + c.runs, 0);
  let runs = 0;
  let actions = 0;
  let outcome: PropertyOutcome | undefined;
  for (const chunk of chunks) {
    const before = { runs, actions };
    outcome = await checkPropertyAsync(def, {
      numRuns: chunk.runs,
      seed: chunk.seed,
      drivers: plan.drivers,
      strategy: plan.strategy,
      ...(plan.path === undefined ? {} : { path: plan.path }),
      onRun: (r, a) =>
        progress.update(def.name, before.runs + r, total, before.actions + a, started),
      stop: () => interrupts.requested(),
      pause: () => interrupts.pause(),
    });
    runs += outcome.runs;
    actions += outcome.actions;
    if (outcome.failure !== undefined || outcome.error !== undefined || outcome.interrupted) break;
  }
  return { runs, actions, outcome };
}

async function runProperty(
  plan: CheckPlan,
  def: PropertyDef,
  chunks: readonly Chunk[],
  io: CliIo,
  context: { progress: Progress; interrupts: Interrupts },
): Promise<PropertySummary> {
  const started = io.now();
  const { runs, actions, outcome } = await runChunks(plan, def, chunks, { ...context, started });
  context.progress.clear();
  if (outcome?.pathMissed === true) throw pathMissed(plan, def);
  const interrupted = outcome?.interrupted === true ? { interrupted: true as const } : {};
  const base = { name: def.name, runs, actions, timeMs: io.now() - started, ...interrupted };
  if (outcome?.error !== undefined) {
    io.stdout(`ERROR ${def.name}: ${outcome.error}\n`);
    return { ...base, result: 'error', firstLine: outcome.error };
  }
  const failure = outcome?.failure;
  if (failure === undefined) return { ...base, result: 'pass' };
  const trace = reportFailure(plan, def, failure, io, outcome?.interrupted === true);
  const result = LIVENESS_CODES.has(failure.violation.code) ? 'liveness' : 'safety';
  return {
    ...base,
    result,
    firstLine: failure.firstLine,
    seed: failure.seed,
    path: failure.path,
    trace,
  };
}

function measureCoverage(plan: CheckPlan, io: CliIo, file: string): void {
  const counter = new EdgeCounter();
  for (const { def, chunks } of plan.properties) {
    for (const chunk of chunks) counter.addProperty(def, chunk.seed, chunk.runs, plan.drivers);
  }
  io.writeFile(file, coverageJson(counter));
  const c = counter.summary();
  io.stdout(
    `coverage: ${c.runs} runs, frontend ${c.frontend.taken}/${c.frontend.total} edges taken, ` +
      `backend ${c.backend.taken}/${c.backend.total}; written to ${file} (npx blkif diagrams --coverage ${file})\n`,
  );
}

/** Runs the plan's properties in order; an interrupt ends it at the next run boundary. */
export async function runPlan(plan: CheckPlan, io: CliIo): Promise<CheckSummary> {
  const interrupts = io.trapInterrupts();
  try {
    return await runTrapped(plan, io, interrupts);
  } finally {
    interrupts.release();
  }
}

async function runTrapped(
  plan: CheckPlan,
  io: CliIo,
  interrupts: Interrupts,
): Promise<CheckSummary> {
  const shard = plan.shard.count > 1 ? `, shard ${plan.shard.index}/${plan.shard.count}` : '';
  io.stdout(
    `blkif check: seed ${plan.seed}, drivers ${plan.drivers.name}, ` +
      `${plan.properties.length} ${plan.properties.length === 1 ? 'property' : 'properties'}${shard}\n`,
  );
  const context = { progress: new Progress(io), interrupts };
  const properties: PropertySummary[] = [];
  for (const { def, chunks } of plan.properties) {
    const summary = await runProperty(plan, def, chunks, io, context);
    properties.push(summary);
    if (summary.interrupted === true) break;
  }
  const interrupted = properties.some((p) => p.interrupted === true);
  const summary: CheckSummary = {
    kind: 'blkif-check-summary',
    version: 1,
    seed: plan.seed,
    runs: plan.runs ?? 'default',
    drivers: plan.drivers.name,
    shards: [plan.shard],
    properties,
    ...(interrupted ? { interrupted: true } : {}),
  };
  if (interrupted) {
    const runs = properties.reduce((n, p) => n + p.runs, 0);
    io.stdout(`\ninterrupted after ${runs} runs: the summary so far\n`);
  }
  io.stdout(`\n${summaryTable(summary)}`);
  if (!interrupted) measureAfterwards(plan, io);
  return summary;
}

function measureAfterwards(plan: CheckPlan, io: CliIo): void {
  if (plan.coverageOut !== undefined) measureCoverage(plan, io, plan.coverageOut);
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
}
