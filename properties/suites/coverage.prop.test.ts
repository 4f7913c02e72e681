import { describe, expect, it } from 'vitest';
import { scenarioArb, withWeights } from '../arbitraries/scenario.ts';
import { ACTION_KEYS, formatCoverage, measureCoverage, NAMED_SCENARIOS } from '../coverage.ts';
import { PROPERTIES, requestsCompleteOnce } from '../properties.ts';
import { testSeed } from '../report.ts';

// A green run that never reached the interesting states would prove nothing: the default budget
// (each property's default runs, the test seed) must reach every named scenario and action kind.
const seed = testSeed();

describe(`coverage of the default budget (seed ${seed})`, () => {
  const report = measureCoverage(PROPERTIES, { seed });

  it('reaches every named scenario', () => {
    const missed = NAMED_SCENARIOS.filter((s) => (report.scenarios.get(s) ?? 0) === 0);
    expect(missed, formatCoverage(report)).toEqual([]);
  });

  // Depth (issue 14): runs that reach a scenario once prove little; each is reached 50 times, and
  // a quarter of the runs fill a ring (the stopped queues and final checks are there).
  it('reaches every named scenario at least 50 times', () => {
    const thin = NAMED_SCENARIOS.filter((s) => (report.scenarios.get(s) ?? 0) < 50);
    expect(thin, formatCoverage(report)).toEqual([]);
  });

  it('fills a ring in at least a quarter of the runs', () => {
    expect(report.depth.ringFullRuns / report.runs, formatCoverage(report)).toBeGreaterThanOrEqual(
      0.25,
    );
  });

  it('takes every action kind of an honest run', () => {
    expect(ACTION_KEYS.filter((k) => (report.actions.get(k) ?? 0) === 0)).toEqual([]);
  });

  it('enters every state of both machines', () => {
    const missed = [...report.machineStates].filter(([, n]) => n === 0).map(([id]) => id);
    expect(missed, formatCoverage(report)).toEqual([]);
  });

  // Every edge of both tables (issue 14): an edge no behaviour of the world produces would leave
  // the table with its reason. Writes of a hostile peer's own side are not counted (its node is
  // the adversary's); blkfront's talks over Closed and Closing come from the paced backend's
  // script (arbitraries/hostile.ts).
  it('takes every legal xenbus edge of both drivers', () => {
    const missed = [...report.xenbusEdges].filter(([, n]) => n === 0).map(([edge]) => edge);
    expect(missed, formatCoverage(report)).toEqual([]);
  });

  it('prints the report with what was and was not reached', () => {
    const text = formatCoverage(report);
    expect(text).toMatch(/^coverage over \d+ runs/);
    expect(text).toContain(
      `named scenarios (runs): ${NAMED_SCENARIOS.length}/${NAMED_SCENARIOS.length} reached`,
    );
    expect(text).toMatch(/xenbus state edges of the drivers .*: \d+\/\d+ reached/);
    expect(report.runs).toBe(PROPERTIES.reduce((n, p) => n + p.defaultRuns, 0));
  });

  it('shows a scenario as NOT REACHED when the runs cannot get there (teeth)', () => {
    const noFaults = {
      ...requestsCompleteOnce,
      scenario: scenarioArb(withWeights({ migrations: 0, multiQueue: 100 })),
    };
    const narrow = measureCoverage([noFaults], { seed, runs: 30 });
    expect(narrow.scenarios.get('migration with requests in flight on >= 2 rings')).toBe(0);
    expect(narrow.scenarios.get('fallback to one queue after migration')).toBe(0);
    expect(formatCoverage(narrow)).toContain(
      'NOT REACHED  migration with requests in flight on >= 2 rings',
    );
  });
});
