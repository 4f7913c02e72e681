import { describe, expect, it } from 'vitest';
import { dataIntegrity } from '../properties.ts';
import { assertProperty, testSeed } from '../report.ts';

describe(`${dataIntegrity.name} (seed ${testSeed()})`, () => {
  it(dataIntegrity.summary, () => {
    const outcome = assertProperty(dataIntegrity);
    expect(outcome.runs).toBe(dataIntegrity.defaultRuns);
  });
});
