import { describe, expect, it } from 'vitest';
import { CANDIDATES } from '../candidates/index.ts';
import { checkProperty } from '../catalog.ts';
import { PROPERTIES } from '../properties.ts';
import { testSeed } from '../report.ts';

// Candidate variants are alternatives expected to keep every invariant. Each runs every property;
// a failure here is a finding about the drivers, the protocol or the model, not a broken test:
// record it in properties/candidates/index.ts (finding) and this suite checks that it stays
// reproducible instead of demanding a pass.
const seed = testSeed();
const RUNS = 30;

describe(`candidates (seed ${seed})`, () => {
  for (const [name, candidate] of CANDIDATES) {
    const finding = candidate.finding;
    it(
      finding === undefined
        ? `${name} keeps every property (${RUNS} runs each)`
        : `${name}: its recorded finding ${finding.code} still happens`,
      () => {
        const failures = PROPERTIES.map((def) =>
          checkProperty(def, { numRuns: RUNS, seed, drivers: candidate.drivers }),
        ).filter((o) => o.failure !== undefined || o.error !== undefined);
        const lines = failures.map((o) => `${o.name}: ${o.failure?.firstLine ?? o.error}`);
        if (finding === undefined) {
          expect(lines, `FINDING: candidate ${name} breaks an invariant`).toEqual([]);
        } else {
          expect(
            failures.some((o) => o.failure?.violation.code === finding.code),
            lines.join('\n'),
          ).toBe(true);
        }
      },
    );
  }

  it('a candidate is not also a known-bad variant, and the suite has candidates to run', async () => {
    const { MUTANTS } = await import('../mutants/index.ts');
    expect(CANDIDATES.size).toBeGreaterThan(0);
    for (const name of CANDIDATES.keys()) expect(MUTANTS.has(name)).toBe(false);
  });
});
