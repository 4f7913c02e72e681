import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkProperty } from '../properties/catalog.ts';
import { describeReplay, ReplayError, replayTrace } from './replay.ts';
import { parseTrace, type Trace, traceJson } from './schema.ts';
import {
  CORRUPTING_DRIVERS,
  DEAF_DRIVERS,
  FIXTURE_PROPERTY,
  fixtureDrivers,
} from './testing/fixtures.ts';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'examples');

function failingTrace(drivers = CORRUPTING_DRIVERS, seed = 7, shorten = false): Trace {
  const outcome = checkProperty(FIXTURE_PROPERTY, { numRuns: 50, seed, drivers, shorten });
  expect(outcome.failure).toBeDefined();
  return outcome.failure!.trace;
}

describe('replay', () => {
  it('same seed twice gives a byte-identical trace', () => {
    expect(traceJson(failingTrace())).toBe(traceJson(failingTrace()));
    expect(traceJson(failingTrace(DEAF_DRIVERS, 3))).toBe(traceJson(failingTrace(DEAF_DRIVERS, 3)));
  });

  it('reproduces a safety and a liveness violation at their steps, observations included', () => {
    const cases = [
      [CORRUPTING_DRIVERS, /^data-integrity$/],
      [DEAF_DRIVERS, /^(no-lost-request|lost-wakeup)$/],
    ] as const;
    for (const [[drivers, code], shorten] of cases.flatMap(
      (c) =>
        [
          [c, false],
          [c, true],
        ] as const,
    )) {
      // Shortened as `blkif check` reports it, or as fast-check shrank it: both replay.
      const trace = failingTrace(drivers, 7, shorten);
      const result = replayTrace(trace, { drivers: fixtureDrivers });
      expect(result.reproduced).toBe(true);
      expect(result.actual?.code).toMatch(code);
      expect(traceJson(result.trace)).toBe(traceJson(trace));
      expect(describeReplay(result)).toMatch(/^reproduced: /);
    }
  });

  it('teeth: the honest drivers do not reproduce a mutant trace', () => {
    const trace = failingTrace();
    const result = replayTrace({ ...trace, drivers: 'honest' }, { drivers: fixtureDrivers });
    expect(result.reproduced).toBe(false);
    expect(describeReplay(result)).toMatch(
      /^NOT reproduced: the trace records data-integrity at step \d+/,
    );
  });

  it('a recorded action that is not enabled fails clearly', () => {
    const trace = failingTrace();
    const steps = [...trace.steps];
    steps.splice(1, 0, {
      ...steps[0]!,
      action: { actor: 'blkback', kind: 'consumeRequest', ring: 9 },
    });
    expect(() => replayTrace({ ...trace, steps }, { drivers: fixtureDrivers })).toThrow(
      /step 2: recorded action "blkback ring 9: consume one request" is not enabled/,
    );
    expect(() =>
      replayTrace({ ...trace, drivers: 'no-such' }, { drivers: fixtureDrivers }),
    ).toThrow(ReplayError);
  });

  it('every trace committed under docs/examples replays to its violation', () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const trace = parseTrace(readFileSync(join(EXAMPLES, file), 'utf8'));
      const result = replayTrace(trace);
      expect(describeReplay(result), file).toMatch(/^reproduced: /);
      expect(result.actual, file).toBeDefined();
    }
  });
});

describe('replay of a fixed liveness bug', () => {
  const example = parseTrace(
    readFileSync(join(EXAMPLES, 'lost-wakeup-frontend-skips-final-check.json'), 'utf8'),
  );
  // The variant "fixed": its name now stands for the honest drivers.
  const fixed = (name: string) => fixtureDrivers(name === example.drivers ? 'honest' : name);

  it('the drain after the recorded actions is performed: no violation, NOT reproduced', () => {
    const result = replayTrace(example, { drivers: fixed });
    expect(result.actual).toBeUndefined();
    expect(result.reproduced).toBe(false);
    expect(result.drainSteps).toBeGreaterThan(0);
    expect(result.trace.steps.length).toBe(example.steps.length + result.drainSteps);
    expect(describeReplay(result)).toMatch(
      /^NOT reproduced: the trace records lost-wakeup at step \d+, the replay found no violation \(after the recorded actions, the fair drain ran \d+ more steps?\)$/,
    );
    const one = describeReplay({ ...result, drainSteps: 1 });
    expect(one).toMatch(/ran 1 more step\)$/);
  });

  it('teeth: with no drain, the end of the recorded actions looks like a lost request', () => {
    const result = replayTrace(example, { drivers: fixed, drainStepsMax: 0 });
    expect(result.actual?.code).toBe('no-lost-request');
    expect(result.actual?.step).toBe(example.steps.length);
  });

  it('the original drivers still reproduce it at its step, with no drain step', () => {
    const result = replayTrace(example, { drivers: fixtureDrivers });
    expect(result.reproduced).toBe(true);
    expect(result.drainSteps).toBe(0);
  });
});
