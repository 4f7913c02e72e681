// Step checkers look only at what the step touched: the run's shared comparison of every ring's
// numbers (ring-changes.ts) names the rings that changed, which ring-isolation judges and
// ring-bounds, no-leak, answered, release-once and grant-accounting judge alone (grant-accounting
// also the ring the step names, and of its shadows those holding entries or just published); in
// fullStepChecks mode they look at everything after every step (ring-isolation: its reference,
// whole snapshots compared). Both must reach the same verdict at the same step, on honest drivers
// and on every known-bad variant.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Drivers } from '../../impl/world/drivers.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { PropertyDef, Scenario } from '../catalog.ts';
import { MUTANTS } from '../mutants/index.ts';
import { PROPERTIES } from '../properties.ts';
import { runSchedule } from '../run.ts';
import { ChoiceListChooser } from '../strategies/chooser.ts';
import type { World } from '../../impl/world/world.ts';
import { grantAccounting } from './grant-accounting.ts';
import { STEP_INVARIANTS } from './index.ts';
import type { Invariant } from './invariant.ts';
import { RingChanges, type RunScope, type StepChanges } from './ring-changes.ts';
import { ringIsolation, ringIsolationReference } from './ring-isolation.ts';
import type { Violation } from './violation.ts';

/**
 * Scenarios per property. Every variant runs on every property's scenarios: a variant caught by
 * one invariant must not make another checker's narrowing go wrong first.
 */
const SAMPLES = 6;

interface Verdict {
  readonly text: string;
  readonly violation: Violation | undefined;
}

function verdict(
  def: PropertyDef,
  scenario: Scenario,
  drivers: Drivers,
  full: boolean,
  stepInvariants: readonly Invariant[],
): Verdict {
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
  const text = JSON.stringify({
    steps: run.steps,
    drain: run.drainSteps,
    violation: run.violation,
  });
  return { text, violation: run.violation };
}

const DRIVERS: readonly Drivers[] = [
  HONEST_DRIVERS,
  ...[...MUTANTS.values()].map((m) => m.drivers),
];

/** The teeth tests' runs: the grant property, honest drivers and the two grant variants. */
const GRANT_PROPERTY = PROPERTIES.filter((def) => def.name === 'grant-accounting');
const GRANT_DRIVERS = DRIVERS.filter((d) =>
  [HONEST_DRIVERS.name, 'grants-to-first-ring', 'grant-returned-twice'].includes(d.name),
);

/** Grant-property scenarios the grant checker's teeth run on. */
const GRANT_TEETH_SAMPLES = 32;

const stepList = (def: PropertyDef): readonly Invariant[] => def.stepInvariants ?? STEP_INVARIANTS;

/** The full check: every narrowing checker without the action, ring-isolation's reference. */
const fullList = (def: PropertyDef): readonly Invariant[] =>
  stepList(def).map((i) => (i === ringIsolation ? ringIsolationReference : i));

/**
 * Scenarios where full and incremental checks disagree, as "property/drivers" labels, and what
 * the full checks found, as "drivers: code" labels.
 */
function disagreements(
  incremental: (def: PropertyDef) => readonly Invariant[] = stepList,
  defs: readonly PropertyDef[] = PROPERTIES,
  driversList: readonly Drivers[] = DRIVERS,
  samples: number = SAMPLES,
): {
  differ: string[];
  found: Set<string>;
} {
  const differ: string[] = [];
  const found = new Set<string>();
  for (const def of defs) {
    const scenarios = fc.sample(def.scenario, { seed: 12, numRuns: samples });
    for (const drivers of driversList) {
      for (const scenario of scenarios) {
        const full = verdict(def, scenario, drivers, true, fullList(def));
        const narrow = verdict(def, scenario, drivers, false, incremental(def));
        if (full.text !== narrow.text) differ.push(`${def.name}/${drivers.name}`);
        if (full.violation !== undefined) found.add(`${drivers.name}: ${full.violation.code}`);
      }
    }
  }
  return { differ, found };
}

