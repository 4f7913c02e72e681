// The main job's figures: what a `blkif check` campaign's runs look like (actions per run, how
// many runs fill a ring: the ring-full paths are where blkfront stops queues and the backend's
// final checks matter), how long the command takes to start, and what `--jobs 2` buys over
// `--jobs 1` (wall time, the two in turns, the ratio of each pair). Those are figures of the
// compiled `blkif` that `npm ci` builds: in a checkout edited since, cli/bin.mjs would run the
// sources through tsx (and every --jobs worker transpile them again), so dist/ is brought up to
// date first (tools/build.mjs does nothing when it is current).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import type { World } from '../impl/world/world.ts';
import { ringIdxDistance } from '../impl/xen/ring-index.ts';
import { PROPERTIES } from '../properties/properties.ts';
import { runSchedule } from '../properties/run.ts';
import { ChoiceListChooser } from '../properties/strategies/chooser.ts';
import { median, medianWallMs } from './interleave.ts';
import type { BenchFigure } from './main.ts';

const exec = promisify(execFile);
const BIN = new URL('../cli/bin.mjs', import.meta.url).pathname;
const BUILD = new URL('../tools/build.mjs', import.meta.url).pathname;
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

/** Rounds of the --jobs comparison: `blkif check` with one job and with two, in turns. */
const JOBS_ROUNDS = 3;
/**
 * Runs per property of that campaign: four times `npm run check`'s budgets, so that what a job
 * pays once (a worker loading and warming the model, the last chunk's tail) weighs as in a
 * campaign someone waits for rather than in a few seconds' smoke run.
 */
const JOBS_RUNS = 1000;

async function jobsFigures(): Promise<BenchFigure[]> {
  // A fixed seed, so every round runs the same campaign.
  const args = ['check', '--seed', '1', '--runs', String(JOBS_RUNS)];
  const check = (jobs: number) =>
    exec(process.execPath, [BIN, ...args, '--jobs', String(jobs)], { maxBuffer: 64 << 20 });
  const ones: number[] = [];
  const twos: number[] = [];
  const ratios: number[] = [];
  // A short campaign first, not counted: the first run of a bench paid for reading the compiled
  // modules from disk, and it was always a --jobs 1 run.
  await exec(process.execPath, [BIN, 'check', '--seed', '1', '--runs', '100', '--jobs', '2']);
  for (let round = 0; round < JOBS_ROUNDS; round++) {
    // Each pair in the other order than the one before, so that a machine slowing down or
    // speeding up during the bench (other work on its cores) weighs on both alike.
    const order = round % 2 === 0 ? [1, 2] : [2, 1];
    const wall = new Map<number, number>();
    for (const jobs of order)
      wall.set(jobs, await medianWallMs(1, async () => void (await check(jobs))));
    const one = wall.get(1)!;
    const two = wall.get(2)!;
    ones.push(one);
    twos.push(two);
    ratios.push(two / one);
  }
  return [
    {
      label: `main job: \`blkif check --runs ${JOBS_RUNS}\` wall time, --jobs 1 (median)`,
      value: median(ones),
      unit: 'ms',
    },
    {
      label: `main job: \`blkif check --runs ${JOBS_RUNS}\` wall time, --jobs 2 (median)`,
      value: median(twos),
      unit: 'ms',
    },
    {
      label: `main job: --jobs 2 / --jobs 1 wall time (median of ${JOBS_ROUNDS} pairs)`,
      value: median(ratios),
      unit: '(target <= 0.6)',
      digits: 2,
    },
  ];
}

export async function run(): Promise<BenchFigure[]> {
  await exec(process.execPath, [BUILD]);
  const startUp = await medianWallMs(5, async () => {
    await exec(process.execPath, [BIN, '--help']);
  });
  return [
    ...campaignShape(),
    { label: 'start-up: `blkif --help` wall time (median of 5)', value: startUp, unit: 'ms' },
    ...(await jobsFigures()),
  ];
}
