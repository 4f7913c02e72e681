// Teeth for the explorer: every known-bad variant is found within the bounds written beside it
// (mutant-bounds.ts; a hostile-peer variant with one attack of that peer), by the invariant its
// entry names, within the depth the table says, and the
// trace it writes is the shortest path itself (search.test.ts shows nothing shorter exists).
import { describe, expect, it } from 'vitest';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { MUTANTS } from '../mutants/index.ts';
import { configsOf, SMALL_BOUNDS } from './bounds.ts';
import { MUTANT_BOUNDS } from './mutant-bounds.ts';
import { explore } from './search.ts';
import { traceOfPath } from './trace.ts';

/** The long rows (thousands of states each) run only when asked for. */
const LONG = process.env.BLKIF_EXPLORE_LONG === '1';

describe('explore finds every known-bad variant within its bounds', () => {
  it('every variant of properties/mutants has its bounds in mutant-bounds.ts', () => {
    const missing = [...MUTANTS.keys()].filter((name) => !MUTANT_BOUNDS.has(name));
    expect(missing, 'add their rows to properties/explore/mutant-bounds.ts').toEqual([]);
  });

  it('a variant only a hostile peer exposes is explored with that peer, one attack in all', () => {
    for (const [name, mutant] of MUTANTS) {
      const side = mutant.property === 'hostile-backend' ? 'blkback' : 'blkfront';
      const plan = MUTANT_BOUNDS.get(name)?.bounds.hostile;
      if (mutant.property?.startsWith('hostile-') !== true) {
        expect(plan, `${name} is found against honest peers`).toBeUndefined();
        continue;
      }
      expect(plan?.side, name).toBe(side);
      expect(plan?.budget, name).toBe(1);
    }
  });

  // The control: under the same attack and depth the honest drivers refuse and report, no
  // finding (the cheaper rows; the two blkfront rows with a request in flight take ~3 s each).
  const controls = [
    'blkfront-ignores-device-info',
    'blkback-ring-order-checked-late',
    'blkback-trusts-req-prod',
    'blkback-indirect-any-inner-op',
    'blkback-follows-frontend-state',
    'map-failure-keeps-mapped',
  ];
  it('the honest drivers under those attacks, to the same depth: no violation', () => {
    for (const name of controls) {
      const row = MUTANT_BOUNDS.get(name)!;
      expect(row.bounds.hostile, name).toBeDefined();
      const made = configsOf({ ...SMALL_BOUNDS, ...row.bounds });
      if (!made.ok) throw new Error(made.message);
      const result = explore({
        config: made.configs[0]!,
        drivers: HONEST_DRIVERS,
        bounds: { depthMax: row.depth, statesMax: 50_000, por: true },
      });
      expect(result.outcome, name).toBe('pass');
    }
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
        // A hostile-peer finding in the words the variant's entry gives (which defence failed).
        if (mutant.words !== undefined) expect(result.violation.message).toContain(mutant.words);
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
