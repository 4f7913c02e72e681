import { describe, expect, it } from 'vitest';
import { ringBounds } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${ringBounds.name} (seed ${testSeed()})`, () => {
  it(ringBounds.summary, () => {
    const outcome = assertProperty(ringBounds);
    expect(outcome.runs).toBe(ringBounds.defaultRuns);
  });
});
