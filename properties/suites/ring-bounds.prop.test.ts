import { describe, expect, it } from 'vitest';
import { checkProperty } from '../catalog.ts';
import { publishPastPrivate } from '../mutants/publish-past-private.ts';
import { ringBounds } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${ringBounds.name} (seed ${testSeed()})`, () => {
  it(ringBounds.summary, () => {
    const outcome = assertProperty(ringBounds);
    expect(outcome.runs).toBe(ringBounds.defaultRuns);
  });

  it('a req_prod published past req_prod_pvt is called ahead, not behind', () => {
    const outcome = checkProperty(ringBounds, {
      numRuns: 400,
      seed: testSeed(),
      drivers: publishPastPrivate,
    });
    const line = outcome.failure?.firstLine ?? '';
    const m = /req_prod (\d+) ahead of req_prod_pvt (\d+)/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]));
    expect(line).not.toMatch(/behind/);
  });
});
