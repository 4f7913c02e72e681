import { describe, expect, it } from 'vitest';
import { lostWakeup } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${lostWakeup.name} (seed ${testSeed()})`, () => {
  it(lostWakeup.summary, () => {
    const outcome = assertProperty(lostWakeup);
    expect(outcome.runs).toBe(lostWakeup.defaultRuns);
  });
});
