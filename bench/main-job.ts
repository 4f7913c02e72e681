// The main job's figures: what a `blkif check` campaign's runs look like (actions per run, how
// many runs fill a ring: the ring-full paths are where blkfront stops queues and the backend's
// final checks matter), how long the command takes to start, and what `--jobs 2` buys over
// `--jobs 1` once the command has the option.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import type { World } from '../impl/world/world.ts';
import { ringIdxDistance } from '../impl/xen/ring-index.ts';
import { PROPERTIES } from '../properties/properties.ts';
import { runSchedule } from '../properties/run.ts';
import { ChoiceListChooser } from '../properties/strategies/chooser.ts';
import { medianWallMs } from './interleave.ts';
import type { BenchFigure } from './main.ts';

const exec = promisify(execFile);
const BIN = new URL('../cli/bin.mjs', import.meta.url).pathname;
/** Scenarios sampled per property (seeded: the figures describe the same runs every time). */
const SAMPLES = 100;

/** RING_FULL on any of blkfront's rings (a hostile backend's indices may even pass it). */
function anyRingFull(world: World): boolean {
  for (const rinfo of world.front.device.rings) {
    const f = rinfo.front;
    if (ringIdxDistance(f.rspCons, f.reqProdPvt) >= f.size) return true;
  }
  return false;
}

function campaignShape(): BenchFigure[] {
  let runs = 0;
  let actions = 0;
  let filled = 0;
  for (const def of PROPERTIES) {
    for (const scenario of fc.sample(def.scenario, { seed: 1, numRuns: SAMPLES })) {
      let full = false;
      const result = runSchedule({
        config: scenario.config,
        drivers: HONEST_DRIVERS,
        chooser: new ChoiceListChooser(scenario.choices),
        stepsMax: def.stepsMax,
        drainStepsMax: def.drainStepsMax,
        ...(def.stepInvariants !== undefined ? { stepInvariants: def.stepInvariants } : {}),
        ...(def.quiescenceInvariants !== undefined
          ? { quiescenceInvariants: def.quiescenceInvariants }
          : {}),
        onStep: (world) => {
          if (!full && anyRingFull(world)) full = true;
        },
      });
      runs += 1;
      actions += result.steps + result.drainSteps;
      if (full) filled += 1;
    }
  }
  return [
    {
      label: `main job: actions per run (${SAMPLES} runs of each property)`,
      value: actions / runs,
      unit: 'actions',
    },
    {
      label: 'main job: share of runs that fill a ring',
      value: (100 * filled) / runs,
      unit: '%',
      digits: 1,
    },
  ];
}

async function hasJobsOption(): Promise<boolean> {
  const { stdout } = await exec(process.execPath, [BIN, 'check', '--help']);
  return stdout.includes('--jobs');
}

async function jobsFigures(): Promise<BenchFigure[]> {
  const label = 'main job: `npm run check` wall time, --jobs 2 / --jobs 1';
  if (!(await hasJobsOption()))
    return [{ label, value: 0, unit: '', absent: 'not available (no --jobs in blkif check yet)' }];
  const wall = async (jobs: number): Promise<number> =>
    medianWallMs(1, async () => {
      await exec(process.execPath, [BIN, 'check', '--jobs', String(jobs)], {
        maxBuffer: 64 << 20,
      });
    });
  const one = await wall(1);
  const two = await wall(2);
  return [
    { label: 'main job: `blkif check` wall time, --jobs 1', value: one, unit: 'ms' },
    { label: 'main job: `blkif check` wall time, --jobs 2', value: two, unit: 'ms' },
    { label, value: two / one, unit: '(target <= 0.6)', digits: 2 },
  ];
}

export async function run(): Promise<BenchFigure[]> {
  const startUp = await medianWallMs(5, async () => {
    await exec(process.execPath, [BIN, '--help']);
  });
  return [
    ...campaignShape(),
    { label: 'start-up: `blkif --help` wall time (median of 5)', value: startUp, unit: 'ms' },
    ...(await jobsFigures()),
  ];
}
