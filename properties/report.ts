// Failure reports for the suites (and anyone else holding a PropertyOutcome): line 1 is the
// violation in protocol terms, line 2 the seed, the path and the command that replays the trace
// file written next to it (VOPR's "reproduce with seed=", fast-check's seed/path).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Drivers } from '../impl/world/drivers.ts';
import type { PropertyDef, PropertyOutcome } from './catalog.ts';
import { checkProperty } from './catalog.ts';
import { traceJson } from './counterexample.ts';

/** Where counterexample traces go (gitignored). */
export const FAILURES_DIR = join('.blkif', 'failures');

/** The fixed seed of `npm test` (tools/vitest-setup.ts); BLKIF_TEST_SEED runs other seeds. */
export function testSeed(): number {
  const fromEnv = Number(process.env.BLKIF_TEST_SEED);
  return Number.isInteger(fromEnv) ? fromEnv : 20261123;
}

/** `<property>-<seed>.json` under `dir` (relative to the working directory). */
export function failureFile(property: string, seed: number, dir: string = FAILURES_DIR): string {
  return join(dir, `${property}-${seed}.json`);
}

/**
 * The report of a failed outcome: writes the trace file and returns the lines to print, or
 * undefined when the property held. An internal error (an exception, a non-deterministic run)
 * is reported too, without a trace.
 */
export function reportFailure(
  outcome: PropertyOutcome,
  dir: string = FAILURES_DIR,
): string[] | undefined {
  if (outcome.error !== undefined) {
    return [
      `internal error in ${outcome.name}: ${outcome.error}`,
      'this is a bug of the harness or the model, not a protocol finding',
    ];
  }
  const failure = outcome.failure;
  if (failure === undefined) return undefined;
  const file = failureFile(outcome.name, failure.seed, dir);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, traceJson(failure.trace));
  const shown = relative(process.cwd(), file) || file;
  return [
    failure.firstLine,
    `seed ${failure.seed}, path "${failure.path}"; replay: npx blkif replay ${shown}`,
    `property ${outcome.name} failed after ${outcome.runs} runs (${outcome.actions} actions); ` +
      `counterexample: ${failure.scenario.config.workload.length} workload items, ${failure.scenario.choices.length} choices, ` +
      `${failure.trace.steps.length} steps`,
  ];
}

export interface SuiteOptions {
  readonly numRuns?: number;
  readonly seed?: number;
  readonly dir?: string;
  readonly drivers?: Drivers;
}

/**
 * What a suite calls: check the property at its default budget and throw an Error whose message
 * is the report (vitest prints it). Returns the outcome when the property held.
 */
export function assertProperty(def: PropertyDef, options: SuiteOptions = {}): PropertyOutcome {
  const outcome = checkProperty(def, {
    numRuns: options.numRuns ?? def.defaultRuns,
    seed: options.seed ?? testSeed(),
    ...(options.drivers !== undefined ? { drivers: options.drivers } : {}),
  });
  const lines = reportFailure(outcome, options.dir);
  if (lines !== undefined) {
    for (const line of lines) console.error(line);
    throw new Error(lines.join('\n'));
  }
  return outcome;
}
