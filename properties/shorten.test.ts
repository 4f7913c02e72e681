// The interleaving shortener (shorten.ts): a counterexample comes out shorter, breaking the same
// invariant, replayable from its choices (traces/replay.test.ts: and from its trace), and the same
// on every call, under either strategy. Teeth:
// asked to keep a violation the run does not have, it keeps nothing (the scenario comes back as
// given), so a shortener that ignored which invariant broke would be caught.
import { describe, expect, it } from 'vitest';
import { checkProperty, runScenario } from './catalog.ts';
import { MUTANTS } from './mutants/index.ts';
import { propertyOfMutant } from './properties.ts';
import { shortenSchedule } from './shorten.ts';

const VARIANT = 'drop-grant-on-completion';
const mutant = MUTANTS.get(VARIANT)!;
const def = propertyOfMutant(mutant)!;
const check = (shorten: boolean) =>
  checkProperty(def, { numRuns: 200, seed: 1, drivers: mutant.drivers, shorten });

describe('shortening a counterexample', () => {
  const plain = check(false).failure!;
  const short = check(true).failure!;

  it(`${VARIANT}: fewer steps than fast-check's shrunk run, the same invariant broken`, () => {
    expect(plain.violation.code).toBe(short.violation.code);
    expect(short.trace.steps.length).toBeLessThan(plain.trace.steps.length);
  });

  it('the shortened scenario fails again from its choices', () => {
    const again = runScenario(def, short.scenario, mutant.drivers, false);
    expect(again.violation?.code).toBe(short.violation.code);
    expect(again.violation?.step).toBe(short.violation.step);
  });

  it('is deterministic: the same counterexample gives the same shortened choices', () => {
    expect(check(true).failure!.scenario).toEqual(short.scenario);
  });

  it('a PCT counterexample is shortened too, and replays from its (index) choices', () => {
    const pct = (shorten: boolean) =>
      checkProperty(def, {
        numRuns: 200,
        seed: 1,
        drivers: mutant.drivers,
        shorten,
        strategy: 'pct',
      }).failure!;
    const long = pct(false);
    const cut = pct(true);
    expect(cut.violation.code).toBe(long.violation.code);
    expect(cut.trace.steps.length).toBeLessThan(long.trace.steps.length);
    const again = runScenario(def, cut.scenario, mutant.drivers, false);
    expect(again.violation?.code).toBe(cut.violation.code);
    expect(again.violation?.step).toBe(cut.violation.step);
  });

  it('teeth: asked to keep a violation the run does not have, it keeps nothing', () => {
    const first = runScenario(def, plain.scenario, mutant.drivers, true);
    const actions = first.records.map((r) => r.action);
    const other = first.violation?.code === 'ring-bounds' ? 'grant-leak' : 'ring-bounds';
    const result = shortenSchedule(def, plain.scenario, mutant.drivers, actions, other, 50);
    expect(result.scenario).toBe(plain.scenario);
    expect(result.runs).toBeGreaterThan(0);
    const kept = shortenSchedule(
      def,
      plain.scenario,
      mutant.drivers,
      actions,
      first.violation!.code,
    );
    expect(kept.scenario).not.toBe(plain.scenario);
  });
});

describe('the shrinking budget', () => {
  // A variant whose shrinking takes fast-check tens of thousands of runs unbounded.
  const slow = MUTANTS.get('flush-op-ignores-barrier')!;
  const slowDef = propertyOfMutant(slow)!;
  const budget = 60;
  const bounded = (path?: string) =>
    checkProperty(slowDef, {
      numRuns: 400,
      seed: 1,
      drivers: slow.drivers,
      shrinkRunsMax: budget,
      ...(path === undefined ? {} : { path }),
    });
  const first = bounded();

  it('ends the shrinking after that many runs: a failure, not an interrupted check', () => {
    expect(first.failure?.violation.code).toBe('protocol-error');
    expect(first.interrupted).toBeUndefined();
    // Every run of the campaign up to the first failure (a budget of 0), then at most the budget.
    const upToFailure = checkProperty(slowDef, {
      numRuns: 400,
      seed: 1,
      drivers: slow.drivers,
      shrinkRunsMax: 0,
    }).runs;
    expect(first.runs).toBeGreaterThan(upToFailure);
    expect(first.runs).toBeLessThanOrEqual(upToFailure + budget);
    expect(bounded().failure?.scenario).toEqual(first.failure?.scenario);
  });

  it('its path replays the counterexample it stopped at, with no shrinking past it', () => {
    const again = bounded(first.failure!.path);
    expect(again.failure?.scenario).toEqual(first.failure?.scenario);
    expect(again.runs).toBe(1);
  });
});
