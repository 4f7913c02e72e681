import { describe, expect, it } from 'vitest';
import { checkProperty, type PropertyDef } from '../catalog.ts';
import { INVARIANTS } from '../invariants/index.ts';
import { MUTANTS } from '../mutants/index.ts';
import { PROPERTIES, propertyOfMutant } from '../properties.ts';
import { testSeed } from '../report.ts';

// Every invariant has teeth: each violation code has a named known-bad variant of the drivers,
// and the property of that code's family finds it with the code on the first report line.
const seed = testSeed();
/** Enough to find every mutant on any seed; shrinking runs come on top. */
const TEETH_RUNS = 400;
/**
 * Shrinking runs after the first failure: a teeth test asks whether the variant is caught and
 * replays, not how small its counterexample gets (properties/suites/shrink-quality.test.ts asks
 * that). Some variants' failures took over 30,000 shrinking runs and two minutes under load; the
 * budget keeps the smallest counterexample reached by then, which its path still replays.
 */
const TEETH_SHRINK_RUNS = 300;
/** Codes without a driver mutant here: the harness's own, and the hostile suites' (their teeth). */
const EXEMPT: ReadonlySet<string> = new Set(['canary', 'driver-crash', 'honest-side']);

function propertyFor(code: string): PropertyDef {
  const def = PROPERTIES.find((p) => p.codes.some((c) => c === code));
  if (def === undefined) throw new Error(`no property reports ${code}`);
  return def;
}

describe(`teeth (seed ${seed})`, () => {
  it('every violation code of the invariant registry has a mutant and a property', () => {
    const codes = new Set(INVARIANTS.map((i) => i.code).filter((c) => !EXEMPT.has(c)));
    const caught = new Set([...MUTANTS.values()].map((m) => m.caughtBy));
    expect([...codes].filter((c) => !caught.has(c))).toEqual([]);
    for (const code of codes) expect(propertyFor(code).codes).toContain(code);
  });

  for (const [name, mutant] of MUTANTS) {
    it(`${name} is caught by ${mutant.caughtBy}`, () => {
      const def = propertyOfMutant(mutant)!;
      expect(def?.codes).toContain(mutant.caughtBy);
      const outcome = checkProperty(def, {
        numRuns: TEETH_RUNS,
        seed,
        drivers: mutant.drivers,
        shrinkRunsMax: TEETH_SHRINK_RUNS,
      });
      expect(outcome.error).toBeUndefined();
      const failure = outcome.failure;
      expect(failure, `${def.name} did not find ${name} in ${TEETH_RUNS} runs`).toBeDefined();
      expect(failure!.firstLine.startsWith(`${mutant.caughtBy} at step `), failure!.firstLine).toBe(
        true,
      );
      if (mutant.words !== undefined) expect(failure!.firstLine).toContain(mutant.words);
      // The trace replays to the same finding: its last step is where the violation was seen.
      expect(failure!.trace.drivers).toBe(name);
      expect(failure!.trace.violation?.code).toBe(mutant.caughtBy);
    });
  }
});
