// The result of one `blkif check` (or one shard of it) as data: printed as the summary table,
// written with --summary-out, merged with `blkif check --merge a.json b.json ...` when a campaign
// ran as shards on several machines, and turned into JUnit and Markdown reports. It records what
// makes two shards parts of one campaign (blkif version, seed, runs, strategy, drivers, budgets),
// so a merge of shards of different campaigns is refused rather than silently combined.
import { EXIT, type ExitCode } from '../command.ts';
import { CliError } from '../errors.ts';
import { isShard, type Shard } from './shard.ts';

export type PropertyResult = 'pass' | 'safety' | 'liveness' | 'error' | 'skipped';

export const SUMMARY_VERSION = 2;

export interface PropertySummary {
  readonly name: string;
  readonly runs: number;
  readonly actions: number;
  readonly timeMs: number;
  readonly result: PropertyResult;
  /** `<code> at step N: ... — message`, or the error, when the result is not pass. */
  readonly firstLine?: string;
  readonly seed?: number;
  readonly path?: string;
  /** A signal ended this property's runs early. */
  readonly interrupted?: true;
  /** The id of its entry in `failures` (one entry per distinct violation). */
  readonly failure?: number;
  /** --duration ran out before the property's runs were done (`runs` says how many ran). */
  readonly timeLimited?: boolean;
}

/** One distinct violation: same code at the same place, whichever properties found it. */
export interface FailureSummary {
  readonly id: number;
  /** The violation's code and first line with its numbers set aside (see findings.ts). */
  readonly signature: string;
  readonly code: string;
  readonly result: 'safety' | 'liveness';
  /** The first line of the shortest counterexample. */
  readonly firstLine: string;
  /** Every property that found it, in report order. */
  readonly properties: readonly string[];
  /** The property, seed and path of the shortest counterexample, whose trace is kept. */
  readonly property: string;
  readonly seed: number;
  readonly path: string;
  readonly steps: number;
  /** The trace file, and the command that replays it. */
  readonly trace: string;
}

/** What has to agree for two summaries to be shards of one campaign. */
export interface CampaignBudgets {
  /** Overrides of each property's bounds; 'default' when not given. */
  readonly stepsMax: number | 'default';
  readonly drainStepsMax: number | 'default';
  /** --duration in milliseconds, per shard; 'none' when not given. */
  readonly durationMs: number | 'none';
  readonly bail: boolean;
}

export interface CheckSummary {
  readonly kind: 'blkif-check-summary';
  readonly version: typeof SUMMARY_VERSION;
  /** The blkif-model version that ran it (package.json). */
  readonly blkif: string;
  readonly seed: number;
  /** Runs per property of the whole campaign (every shard together). */
  readonly runs: number | 'default';
  readonly strategy: string;
  readonly drivers: string;
  readonly budgets: CampaignBudgets;
  readonly shards: readonly Shard[];
  readonly properties: readonly PropertySummary[];
  readonly failures: readonly FailureSummary[];
  /** A signal ended the campaign early: its runs are fewer than asked. */
  readonly interrupted?: true;
  /** A `--merge --partial` of fewer shards than the split, or of interrupted ones. */
  readonly partial?: {
    readonly missing: readonly number[];
    readonly interrupted: readonly number[];
  };
}

const RANK: Record<PropertyResult, number> = {
  skipped: -1,
  pass: 0,
  error: 1,
  liveness: 2,
  safety: 3,
};

/** Safety first, then liveness, then our own errors (style rule 11's exit codes). */
export function exitCodeOf(summary: CheckSummary): ExitCode {
  if (summary.interrupted === true) return EXIT.interrupted;
  const results = new Set(summary.properties.map((p) => p.result));
  if (results.has('safety')) return EXIT.safety;
  if (results.has('liveness')) return EXIT.liveness;
  if (results.has('error')) return EXIT.internal;
  return EXIT.pass;
}

/**
 * `9 passed, 0 failed` (`, 2 skipped` after --bail or an interrupt): the closing line CI runners
 * read. A property a signal cut short without a failure did not pass: it counts as skipped.
 */
