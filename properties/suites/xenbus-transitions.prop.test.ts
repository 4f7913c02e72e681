import { describe, expect, it } from 'vitest';
import { xenbusTransitions } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${xenbusTransitions.name} (seed ${testSeed()})`, () => {
  it(xenbusTransitions.summary, () => {
    const outcome = assertProperty(xenbusTransitions);
    expect(outcome.runs).toBe(xenbusTransitions.defaultRuns);
  });
});