describe('incremental step checks', () => {
  it('reach the same verdict at the same step as a full check after every step', () => {
    const { differ, found } = disagreements();
    expect(differ).toEqual([]);
    // The variants make both narrowed checks fire: agreement is not between silent checkers.
    expect(found).toContain('grants-to-first-ring: ring-isolation');
    expect(found).toContain('grant-returned-twice: grant-leak');
    expect(found).not.toContain(`${HONEST_DRIVERS.name}: ring-isolation`);
    expect(found).not.toContain(`${HONEST_DRIVERS.name}: grant-leak`);
  });

  it('teeth: a grant checker that skips ring steps disagrees with the full check', () => {
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
      stepList(def).map((i) => (i === grantAccounting ? blind : i));
    // More samples than the agreement test: in 6 of the longer I/O-heavy runs (schedules of up
    // to 700 choices) another checker or a later step reported each variant first.
    expect(
      disagreements(swap, GRANT_PROPERTY, GRANT_DRIVERS, GRANT_TEETH_SAMPLES).differ.length,
    ).toBeGreaterThan(0);
  });

  it('teeth: an isolation checker blind to ring 0 disagrees with the reference', () => {
    const blind: Invariant = {
      ...ringIsolation,
      start(config) {
        const inner = ringIsolation.start(config);
        return {
          check: (world, ledger, action) =>
            inner.check(world, ledger, action).filter((v) => v.ring !== 0),
        };
      },
    };
    const swap = (def: PropertyDef): readonly Invariant[] =>
      stepList(def).map((i) => (i === ringIsolation ? blind : i));
    expect(disagreements(swap, GRANT_PROPERTY, GRANT_DRIVERS).differ).toContain(
      'grant-accounting/grants-to-first-ring',
    );
  });

  it('teeth: a shared comparison blind to ring 0 makes the narrowed checks disagree', () => {
    // Ring 0's changes are dropped from what every step checker of the run is told.
    class BlindToRingZero extends RingChanges {
      override update(world: World): StepChanges {
        const now = super.update(world);
        const front = world.front.device.rings;
        const back = world.host.back.rings;
        let kept = 0;
        for (let k = 0; k < now.frontCount; k++) {
          if (front[now.front[k]!]!.index === 0) continue;
          now.front[kept] = now.front[k]!;
          now.frontAt[kept] = now.frontAt[k]!;
          now.frontFrom[kept++] = now.frontFrom[k]!;
        }
        now.frontCount = kept;
        kept = 0;
        for (let k = 0; k < now.backCount; k++) {
          if (back[now.back[k]!]!.index === 0) continue;
          now.back[kept] = now.back[k]!;
          now.backAt[kept] = now.backAt[k]!;
          now.backFrom[kept++] = now.backFrom[k]!;
        }
        now.backCount = kept;
        return now;
      }
    }
    const blind = new WeakMap<RunScope, RunScope>();
    const blindScope = (scope: RunScope | undefined): RunScope => {
      const key = scope ?? { changes: new RingChanges() };
      let out = blind.get(key);
      if (out === undefined) {
        out = { changes: new BlindToRingZero() };
        blind.set(key, out);
      }
      return out;
    };
    const swap = (def: PropertyDef): readonly Invariant[] =>
      stepList(def).map((i) => ({
        ...i,
        start: (config, scope) => i.start(config, blindScope(scope)),
      }));
    // Each narrowing misses its variant's finding on ring 0: ring-bounds (a req_prod published
    // past req_prod_pvt), no-leak (pages shown whole to an untrusted backend, a response's padding),
    // answered (a barrier dropped unanswered), ring-isolation (grants taken from ring 0).
    const variants = [
      'publish-past-private',
      'blkfront-ignores-trusted',
      'response-padding-from-stack',
      'barrier-forgotten',
      'grants-to-first-ring',
    ];
    const defs = PROPERTIES.filter((def) => def.name === 'ring-bounds');
    const drivers = DRIVERS.filter((d) => variants.includes(d.name));
    const { differ } = disagreements(swap, defs, drivers);
    expect(new Set(differ)).toEqual(new Set(variants.map((v) => `ring-bounds/${v}`)));
  });
});
