// The result of one `blkif check` (or one shard of it) as data: printed as the summary table,
// written with --summary-out, and merged with `blkif check --merge a.json b.json ...` when a
// campaign ran as shards on several machines.
import { EXIT, type ExitCode } from '../command.ts';
import { CliError } from '../errors.ts';
import type { Shard } from './shard.ts';

export type PropertyResult = 'pass' | 'safety' | 'liveness' | 'error';

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
  /** The trace file written for the failure. */
  readonly trace?: string;
  /** A signal ended this property's runs early. */
  readonly interrupted?: true;
}

export interface CheckSummary {
  readonly kind: 'blkif-check-summary';
  readonly version: 1;
  readonly seed: number;
  /** Runs per property of the whole campaign (every shard together). */
  readonly runs: number | 'default';
  readonly drivers: string;
  readonly shards: readonly Shard[];
  readonly properties: readonly PropertySummary[];
  /** A signal ended the campaign early: its runs are fewer than asked. */
  readonly interrupted?: true;
}

const RANK: Record<PropertyResult, number> = { pass: 0, error: 1, liveness: 2, safety: 3 };

/** Safety first, then liveness, then our own errors (style rule 11's exit codes). */
export function exitCodeOf(summary: CheckSummary): ExitCode {
  if (summary.interrupted === true) return EXIT.interrupted;
  const results = new Set(summary.properties.map((p) => p.result));
  if (results.has('safety')) return EXIT.safety;
  if (results.has('liveness')) return EXIT.liveness;
  if (results.has('error')) return EXIT.internal;
  return EXIT.pass;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${(ms / 1000).toFixed(0)}s`;
}

const RESULT_TEXT: Record<PropertyResult, string> = {
  pass: 'pass',
  safety: 'FAIL (safety)',
  liveness: 'FAIL (liveness)',
  error: 'ERROR',
};

export function summaryTable(summary: CheckSummary): string {
  const rows = [['property', 'runs', 'actions', 'time', 'result']];
  for (const p of summary.properties) {
    rows.push([
      p.name,
      String(p.runs),
      p.actions.toLocaleString('en-US'),
      seconds(p.timeMs),
      p.interrupted === true && p.result === 'pass' ? 'interrupted' : RESULT_TEXT[p.result],
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return `${rows.map(line).join('\n')}\n`;
}

function worse(a: PropertyResult, b: PropertyResult): PropertyResult {
  return RANK[a] >= RANK[b] ? a : b;
}

function mergeProperty(a: PropertySummary, b: PropertySummary): PropertySummary {
  const failed = RANK[b.result] > RANK[a.result] ? b : a;
  return {
    ...failed,
    runs: a.runs + b.runs,
    actions: a.actions + b.actions,
    timeMs: a.timeMs + b.timeMs,
    result: worse(a.result, b.result),
  };
}

/** Merges the shards of one campaign: same seed, runs, drivers; each shard at most once. */
export function mergeSummaries(
  parts: readonly { file: string; summary: CheckSummary }[],
): CheckSummary {
  const first = parts[0]!.summary;
  const shards: Shard[] = [];
  const byName = new Map<string, PropertySummary>();
  for (const { file, summary } of parts) {
    for (const key of ['seed', 'runs', 'drivers'] as const) {
      if (summary[key] !== first[key]) {
        throw new CliError(
          'bad-summary',
          `${file}: ${key} ${String(summary[key])} differs from ${String(first[key])} of ${parts[0]!.file}: not the same campaign`,
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
  return { ...first, shards, properties: [...byName.values()] };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

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
  if (value.version !== 1)
    throw new CliError('bad-summary', `${file}: summary version ${String(value.version)} is not 1`);
  const shardsOk =
    Array.isArray(value.shards) &&
    value.shards.length > 0 &&
    value.shards.every(
      (s) => isObject(s) && Number.isInteger(s.index) && Number.isInteger(s.count),
    );
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
  if (
    !shardsOk ||
    !propsOk ||
    typeof value.seed !== 'number' ||
    typeof value.drivers !== 'string'
  ) {
    throw new CliError(
      'bad-summary',
      `${file}: malformed summary (shards, properties, seed or drivers)`,
    );
  }
  return value as unknown as CheckSummary;
}
