// `blkif check`: runs properties through checkProperty (the same code `npm test` runs) with a
// seed printed first, a progress line, a summary table, a trace file for every failure and the
// exit codes of style rule 11. Campaigns split across machines with --shard and merge with
// --merge; see docs/cli.md.
import type { PropertyDef } from '../../properties/catalog.ts';
import type { CliCommand, CliIo, ExitCode } from '../command.ts';
import { type Chunk, parseShard, shardChunks, WHOLE } from '../check/shard.ts';
import {
  type CheckSummary,
  exitCodeOf,
  failuresText,
  mergeSummaries,
  parseSummary,
  summaryTable,
  tallyLine,
} from '../check/summary.ts';
import { parseReports, type ReportRequest, reportText } from '../check/reports.ts';
import { paintFor } from '../colour.ts';
import { parseTrace, type Trace } from '../../traces/schema.ts';
import { badValue, CliError } from '../errors.ts';
import { checkOutputs } from '../paths.ts';
import { intOption, type OptionValues, stringOption } from '../options.ts';
import { propertyNamed, type Registry } from '../registry.ts';
import { type CheckPlan, runPlan } from '../check/run-plan.ts';
import { readTextFile } from './load-trace.ts';
import { DRIVERS_OPTION, type SelectedDrivers, selectDrivers } from '../select-drivers.ts';

const INT32_MAX = 0x7fffffff;
const LIMIT_MAX = 10_000_000;
/** Runs per property under --duration without --runs: the time limit ends the campaign. */
const DURATION_RUNS = 1_000_000;
const DURATION_MS_MAX = 7 * 24 * 3600 * 1000;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `5m`, `1h`, `500ms`, or a bare number of seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  if (!Number.isFinite(ms) || ms < 1 || ms > DURATION_MS_MAX)
    throw badValue(
      'duration',
      `expected a time like 90s, 5m or 1h (at most 7 days), got "${text}"`,
    );
  return Math.round(ms);
}

function selectProperties(registry: Registry, options: OptionValues): readonly PropertyDef[] {
  const names = stringOption(options, 'property');
  if (names === undefined) return registry.properties;
  return names.split(',').map((raw) => {
    const name = raw.trim();
    const def = propertyNamed(registry, name);
    if (def === undefined) {
      const known = [...registry.properties, ...registry.extraProperties]
        .map((p) => p.name)
        .join(', ');
      throw badValue('property', `unknown property "${name}" (properties: ${known})`);
    }
    return def;
  });
}

