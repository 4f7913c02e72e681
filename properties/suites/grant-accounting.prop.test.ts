import { describe, expect, it } from 'vitest';
import { grantAccounting } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${grantAccounting.name} (seed ${testSeed()})`, () => {
  it(grantAccounting.summary, () => {
    const outcome = assertProperty(grantAccounting);
    expect(outcome.runs).toBe(grantAccounting.defaultRuns);
  });
});
