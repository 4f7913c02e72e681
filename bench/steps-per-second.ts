// Simulated actions per second on the reference scenario of issue 4: 4 queues, order-1 rings,
// persistent grants and indirect descriptors on, 256 requests of mixed size from 4 vCPUs, a
// seeded random schedule. Checks off measures the world alone; checks on adds every invariant.
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  NO_FAULTS,
  type WorkloadItem,
  type WorldConfig,
} from '../impl/world/config.ts';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { enabled } from '../impl/world/enabled.ts';
import { initWorld } from '../impl/world/init.ts';
import { step } from '../impl/world/step.ts';
import { Ledger } from '../properties/ledger.ts';
import { runSchedule } from '../properties/run.ts';
import { SeededChooser } from '../properties/strategies/chooser.ts';
import { interleave } from './interleave.ts';
import type { BenchFigure } from './main.ts';
import { ringRoundTrips } from './ring-ops.ts';

export function referenceWorkload(): WorkloadItem[] {
  const items: WorkloadItem[] = [];
  const ops = ['write', 'read', 'write', 'read', 'flush', 'discard'] as const;
  const sizes = [1, 8, 24, 64, 128, 256];
  for (let i = 0; i < 256; i++) {
    const op = ops[i % ops.length]!;
    items.push({
      vcpu: i % 4,
      op,
      sector: ((i * 37) % 120) * 128,
      sectorCount: op === 'flush' ? 0 : sizes[(i * 7) % sizes.length]!,
      offsetSectors: op === 'flush' ? 0 : i % 8,
    });
  }
  return items;
}

export const REFERENCE_CONFIG: WorldConfig = {
  vcpuCount: 4,
  abi: 'x86_64-abi',
  diskSectors: 16384,
  frontend: {
    ...DEFAULT_FRONTEND,
    queueCountMax: 4,
    ringPageOrderMax: 1,
    indirectSegmentsMax: 32,
    persistent: true,
  },
  backend: {
    ...DEFAULT_BACKEND,
    queueCountMax: 4,
    ringPageOrderMax: 1,
    indirectSegmentsMax: 256,
    persistent: true,
  },
  workload: referenceWorkload(),
  faults: NO_FAULTS,
};

/** The reference workload spread over 16 vCPUs, so that 16 queues all carry requests. */
function wideConfig(queues: number, order: number): WorldConfig {
  return {
    ...REFERENCE_CONFIG,
    vcpuCount: 16,
    frontend: { ...REFERENCE_CONFIG.frontend, queueCountMax: queues, ringPageOrderMax: order },
    backend: { ...REFERENCE_CONFIG.backend, queueCountMax: queues, ringPageOrderMax: order },
    workload: REFERENCE_CONFIG.workload.map((item, i) => ({ ...item, vcpu: i % 16 })),
  };
}

/** 16 queues of order-4 rings (the most the reference backend negotiates) and 1 queue of order 0. */
export const WIDE_CONFIG = wideConfig(16, 4);
export const NARROW_CONFIG = wideConfig(1, 0);

/** A bench variant's work: one seeded run to quiescence; returns the actions it took. */
export function worldRuns(config: WorldConfig, checks: boolean): () => number {
  let seed = 1;
  return () => {
    const run = runSchedule({
      config,
      drivers: HONEST_DRIVERS,
      chooser: new SeededChooser(seed++, 100_000),
      stepsMax: 100_000,
      drainStepsMax: 100_000,
      ...(checks ? {} : { stepInvariants: [], quiescenceInvariants: [] }),
    });
    if (run.violation !== undefined)
      throw new Error(`bench scenario failed: ${run.violation.message}`);
    return run.steps + run.drainSteps;
  };
}

/** Where the time goes: the share of step() time per action kind, plus enabled() itself. */
function profile(runs: number): BenchFigure[] {
  const spent = new Map<string, number>();
  const add = (key: string, ms: number): void => {
    spent.set(key, (spent.get(key) ?? 0) + ms);
  };
  for (let seed = 1; seed <= runs; seed++) {
    const world = initWorld(REFERENCE_CONFIG, HONEST_DRIVERS, new Ledger());
    const chooser = new SeededChooser(seed, 100_000);
    for (let n = 0; n < 200_000; n++) {
      let t = performance.now();
      const actions = enabled(world);
      add('enabled()', performance.now() - t);
      if (actions.length === 0) break;
      const choice = chooser.choose(actions.length);
      const action = actions[choice === 'drain' ? 0 : choice]!;
      t = performance.now();
      step(world, action);
      add(`step ${action.actor}.${action.kind}`, performance.now() - t);
    }
  }
  const total = [...spent.values()].reduce((a, b) => a + b, 0);
  return [...spent.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([label, ms]) => ({
      label: `  share of time: ${label}`,
      value: (100 * ms) / total,
      unit: '%',
    }));
}

const TARGET_OFF = 0.2;
const TARGET_ON = 0.14;
const TARGET_WIDE = 0.5;

export function run(): BenchFigure[] {
  const rates = interleave(
    [
      { name: 'ring', work: ringRoundTrips(true) },
      { name: 'off', work: worldRuns(REFERENCE_CONFIG, false) },
      { name: 'on', work: worldRuns(REFERENCE_CONFIG, true) },
      { name: 'wide', work: worldRuns(WIDE_CONFIG, true) },
      { name: 'narrow', work: worldRuns(NARROW_CONFIG, true) },
    ],
    { rounds: 5, sliceSeconds: 0.4 },
  );
  const rate = (name: string): number => rates.get(name)!;
  const ratio = (label: string, value: number, target: number): BenchFigure => ({
    label,
    value,
    unit: `(target >= ${target}${value >= target ? ', met' : ', NOT met'})`,
    digits: 2,
  });
  return [
    { label: 'ring round trips, x86_64 encode + private copy', value: rate('ring'), unit: 'req/s' },
    { label: 'world, reference scenario, checks off', value: rate('off'), unit: 'actions/s' },
    { label: 'world, reference scenario, checks on', value: rate('on'), unit: 'actions/s' },
    { label: 'world, 16 queues x order 4, checks on', value: rate('wide'), unit: 'actions/s' },
    { label: 'world, 1 queue x order 0, checks on', value: rate('narrow'), unit: 'actions/s' },
    ratio('ratio: world checks off / ring round trips', rate('off') / rate('ring'), TARGET_OFF),
    ratio('ratio: world checks on / ring round trips', rate('on') / rate('ring'), TARGET_ON),
    ratio(
      'ratio: 16 queues x order 4 / 1 queue, checks on',
      rate('wide') / rate('narrow'),
      TARGET_WIDE,
    ),
    ...profile(5),
  ];
}
