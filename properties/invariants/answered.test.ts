// answered's teeth beside the suite's: the variant that frees a busy ring passes every other
// invariant (the guest edge takes blkfront's error as a completion), the honest drivers pass the
// same bounds, and a host that goes away with its I/O is not judged.
import { describe, expect, it } from 'vitest';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { configsOf, SMALL_BOUNDS } from '../explore/bounds.ts';
import { MUTANT_BOUNDS } from '../explore/mutant-bounds.ts';
import { explore } from '../explore/search.ts';
import { traceOfPath } from '../explore/trace.ts';
import { MUTANTS } from '../mutants/index.ts';
import { answered } from './answered.ts';
import { QUIESCENCE_INVARIANTS, STEP_INVARIANTS } from './index.ts';

const NAME = 'disconnect-frees-busy-ring';
const row = MUTANT_BOUNDS.get(NAME)!;
const made = configsOf({ ...SMALL_BOUNDS, ...row.bounds });
if (!made.ok) throw new Error(made.message);
const config = made.configs[0]!;
const drivers = MUTANTS.get(NAME)!.drivers;
const WITHOUT = STEP_INVARIANTS.filter((i) => i !== answered);

describe('answered', () => {
  const found = explore({
    config,
    drivers,
    bounds: { depthMax: row.depth, statesMax: 50_000, por: true },
  });

  it('finds the ring freed with a write in flight at xl block-detach, in protocol terms', () => {
    expect(found.outcome).toBe('violation');
    if (found.outcome !== 'violation') return;
    expect(found.violation.code).toBe('answered');
    expect(found.violation.ring).toBe(0);
    expect(found.violation.requestId).toBe(0);
    expect(found.violation.message).toContain('during xl block-detach');
    expect(found.violation.message).toContain('1 consumed request never answered (ids 0)');
  });

  // blkfront's blkif_free at the device's removal fails the write: a completion all the same.
  it('without it, the same path passes every other invariant, through the drain', () => {
    if (found.outcome !== 'violation') throw new Error('no path');
    const { trace, violation } = traceOfPath({
      config,
      drivers,
      path: found.path,
      drainStepsMax: 2_000,
      stepInvariants: WITHOUT,
      quiescenceInvariants: QUIESCENCE_INVARIANTS,
    });
    expect(violation).toBeUndefined();
    expect(trace.steps.length).toBeGreaterThan(found.path.length);
  });

  it('the honest drivers pass the same bounds, as deep as the shortest finding and one more', () => {
    if (found.outcome !== 'violation') throw new Error('no path');
    const honest = explore({
      config,
      drivers: HONEST_DRIVERS,
      bounds: { depthMax: found.path.length + 1, statesMax: 50_000, por: true },
    });
    expect(honest.outcome).toBe('pass');
  });
});
