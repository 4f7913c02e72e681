import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty, type PropertyDef } from '../catalog.ts';
import { rawWorkloadArb } from '../arbitraries/workload.ts';
import { MUTANTS } from '../mutants/index.ts';
import { PROPERTIES } from '../properties.ts';

// Shrunk counterexamples stay short when the run that found them was drawn under load: the
// I/O-heavy branch draws 48 requests or more, and a workload that could not shrink below that
// reported a two-request lost wake-up as a 287-step trace (every one of the 48 requests drained).
// Bounds on the shrunk length, with fixed seeds: a count of steps, not a time.
const SHAPE = { itemCountMin: 48, itemCountMax: 128 };

describe('the workload under load', () => {
  it('is drawn with at least itemCountMin items, as before', () => {
    fc.assert(
      fc.property(rawWorkloadArb(SHAPE), (items) => items.length >= 48 && items.length <= 128),
      { numRuns: 200, seed: 1 },
    );
  });

  it('shrinks below itemCountMin to the items a failure needs', () => {
    const needsTwo = fc.property(rawWorkloadArb(SHAPE), (items) => items.length < 2);
    const details = fc.check(needsTwo, { numRuns: 10, seed: 1 });
    expect(details.counterexample?.[0].length).toBe(2);
  });

  it('teeth: a plain array with that minLength stops at 48', () => {
    const plain = fc.array(fc.nat(), { minLength: 48, maxLength: 128 });
    const details = fc.check(
      fc.property(plain, (items) => items.length < 2),
      { numRuns: 10, seed: 1 },
    );
    expect(details.counterexample?.[0].length).toBe(48);
  });
});

function shrunkSteps(variant: string, property: string, seed: number): number {
  const def: PropertyDef = PROPERTIES.find((p) => p.name === property)!;
  const drivers = MUTANTS.get(variant)!.drivers;
  const outcome = checkProperty(def, { numRuns: def.defaultRuns, seed, drivers });
  expect(outcome.failure, `${property} did not find ${variant} (seed ${seed})`).toBeDefined();
  return outcome.failure!.trace.steps.length;
}

describe('shrunk counterexamples of known-bad variants', () => {
  // Each of these seeds found its variant in an I/O-heavy run and reported 287 (resp. 137) steps.
  const cases = [
    ['frontend-skips-final-check', 'lost-wakeup', 2, 40],
    ['frontend-skips-final-check', 'requests-complete-once', 4, 40],
    ['notify-only-idle-ring', 'lost-wakeup', 3, 80],
  ] as const;
  for (const [variant, property, seed, bound] of cases) {
    it(`${variant} by ${property}, seed ${seed}: at most ${bound} steps`, () => {
      expect(shrunkSteps(variant, property, seed)).toBeLessThanOrEqual(bound);
    });
  }
});
