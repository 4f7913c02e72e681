// A scenario: one configuration (with its workload and fault plan) and one schedule. Everything
// is drawn in one fc.record and assembled by a map, so fast-check shrinks every part at once and
// a switched-off swarm feature drops out of the counterexample.
import fc from 'fast-check';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { Scenario } from '../catalog.ts';
import {
  abiOf,
  backendConfigArb,
  diskSectorsArb,
  frontendConfigArb,
  swarmBackend,
  swarmFrontend,
  vcpuCountArb,
} from './config.ts';
import { faultsOf, lateFaultsArb, rawFaultsArb, withLateFaults } from './faults.ts';
import { scheduleArb } from './schedule.ts';
import { DEFAULT_WEIGHTS, type SwarmWeights, swarmArb } from './swarm.ts';
import { rawWorkloadArb, workloadOf } from './workload.ts';

export interface ScenarioShape {
  readonly weights: SwarmWeights;
  /** Workload items per run (at least one: every run submits something). */
  readonly itemCountMin: number;
  readonly itemCountMax: number;
  readonly choiceCountMax: number;
  /** Percent of schedule choices that pick from the end of the enabled list (see schedule.ts). */
  readonly fromEndPercent: number;
  readonly diskSectors: fc.Arbitrary<number>;
  readonly vcpuCount: fc.Arbitrary<number>;
  /** Percent of runs drawn I/O-heavy (ioHeavyShape): many requests, several vCPUs, rings filling. */
  readonly ioHeavyPercent: number;
}

/**
 * Longest schedule of an I/O-heavy run. The fair drain after a short one keeps the backend up
 * with the frontend, so the ring fills only in the scheduled phase: on seed 1, 10% of I/O-heavy
 * runs with under 100 choices filled a ring, 68% of those with 200 to 300; a longer draw
 * (uniform up to the maximum) makes short schedules rarer without a minimum that shrinking
 * would have to work down from.
 */
const IO_HEAVY_CHOICES_MAX = 700;

export const DEFAULT_SHAPE: ScenarioShape = {
  weights: DEFAULT_WEIGHTS,
  itemCountMin: 1,
  itemCountMax: 16,
  choiceCountMax: 160,
  fromEndPercent: 0,
  diskSectors: diskSectorsArb,
  vcpuCount: vcpuCountArb,
  ioHeavyPercent: 0,
};

/**
 * The I/O-heavy swarm branch: once connected the run is mostly data path — 48 to 128 requests
 * from 2 to 4 vCPUs, one-page rings, and schedules that mostly pick from the end of enabled()
 * (submissions and dispatch), so the frontend outruns the backend and rings fill. Control-plane
 * faults stay with the ordinary branch; the run's other features keep their weights.
 */
export function ioHeavyShape(shape: ScenarioShape): ScenarioShape {
  return {
    ...shape,
    weights: {
      ...shape.weights,
      bigRings: 0,
      multiQueue: 60,
      migrations: 45,
      saveUnderLoad: 100,
      unplug: 25, // a detach under load (unplug with requests in flight)
      frontendClose: 0,
      hotplugFailure: 0,
      channelLimit: 0,
      transactionConflicts: 10,
      guestUnbind: 0,
      backendProbeFailure: 0,
    },
    vcpuCount: fc.integer({ min: 2, max: 4 }),
    itemCountMin: 48,
    itemCountMax: 128,
    choiceCountMax: IO_HEAVY_CHOICES_MAX,
    fromEndPercent: 95,
    ioHeavyPercent: 0,
  };
}

export function configArb(shape: ScenarioShape): fc.Arbitrary<WorldConfig> {
  return fc
    .record({
      swarm: swarmArb(shape.weights),
      vcpuCount: shape.vcpuCount,
      diskSectors: shape.diskSectors,
      frontend: frontendConfigArb(),
      backend: backendConfigArb(),
      workload: rawWorkloadArb({
        itemCountMin: shape.itemCountMin,
        itemCountMax: shape.itemCountMax,
      }),
      faults: rawFaultsArb,
    })
    .map(
      ({ swarm, vcpuCount, diskSectors, frontend, backend, workload, faults }): WorldConfig => ({
        vcpuCount,
        abi: abiOf(swarm),
        diskSectors,
        frontend: swarmFrontend(frontend, swarm),
        backend: swarmBackend(backend, swarm),
        workload: workloadOf(workload, vcpuCount, diskSectors, swarm),
        faults: faultsOf(faults, swarm),
      }),
    );
}

export function scenarioArb(shape: Partial<ScenarioShape> = {}): fc.Arbitrary<Scenario> {
  const full: ScenarioShape = { ...DEFAULT_SHAPE, ...shape };
  const ordinary = shapedScenarioArb(full);
  if (full.ioHeavyPercent <= 0) return ordinary;
  // The ordinary branch first: fast-check's oneof prefers it, so counterexamples stay ordinary.
  return fc.oneof(
    { weight: 100 - full.ioHeavyPercent, arbitrary: ordinary },
    { weight: full.ioHeavyPercent, arbitrary: shapedScenarioArb(ioHeavyShape(full)) },
  );
}

function shapedScenarioArb(full: ScenarioShape): fc.Arbitrary<Scenario> {
  return fc
    .record({
      config: configArb(full),
      choices: scheduleArb({
        choiceCountMax: full.choiceCountMax,
        fromEndPercent: full.fromEndPercent,
      }),
      late: lateFaultsArb(full.weights),
    })
    .map(({ config, choices, late }) => ({
      config: { ...config, faults: withLateFaults(config.faults, late) },
      choices,
    }));
}

/** Shapes with one feature forced on or off, for properties that aim at one family. */
export function withWeights(
  overrides: Partial<SwarmWeights>,
  shape: Partial<ScenarioShape> = {},
): Partial<ScenarioShape> {
  return { ...shape, weights: { ...DEFAULT_WEIGHTS, ...shape.weights, ...overrides } };
}
