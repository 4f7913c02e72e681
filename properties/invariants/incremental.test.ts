// Step checkers look only at what the step touched (grant-accounting: the ring it names); in
// fullStepChecks mode they look at everything after every step. Both must reach the same verdict
// at the same step, on honest drivers and on every known-bad variant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Drivers } from '../../impl/world/drivers.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { PropertyDef, Scenario } from '../catalog.ts';
import { MUTANTS } from '../mutants/index.ts';
import { PROPERTIES } from '../properties.ts';
import { runSchedule } from '../run.ts';
import { ChoiceListChooser } from '../strategies/chooser.ts';
import { grantAccounting } from './grant-accounting.ts';
import { STEP_INVARIANTS } from './index.ts';
import type { Invariant } from './invariant.ts';

const SAMPLES = 12;

function verdict(
  def: PropertyDef,
  scenario: Scenario,
  drivers: Drivers,
  full: boolean,
  stepInvariants: readonly Invariant[] = def.stepInvariants ?? STEP_INVARIANTS,
): string {
  const run = runSchedule({
    config: scenario.config,
    drivers,
    chooser: new ChoiceListChooser(scenario.choices),
    stepsMax: def.stepsMax,
    drainStepsMax: def.drainStepsMax,
    stepInvariants,
    ...(def.quiescenceInvariants !== undefined
      ? { quiescenceInvariants: def.quiescenceInvariants }
      : {}),
    fullStepChecks: full,
  });
  return JSON.stringify({ steps: run.steps, drain: run.drainSteps, violation: run.violation });
}

const DRIVERS: readonly Drivers[] = [
  HONEST_DRIVERS,
  ...[...MUTANTS.values()].map((m) => m.drivers),
];

/** Scenarios where full and incremental checks disagree, as "property/drivers" labels. */
function disagreements(stepInvariants?: (def: PropertyDef) => readonly Invariant[]): {
  differ: string[];
  findings: number;
} {
  const differ: string[] = [];
  let findings = 0;
  for (const def of PROPERTIES) {
    const scenarios = fc.sample(def.scenario, { seed: 12, numRuns: SAMPLES });
    // A checker that judges the action itself has no full check to agree with.
    const narrowing = (def.stepInvariants ?? STEP_INVARIANTS).filter((i) => !i.judgesAction);
    for (const drivers of DRIVERS) {
      for (const scenario of scenarios) {
        const invariants = (stepInvariants?.(def) ?? narrowing).filter((i) => !i.judgesAction);
        const full = verdict(def, scenario, drivers, true, narrowing);
        const incremental = verdict(def, scenario, drivers, false, invariants);
        if (full !== incremental) differ.push(`${def.name}/${drivers.name}`);
        if (full.includes('"code":"grant-leak"')) findings += 1;
      }
    }
  }
  return { differ, findings };
}

describe('incremental step checks', () => {
  it('reach the same verdict at the same step as a full check after every step', () => {
    const { differ, findings } = disagreements();
    expect(differ).toEqual([]);
    // The mutants make the grant checks fire: agreement is not between two silent checkers.
    expect(findings).toBeGreaterThan(0);
  });

  it('teeth: a checker that skips ring steps disagrees with the full check', () => {
    const blind: Invariant = {
      ...grantAccounting,
      start(config) {
        const inner = grantAccounting.start(config);
        return {
          check: (world, ledger, action) =>
            action !== undefined && 'ring' in action ? [] : inner.check(world, ledger, action),
        };
      },
    };
    const swap = (def: PropertyDef): readonly Invariant[] =>
      (def.stepInvariants ?? STEP_INVARIANTS).map((i) => (i === grantAccounting ? blind : i));
    expect(disagreements(swap).differ.length).toBeGreaterThan(0);
  });
});