/** Every option checked before the first run: a campaign never dies on a typo an hour in. */
function planOf(
  registry: Registry,
  options: OptionValues,
  io: CliIo,
  selected: SelectedDrivers,
): CheckPlan {
  const defs = selectProperties(registry, options);
  const runs = options.runs === undefined ? undefined : intOption(options, 'runs', 1, LIMIT_MAX, 1);
  const seed = intOption(
    options,
    'seed',
    -INT32_MAX - 1,
    INT32_MAX,
    Math.floor(io.now()) % INT32_MAX,
  );
  const strategy = stringOption(options, 'strategy') ?? 'choices';
  if (strategy !== 'choices' && strategy !== 'pct')
    throw badValue('strategy', `expected choices or pct, got "${strategy}"`);
  const path = stringOption(options, 'path');
  if (path !== undefined && !/^\d+(:\d+)*$/.test(path))
    throw badValue('path', `expected fast-check's path like 12:0:3, got "${path}"`);
  if (path !== undefined && defs.length !== 1)
    throw badValue('path', 'replays one failure: give exactly one --property');
  const shardText = stringOption(options, 'shard');
  const shard = shardText === undefined ? WHOLE : parseShard(shardText);
  if (path !== undefined && shard !== WHOLE)
    throw badValue('shard', 'cannot be combined with --path');
  const stepsMax =
    options['steps-max'] === undefined
      ? undefined
      : intOption(options, 'steps-max', 1, LIMIT_MAX, 1);
  const drainStepsMax =
    options['drain-steps-max'] === undefined
      ? undefined
      : intOption(options, 'drain-steps-max', 1, LIMIT_MAX, 1);
  const durationText = stringOption(options, 'duration');
  const durationMs = durationText === undefined ? undefined : parseDuration(durationText);
  if (durationMs !== undefined && path !== undefined)
    throw badValue('duration', 'cannot be combined with --path');
  const campaignRuns = (def: PropertyDef) =>
    runs ?? (durationMs === undefined ? def.defaultRuns : DURATION_RUNS);
  const properties = defs.map((def) => {
    const limited: PropertyDef = {
      ...def,
      ...(stepsMax === undefined ? {} : { stepsMax }),
      ...(drainStepsMax === undefined ? {} : { drainStepsMax }),
    };
    const chunks: Chunk[] =
      path !== undefined
        ? [{ seed, runs: runs ?? 1 }]
        : shardChunks(seed, campaignRuns(def), shard);
    return { def: limited, chunks };
  });
  const out = stringOption(options, 'out') ?? '.blkif/failures';
  const coverageOut = stringOption(options, 'coverage-out');
  checkOutputs(io, [
    { option: 'out', path: out, kind: 'dir' },
    { option: 'summary-out', path: stringOption(options, 'summary-out'), kind: 'file' },
    { option: 'coverage-out', path: coverageOut, kind: 'file' },
    ...reportOutputs(parseReports(stringOption(options, 'report'))),
  ]);
  return {
    properties,
    ...jobsOf(registry, options, io, { properties, selected, strategy, path }),
    drivers: selected.drivers,
    driversFile: selected.file,
    driversArg: selected.arg,
    seed,
    runs,
    shard,
    path,
    out,
    coverageOut,
    coverageReport: options.coverage === true,
    strategy,
    budgets: {
      stepsMax: stepsMax ?? 'default',
      drainStepsMax: drainStepsMax ?? 'default',
      durationMs: durationMs ?? 'none',
      bail: options.bail === true,
    },
  };
}

/** Most job runners --jobs takes (each is a thread with its own copy of the model). */
const JOBS_MAX = 64;

/**
 * --jobs (default: the cores), as many as there are chunks to share; one job when the io has no
 * runners, for a --path (one chunk), or a registry worker threads cannot load.
 */
function jobsOf(
  registry: Registry,
  options: OptionValues,
  io: CliIo,
  plan: Pick<CheckPlan, 'properties' | 'strategy' | 'path'> & { selected: SelectedDrivers },
): Pick<CheckPlan, 'jobs' | 'jobSetup'> {
  const asked = intOption(options, 'jobs', 1, JOBS_MAX, io.jobs?.cores ?? 1);
  const chunks = plan.properties.reduce((n, p) => n + p.chunks.length, 0);
  const { selected } = plan;
  const drivers =
    selected.file === undefined
      ? { kind: 'name' as const, name: selected.arg }
      : selected.bundle === undefined
        ? undefined
        : { kind: 'bundle' as const, path: selected.arg, code: selected.bundle };
  const jobSetup =
    registry.source === undefined || drivers === undefined
      ? undefined
      : {
          registry: registry.source,
          properties: plan.properties.map(({ def }) => ({
            name: def.name,
            stepsMax: def.stepsMax,
            drainStepsMax: def.drainStepsMax,
          })),
          drivers,
          strategy: plan.strategy,
        };
  const usable = io.jobs !== undefined && jobSetup !== undefined && plan.path === undefined;
  return { jobs: usable ? Math.max(1, Math.min(asked, chunks)) : 1, jobSetup };
}

