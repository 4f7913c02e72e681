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
import type { BenchFigure } from './main.ts';

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

function measure(checks: boolean, seconds: number): number {
  let actions = 0;
  let seed = 1;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const run = runSchedule({
      config: REFERENCE_CONFIG,
      drivers: HONEST_DRIVERS,
      chooser: new SeededChooser(seed++, 100_000),
      stepsMax: 100_000,
      drainStepsMax: 100_000,
      ...(checks ? {} : { stepInvariants: [], quiescenceInvariants: [] }),
    });
    if (run.violation !== undefined)
      throw new Error(`reference scenario failed: ${run.violation.message}`);
    actions += run.steps + run.drainSteps;
  }
  return actions / ((performance.now() - started) / 1000);
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

export function run(): BenchFigure[] {
  measure(false, 0.3); // warm-up: let the JIT see the hot paths
  return [
    {
      label: 'world steps/s, invariant checks off (reference scenario)',
      value: measure(false, 2),
      unit: 'actions/s',
    },
    {
      label: 'world steps/s, invariant checks on (reference scenario)',
      value: measure(true, 2),
      unit: 'actions/s',
    },
    ...profile(5),
  ];
}
