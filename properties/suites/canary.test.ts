import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkProperty } from '../catalog.ts';
import { CANARY } from '../properties.ts';
import { assertProperty, reportFailure, testSeed } from '../report.ts';

// The canary must always fail: it proves that a violation is found, shrunk to the smallest
// scenario, reported with seed, path and replay command, and written as a trace file.
const seed = testSeed();
const dir = mkdtempSync(join(tmpdir(), 'blkif-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(`canary (seed ${seed})`, () => {
  it('fails, and shrinks to one request with an empty schedule', () => {
    const outcome = checkProperty(CANARY, { numRuns: CANARY.defaultRuns, seed });
    expect(outcome.error).toBeUndefined();
    const failure = outcome.failure!;
    expect(failure.firstLine).toMatch(/^canary at step \d+ — guest request \d+ completed/);
    expect(failure.scenario.config.workload).toHaveLength(1);
    expect(failure.scenario.choices).toEqual([]);
    expect(failure.scenario.config.faults.migrations).toEqual([]);
  });

  it('reports line 1 = the finding, line 2 = seed, path and replay command, and writes the trace', () => {
    const outcome = checkProperty(CANARY, { numRuns: CANARY.defaultRuns, seed });
    const lines = reportFailure(outcome, dir)!;
    expect(lines[0]).toBe(outcome.failure!.firstLine);
    const file = join(dir, `canary-${outcome.failure!.seed}.json`);
    expect(lines[1]).toContain(`seed ${outcome.failure!.seed}, path "${outcome.failure!.path}"`);
    expect(lines[1]).toMatch(/replay: npx blkif replay .*canary-\d+\.json$/);
    const trace = JSON.parse(readFileSync(file, 'utf8')) as {
      version: number;
      property: string;
      violation: { code: string };
    };
    expect(trace.version).toBe(1);
    expect(trace.property).toBe('canary');
    expect(trace.violation.code).toBe('canary');
  });

  it('makes a suite fail with the report as its message', () => {
    expect(() => assertProperty(CANARY, { dir })).toThrow(/^canary at step \d+.*\nseed \d+, path/);
  });

  it('a property that holds reports nothing', () => {
    const outcome = {
      name: 'x',
      runs: 1,
      actions: 1,
      timeMs: 1,
      failure: undefined,
      error: undefined,
    };
    expect(reportFailure(outcome, dir)).toBeUndefined();
  });
});