/** `title a, b, c` wrapped at 100 columns under a hanging indent. */
function wrapList(title: string, list: string): string[] {
  const lines: string[] = [];
  let line = title;
  for (const word of list.split(' ')) {
    if (line.length + 1 + word.length > 100) {
      lines.push(line);
      line = `  ${word}`;
    } else line = `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

function reportOutputs(reports: readonly ReportRequest[]) {
  return reports.map((r) => ({ option: 'report', path: r.file, kind: 'file' as const }));
}

/** Reads the trace files a merged summary names (for the Markdown report's diagrams). */
function tracesOf(summary: CheckSummary, io: CliIo): Map<string, Trace> {
  const traces = new Map<string, Trace>();
  for (const f of summary.failures) {
    if (!io.exists(f.trace)) continue;
    try {
      traces.set(f.trace, parseTrace(io.readFile(f.trace)));
    } catch {
      // A trace that no longer parses gets no diagram; the report says the file is missing.
    }
  }
  return traces;
}

/** The closing tally line, then --summary-out and the --report files. */
function finish(
  summary: CheckSummary,
  traces: ReadonlyMap<string, Trace>,
  options: OptionValues,
  reports: readonly ReportRequest[],
  io: CliIo,
): ExitCode {
  // The tally first: a write that fails after it still leaves the campaign's verdict on screen.
  io.stdout(`\n${tallyLine(summary)}\n`);
  const out = stringOption(options, 'summary-out');
  if (out !== undefined) io.writeFile(out, `${JSON.stringify(summary, null, 1)}\n`);
  for (const r of reports) {
    io.writeFile(r.file, reportText(r.format, summary, traces));
    io.stderr(`wrote ${r.format} report ${r.file}\n`);
  }
  return exitCodeOf(summary);
}

function partialText(partial: NonNullable<CheckSummary['partial']>): string {
  const missing =
    partial.missing.length === 0 ? [] : [`shards ${partial.missing.join(', ')} missing`];
  const cut =
    partial.interrupted.length === 0
      ? []
      : [`shards ${partial.interrupted.join(', ')} interrupted`];
  return [...missing, ...cut].join(', ');
}

/**
 * A merge of fewer shards than the split, or of an interrupted one, is no verdict on the
 * campaign: refused, or with --partial marked so in the summary (and its JSON).
 */
function completeness(
  merged: CheckSummary,
  parts: readonly { file: string; summary: CheckSummary }[],
  partialOk: boolean,
): CheckSummary {
  const count = merged.shards[0]!.count;
  const have = new Set(merged.shards.map((s) => s.index));
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !have.has(i));
  // A partial summary's missing shards may be given now; its interrupted ones stay cut short.
  const interrupted = parts.flatMap(({ summary }) =>
    summary.interrupted === true
      ? summary.shards.map((s) => s.index)
      : (summary.partial?.interrupted ?? []),
  );
  const { interrupted: _, partial: __, ...rest } = merged;
  if (missing.length === 0 && interrupted.length === 0) return rest;
  const partial = { missing, interrupted };
  if (!partialOk) {
    throw new CliError(
      'incomplete-merge',
      `incomplete campaign: ${partialText(partial)} of ${count}; merge every shard, or pass --partial to merge what is here`,
    );
  }
  return { ...rest, partial };
}

function merge(
  positionals: readonly string[],
  options: OptionValues,
  reports: readonly ReportRequest[],
  io: CliIo,
): ExitCode {
  if (positionals.length === 0)
    throw new CliError('missing-argument', '--merge needs the summary files to merge');
  checkOutputs(io, [
    { option: 'summary-out', path: stringOption(options, 'summary-out'), kind: 'file' },
    ...reportOutputs(reports),
  ]);
  const parts = positionals.map((file) => ({
    file,
    summary: parseSummary(file, readTextFile(io, file)),
  }));
  const merged = completeness(mergeSummaries(parts), parts, options.partial === true);
  const count = merged.shards[0]!.count;
  const gaps = merged.partial === undefined ? '' : ` (partial: ${partialText(merged.partial)})`;
  io.stdout(
    `merged ${parts.length} summaries: seed ${merged.seed}, drivers ${merged.drivers}, ` +
      `strategy ${merged.strategy}, ` +
      `shards ${merged.shards.map((s) => s.index).join(',')} of ${count}${gaps}\n`,
  );
  io.stdout(summaryTable(merged, paintFor(io.colour)));
  if (merged.failures.length > 0) io.stdout(`\n${failuresText(merged)}`);
  return finish(merged, tracesOf(merged, io), options, reports, io);
}

export function createCheckCommand(registry: Registry): CliCommand {
  return {
    name: 'check',
    summary: 'run properties; print a summary table and write a trace for each failure',
    usage: '[--property p] [--runs N] [--seed N] [--drivers v] ... | --merge <summary>...',
    options: CHECK_OPTIONS,
    helpDetails: () => {
      const names = (defs: readonly PropertyDef[]) => defs.map((p) => p.name).join(', ');
      return [
        ...wrapList('properties:', names(registry.properties)),
        ...wrapList('by name only:', names(registry.extraProperties)),
        ...wrapList('driver variants:', registry.driverNames.join(', ')),
        '(blkif list says what each one is)',
      ];
    },
    async run({ positionals, options }, io) {
      const reports = parseReports(stringOption(options, 'report'));
      if (options.merge === true) return merge(positionals, options, reports, io);
      if (options.partial === true) throw badValue('partial', 'only with --merge');
      if (positionals.length > 0)
        throw new CliError('extra-argument', `unexpected argument "${positionals[0]}"`);
      const selected = await selectDrivers(registry, stringOption(options, 'drivers'), io);
      const plan = planOf(registry, options, io, selected);
      const { summary, traces, writeError } = await runPlan(plan, io);
      const exit = finish(summary, traces, options, reports, io);
      if (writeError !== undefined) throw writeError;
      return exit;
    },
  };
}

const CHECK_OPTIONS: CliCommand['options'] = [
  {
    name: 'property',
    kind: 'string',
    repeatable: true,
    placeholder: 'name[,name]',
    summary: 'properties to run (repeatable; default all)',
  },
  {
    name: 'runs',
    kind: 'number',
    placeholder: 'N',
    summary: "runs per property (default: each property's npm test budget)",
  },
  {
    name: 'seed',
    kind: 'number',
    placeholder: 'N',
    summary: 'campaign seed (default: from the clock, printed first)',
  },
  {
    name: 'path',
    kind: 'string',
    placeholder: 'path',
    summary: 'fast-check path of a failure to replay (with --seed, one --property)',
  },
  {
    name: 'strategy',
    kind: 'string',
    placeholder: 'choices|pct',
    summary:
      'how a schedule picks actions: its choices modulo the enabled count (default), or PCT priorities with change points',
  },
  DRIVERS_OPTION,
  {
    name: 'out',
    kind: 'string',
    placeholder: 'dir',
    summary: 'where failure traces go (default .blkif/failures)',
  },
  {
    name: 'steps-max',
    kind: 'number',
    placeholder: 'N',
    summary: 'bound on the scheduled phase of each run',
  },
  {
    name: 'drain-steps-max',
    kind: 'number',
    placeholder: 'N',
    summary: 'bound on the fair drain (exceeding it is a liveness violation)',
  },
  {
    name: 'jobs',
    kind: 'number',
    placeholder: 'N',
    summary:
      'run the chunks of the campaign in N worker threads (default: the number of cores); the results are the same for every N',
  },
  {
    name: 'shard',
    kind: 'string',
    placeholder: 'i/n',
    summary: 'run the i-th of n disjoint seed ranges of the campaign',
  },
  {
    name: 'summary-out',
    kind: 'string',
    placeholder: 'file',
    summary: 'write the summary as JSON (for --merge)',
  },
  {
    name: 'report',
    kind: 'string',
    repeatable: true,
    placeholder: 'junit=file|markdown=file',
    summary:
      'also write a JUnit XML report (one testcase per property) or a Markdown one for a pull-request comment (repeatable)',
  },
  {
    name: 'duration',
    kind: 'string',
    placeholder: 'time',
    summary:
      'time-box the campaign (90s, 5m, 1h): each property gets an equal share and reports the runs that fitted; without --runs it runs until then',
  },
  {
    name: 'bail',
    kind: 'boolean',
    summary: 'stop after the first failing property (the rest are reported as skipped)',
  },
  {
    name: 'merge',
    kind: 'boolean',
    summary: 'merge the summary files given as arguments and print the table',
  },
  {
    name: 'partial',
    kind: 'boolean',
    summary: 'with --merge: accept missing or interrupted shards (the summary says which)',
  },
  {
    name: 'coverage',
    kind: 'boolean',
    summary: 'print which named scenarios, action kinds, xenbus edges and states the runs reached',
  },
  {
    name: 'coverage-out',
    kind: 'string',
    placeholder: 'file',
    summary: 'also measure state-machine edge coverage (for blkif diagrams)',
  },
];
