import { describe, expect, it } from 'vitest';
import { queueLayout } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${queueLayout.name} (seed ${testSeed()})`, () => {
  it(queueLayout.summary, () => {
    const outcome = assertProperty(queueLayout);
    expect(outcome.runs).toBe(queueLayout.defaultRuns);
  });
});