export function tallyLine(summary: CheckSummary): string {
  const cut = (p: PropertySummary) =>
    p.result === 'skipped' || (p.result === 'pass' && p.interrupted === true);
  const count = (ok: (p: PropertySummary) => boolean) => summary.properties.filter(ok).length;
  const skipped = count(cut);
  const passed = count((p) => p.result === 'pass' && !cut(p));
  const tally = `${passed} passed, ${count((p) => p.result !== 'pass' && p.result !== 'skipped')} failed`;
  return skipped > 0 ? `${tally}, ${skipped} skipped` : tally;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${(ms / 1000).toFixed(0)}s`;
}

export const RESULT_TEXT: Record<PropertyResult, string> = {
  pass: 'pass',
  safety: 'FAIL (safety)',
  liveness: 'FAIL (liveness)',
  error: 'ERROR',
  skipped: 'not run (--bail)',
};

/** The result cell: `pass, time limit` when --duration cut the runs short; `#n` names the failure. */
export function resultText(p: PropertySummary, withId = true): string {
  if (p.interrupted === true && p.result === 'pass') return 'interrupted';
  const limited = p.timeLimited === true && p.result === 'pass' ? ', time limit' : '';
  const failure = p.failure === undefined || !withId ? '' : ` #${p.failure}`;
  return `${RESULT_TEXT[p.result]}${limited}${failure}`;
}

/** The table; `paint` colours a result cell (identity off a terminal). */
export function summaryTable(
  summary: CheckSummary,
  paint: (text: string, result: PropertyResult) => string = (t) => t,
): string {
  const rows = [['property', 'runs', 'actions', 'time', 'result']];
  // Failure ids tell apart the violations of several failing properties; alone, they are noise.
  const withId = summary.properties.filter((p) => p.failure !== undefined).length > 1;
  for (const p of summary.properties) {
    rows.push([
      p.name,
      String(p.runs),
      p.actions.toLocaleString('en-US'),
      seconds(p.timeMs),
      resultText(p, withId),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[], i: number) => {
    const cells = r.map((cell, c) =>
      c === 0 || c === 4 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!),
    );
    const text = cells.join('  ').trimEnd();
    const p = summary.properties[i - 1];
    if (p === undefined) return text;
    // Colour only the result cell, after padding, so the columns stay aligned.
    const start = text.length - r[4]!.length;
    return text.slice(0, start) + paint(r[4]!, p.result);
  };
  return `${rows.map(line).join('\n')}\n`;
}

/** The distinct violations, each with the properties that found it and its one trace. */
export function failuresText(summary: CheckSummary): string {
  if (summary.failures.length === 0) return '';
  const n = summary.failures.length;
  const lines = [`${n} distinct ${n === 1 ? 'violation' : 'violations'}:`];
  for (const f of summary.failures) {
    lines.push(`  #${f.id} ${f.firstLine}`);
    lines.push(`     found by ${f.properties.join(', ')}`);
    lines.push(`     shortest (${f.steps} steps, ${f.property}): npx blkif replay ${f.trace}`);
  }
  return `${lines.join('\n')}\n`;
}

function worse(a: PropertyResult, b: PropertyResult): PropertyResult {
  return RANK[a] >= RANK[b] ? a : b;
}

function mergeProperty(a: PropertySummary, b: PropertySummary): PropertySummary {
  const failed = RANK[b.result] > RANK[a.result] ? b : a;
  const timeLimited = a.timeLimited === true || b.timeLimited === true;
  return {
    ...failed,
    runs: a.runs + b.runs,
    actions: a.actions + b.actions,
    timeMs: a.timeMs + b.timeMs,
    result: worse(a.result, b.result),
    ...(timeLimited ? { timeLimited } : {}),
  };
}

/** Failures of several shards, one per signature (the shortest trace kept), renumbered. */
export function mergeFailures(
  lists: readonly (readonly FailureSummary[])[],
  order: readonly string[],
): FailureSummary[] {
  const bySignature = new Map<string, FailureSummary>();
  for (const list of lists) {
    for (const f of list) {
      const seen = bySignature.get(f.signature);
      if (seen === undefined) {
        bySignature.set(f.signature, f);
        continue;
      }
      const properties = order.filter(
        (p) => seen.properties.includes(p) || f.properties.includes(p),
      );
      const kept = f.steps < seen.steps ? f : seen;
      bySignature.set(f.signature, { ...kept, properties });
    }
  }
  return [...bySignature.values()].map((f, i) => ({ ...f, id: i + 1 }));
}

const CAMPAIGN_KEYS = ['blkif', 'seed', 'runs', 'strategy', 'drivers', 'budgets'] as const;

/** Merges the shards of one campaign: same version, seed, runs, strategy, drivers, budgets. */
export function mergeSummaries(
  parts: readonly { file: string; summary: CheckSummary }[],
): CheckSummary {
  const first = parts[0]!.summary;
  const shards: Shard[] = [];
  const byName = new Map<string, PropertySummary>();
  for (const { file, summary } of parts) {
    for (const key of CAMPAIGN_KEYS) {
      const shown = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));
      const mine = shown(summary[key]);
      const theirs = shown(first[key]);
      if (mine !== theirs) {
        throw new CliError(
          'bad-summary',
          `${file}: ${key} ${mine} differs from ${theirs} of ${parts[0]!.file}: not the same campaign`,
        );
      }
    }
    for (const shard of summary.shards) {
      if (shard.count !== first.shards[0]!.count || shards.some((s) => s.index === shard.index)) {
        throw new CliError(
          'bad-summary',
          `${file}: shard ${shard.index}/${shard.count} is already merged or from another split`,
        );
      }
      shards.push(shard);
    }
    for (const p of summary.properties) {
      const seen = byName.get(p.name);
      byName.set(p.name, seen === undefined ? p : mergeProperty(seen, p));
    }
  }
  shards.sort((x, y) => x.index - y.index);
  const failures = mergeFailures(
    parts.map((p) => p.summary.failures),
    [...byName.keys()],
  );
  const idOf = (p: PropertySummary) => failures.find((f) => f.properties.includes(p.name))?.id;
  const properties = [...byName.values()].map((p) => {
    const { failure: _, ...rest } = p;
    const id = idOf(p);
    return id === undefined || p.result === 'pass' || p.result === 'skipped'
      ? rest
      : { ...rest, failure: id };
  });
  return { ...first, shards, properties, failures };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function summaryShapeOk(value: Record<string, unknown>): boolean {
  const shardsOk =
    Array.isArray(value.shards) &&
    value.shards.length > 0 &&
    value.shards.every((s) => isObject(s) && isShard(s.index, s.count));
  const propsOk =
    Array.isArray(value.properties) &&
    value.properties.every(
      (p) =>
        isObject(p) &&
        typeof p.name === 'string' &&
        typeof p.runs === 'number' &&
        typeof p.actions === 'number' &&
        typeof p.timeMs === 'number' &&
        typeof p.result === 'string' &&
        p.result in RANK,
    );
  const failuresOk =
    Array.isArray(value.failures) &&
    value.failures.every(
      (f) =>
        isObject(f) &&
        typeof f.signature === 'string' &&
        typeof f.firstLine === 'string' &&
        typeof f.steps === 'number' &&
        typeof f.trace === 'string' &&
        Array.isArray(f.properties),
    );
  return (
    shardsOk &&
    propsOk &&
    failuresOk &&
    typeof value.seed === 'number' &&
    typeof value.drivers === 'string' &&
    typeof value.strategy === 'string' &&
    typeof value.blkif === 'string' &&
    isObject(value.budgets)
  );
}

/** Validates a summary file written by --summary-out. */
export function parseSummary(file: string, text: string): CheckSummary {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      'bad-summary',
      `${file}: not JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isObject(value) || value.kind !== 'blkif-check-summary') {
    throw new CliError(
      'bad-summary',
      `${file}: not a blkif check summary (written by --summary-out)`,
    );
  }
  if (value.version !== SUMMARY_VERSION)
    throw new CliError(
      'bad-summary',
      `${file}: summary version ${String(value.version)} is not ${SUMMARY_VERSION} (rerun that shard with this blkif)`,
    );
  if (!summaryShapeOk(value)) {
    throw new CliError(
      'bad-summary',
      `${file}: malformed summary (shards, properties, failures, seed, strategy, drivers or budgets)`,
    );
  }
  const indices = (v: unknown) => Array.isArray(v) && v.every((n) => Number.isInteger(n));
  const partial = value.partial;
  if (
    (value.interrupted !== undefined && value.interrupted !== true) ||
    (partial !== undefined &&
      !(isObject(partial) && indices(partial.missing) && indices(partial.interrupted)))
  )
    throw new CliError('bad-summary', `${file}: malformed summary (interrupted or partial)`);
  return value as unknown as CheckSummary;
}
