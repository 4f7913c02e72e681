import { describe, expect, it } from 'vitest';
import { requestsCompleteOnce } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${requestsCompleteOnce.name} (seed ${testSeed()})`, () => {
  it(requestsCompleteOnce.summary, () => {
    const outcome = assertProperty(requestsCompleteOnce);
    expect(outcome.runs).toBe(requestsCompleteOnce.defaultRuns);
  });
});
