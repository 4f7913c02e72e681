// check and explore agree: a counterexample explore writes replays under `blkif replay`'s own
// machinery (the same violation at the same step), and a counterexample check shrinks, run under
// explore's per-transition checker, shows the same violation at the same step.
import { describe, expect, it } from 'vitest';
import type { WorldConfig } from '../impl/world/config.ts';
import { isFaultStart } from '../impl/world/enabled.ts';
import { enabled } from '../impl/world/enabled.ts';
import { checkProperty, SHRINK_RUNS_MAX } from '../properties/catalog.ts';
import { configsOf, SMALL_BOUNDS } from '../properties/explore/bounds.ts';
import { checkQuiescence, performStep, startRun } from '../properties/explore/run-state.ts';
import { explore } from '../properties/explore/search.ts';
import { traceOfPath } from '../properties/explore/trace.ts';
import { QUIESCENCE_INVARIANTS, STEP_INVARIANTS } from '../properties/invariants/index.ts';
import type { Violation } from '../properties/invariants/violation.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import { variantOf } from '../properties/mutants/variant.ts';
import { propertyByName } from '../properties/properties.ts';
import type { Trace } from '../properties/counterexample.ts';
import { replayTrace } from './replay.ts';

const ONE_WRITE = ((): WorldConfig => {
  const made = configsOf({ ...SMALL_BOUNDS, requests: 1, ops: ['write'] });
  if (!made.ok) throw new Error(made.message);
  return made.configs[0]!;
})();

const spins = variantOf('final-check-always-more', { blkback: { finalCheck: () => true } });

/** A trace's actions under explore's checker: the first step violation, else quiescence's. */
function underExplore(
  trace: Trace,
  drivers = MUTANTS.get(trace.drivers)!.drivers,
): Violation | undefined {
  const run = startRun(trace.config, drivers, STEP_INVARIANTS);
  for (const { action } of trace.steps) {
    const found = performStep(run, action);
    if (found !== undefined) return found;
  }
  const drainLeft = enabled(run.world).filter((a) => !isFaultStart(a));
  expect(drainLeft, 'a check trace ends at quiescence').toEqual([]);
  return checkQuiescence(run.world, QUIESCENCE_INVARIANTS);
}

describe('explore -> replay', () => {
  for (const name of ['complete-twice', 'publish-past-private', 'connected-before-backend']) {
    it(`${name}: explore's trace reproduces under replay`, () => {
      const drivers = MUTANTS.get(name)!.drivers;
      const found = explore({
        config: ONE_WRITE,
        drivers,
        bounds: { depthMax: 40, statesMax: 20_000, por: false },
      });
      expect(found.outcome).toBe('violation');
      if (found.outcome !== 'violation') return;
      const { trace } = traceOfPath({
        config: ONE_WRITE,
        drivers,
        path: found.path,
        drainStepsMax: 100,
      });
      const replayed = replayTrace(trace);
      expect(replayed.reproduced).toBe(true);
      expect(replayed.actual).toEqual(found.violation);
    });
  }

  it('a liveness finding: the trace ends in the drain bound, and replay reports it at that step', () => {
    const found = explore({
      config: ONE_WRITE,
      drivers: spins,
      bounds: { depthMax: 40, statesMax: 20_000, por: false },
    });
    expect(found.outcome === 'violation' && found.kind).toBe('liveness');
    if (found.outcome !== 'violation') return;
    const { trace, violation } = traceOfPath({
      config: ONE_WRITE,
      drivers: spins,
      path: found.path,
      drainStepsMax: 30,
    });
    const replayed = replayTrace(trace, { drivers: (n) => (n === spins.name ? spins : undefined) });
    expect(replayed.reproduced).toBe(true);
    expect(replayed.actual?.code).toBe(violation?.code);
    expect(replayed.actual?.step).toBe(violation?.step);
  });
});

describe('check -> explore', () => {
  // A data finding too: the read after a write sees the disk the write never changed (a seed
  // and run count that find it in a couple of seconds; the campaign's default is too slow here).
  const cases = [
    ['complete-twice', 'requests-complete-once', 400, 7],
    ['backend-skips-final-check', 'lost-wakeup', 400, 7],
    ['write-becomes-read', 'data-integrity', 20, 4],
  ] as const;
  for (const [name, property, numRuns, seed] of cases) {
    it(`${name}: check's shrunk counterexample shows the same violation under explore's checker`, () => {
      const def = propertyByName(property)!;
      // As `blkif check` reports it: shrinking within its budget, then the shortening.
      const outcome = checkProperty(def, {
        numRuns,
        seed,
        drivers: MUTANTS.get(name)!.drivers,
        shorten: true,
        shrinkRunsMax: SHRINK_RUNS_MAX,
      });
      const failure = outcome.failure;
      expect(failure, `${property} finds ${name}`).toBeDefined();
      if (failure === undefined) return;
      const seen = underExplore(failure.trace);
      expect(seen?.code).toBe(failure.violation.code);
      expect(seen?.step).toBe(failure.violation.step);
    });
  }
});
