// Teeth for the explorer: every known-bad variant is found within the bounds written beside it
// (mutant-bounds.ts), by the invariant its entry names, within the depth the table says, and the
// trace it writes is the shortest path itself (search.test.ts shows nothing shorter exists).
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../mutants/index.ts';
import { configsOf, SMALL_BOUNDS } from './bounds.ts';
import { MUTANT_BOUNDS, NEEDS_HOSTILE_PEER } from './mutant-bounds.ts';
import { explore } from './search.ts';
import { traceOfPath } from './trace.ts';

/** The long rows (thousands of states each) run only when asked for. */
const LONG = process.env.BLKIF_EXPLORE_LONG === '1';

describe('explore finds every known-bad variant within its bounds', () => {
  it('every variant of properties/mutants has its bounds in mutant-bounds.ts', () => {
    const missing = [...MUTANTS.keys()].filter(
      (name) => !MUTANT_BOUNDS.has(name) && !NEEDS_HOSTILE_PEER.has(name),
    );
    expect(missing, 'add their rows to properties/explore/mutant-bounds.ts').toEqual([]);
  });

  it('only variants a hostile peer exposes go without a bound (explore has no attacks yet)', () => {
    const hostile = [...MUTANTS]
      .filter(([, mutant]) => mutant.property?.startsWith('hostile-') === true)
      .map(([name]) => name)
      .sort();
    expect([...NEEDS_HOSTILE_PEER.keys()].sort()).toEqual(hostile);
    for (const name of NEEDS_HOSTILE_PEER.keys()) expect(MUTANT_BOUNDS.has(name)).toBe(false);
  });

  for (const [name, row] of MUTANT_BOUNDS) {
    it.skipIf(row.long === true && !LONG)(
      `${name}: ${MUTANTS.get(name)?.caughtBy} within depth ${row.depth}`,
      () => {
        const mutant = MUTANTS.get(name);
        expect(mutant, `${name} is no longer a registered variant`).toBeDefined();
        const made = configsOf({ ...SMALL_BOUNDS, ...row.bounds });
        expect(made.ok).toBe(true);
        if (!made.ok || mutant === undefined) return;
        const config = made.configs[0]!;
        const result = explore({
          config,
          drivers: mutant.drivers,
          bounds: { depthMax: row.depth, statesMax: 50_000, por: false },
        });
        expect(result.outcome).toBe('violation');
        if (result.outcome !== 'violation') return;
        expect(result.violation.code).toBe(mutant.caughtBy);
        expect(result.kind).toBe(row.kind);
        // Breadth-first: the first finding is at the smallest depth any path reaches one.
        expect(result.path.length).toBeLessThanOrEqual(row.depth);
        const { trace, violation } = traceOfPath({
          config,
          drivers: mutant.drivers,
          path: result.path,
          drainStepsMax: 2_000,
        });
        expect(violation).toEqual(result.violation);
        // The trace is no longer than the shortest path: a finding at quiescence needs no drain.
        expect(trace.steps.length).toBe(result.path.length);
        expect(trace.drivers).toBe(name);
      },
    );
  }
});
