import { describe, expect, it } from 'vitest';
import { scenarioArb, withWeights } from '../arbitraries/scenario.ts';
import { ACTION_KEYS, formatCoverage, measureCoverage, NAMED_SCENARIOS } from '../coverage.ts';
import { PROPERTIES, requestsCompleteOnce } from '../properties.ts';
import { testSeed } from '../report.ts';

// A green run that never reached the interesting states would prove nothing: the default budget
// (each property's default runs, the test seed) must reach every named scenario and action kind.
const seed = testSeed();

/**
 * Legal edges of the Linux drivers that no behaviour of the honest campaign produces, each with
 * why: the ratchet the coverage guard holds (issue 14). Every other edge of both tables must be
 * taken by the default budget; writes of a hostile peer's own side are not counted (its node is
 * the adversary's). An edge that becomes reachable should leave this list.
 */
const EDGES_NOT_YET_PRODUCED: ReadonlyMap<string, string> = new Map([
  [
    'frontend 5 (Closing) -> 3 (Initialised) by frontend',
    'a second talk_to_blkback that succeeds after a failed one: only a hostile backend shows Connected to a blkfront whose talk failed (rings freed), and only a queue count it lowers in between lets the second succeed; the flap runs of hostile-backend reach it about once in 1,000',
  ],
  [
    'frontend 6 (Closed) -> 5 (Closing) by frontend',
    'talk_to_blkback failing after Closed: a hostile backend closes blkfront before it talked, then shows Connected under a channel limit the rings exceed; the flap runs of hostile-backend reach it about 3 times in 1,000',
  ],
  [
    'frontend 5 (Closing) -> 6 (Closed) by xenbus',
    "produced by guest.unbind after blkfront's own failure (unbind.test.ts), but not on every seed at the default budget",
  ],
]);

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

  it('takes every legal xenbus edge but those no modelled behaviour produces yet', () => {
    const missed = [...report.xenbusEdges].filter(([, n]) => n === 0).map(([edge]) => edge);
    // A missing edge not on the list is a lost behaviour (the message names it); a listed one
    // that a change makes reachable should leave the list (it is not checked: other seeds vary).
    expect(missed.filter((edge) => !EDGES_NOT_YET_PRODUCED.has(edge))).toEqual([]);
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
