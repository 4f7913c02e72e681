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
import { jobsCeiling, machineBusyTicks, othersShare } from './jobs-ceiling.ts';
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

/** Pairs of the --jobs comparison counted: `blkif check` with one job and with two, in turns. */
const JOBS_ROUNDS = 3;
/** Pairs tried at most to find JOBS_ROUNDS that other processes left alone. */
const JOBS_TRIES = 7;
/**
 * Share of the machine's CPU time other processes may take during a run of a counted pair. The
 * cores are shared with other people's work: while it holds a core, two jobs have one core
 * between them and one job still has its own, so a busy machine measured the other work rather
 * than --jobs (pairs measured at about 1.0 and 1.4 while someone's campaign ran beside them).
 */
const OTHERS_SHARE_MAX = 0.1;
/**
 * Runs per property of that campaign: four times `npm run check`'s budgets, so that what a job
 * pays once (a worker loading and warming the model, the last chunk's tail) weighs as in a
 * campaign someone waits for rather than in a few seconds' smoke run.
 */
const JOBS_RUNS = 1000;
interface Timed {
  readonly wallMs: number;
  /** The share of the machine's CPU time that processes other than the run took during it. */
  readonly others: number | undefined;
}

/**
 * One `blkif check` run: its wall time, and how much of the machine other processes used
 * meanwhile. The run's own CPU time (all its threads) is its shell's waited-for children's time
 * (/proc/<shell>/stat's cutime and cstime), read by the shell once the run has ended.
 */
async function timedCheck(args: readonly string[]): Promise<Timed> {
  const busy = machineBusyTicks();
  const started = performance.now();
  const script = '"$0" "$@" >/dev/null; s=$?; cat /proc/$$/stat; exit $s';
  const { stdout } = await exec('/bin/sh', ['-c', script, process.execPath, BIN, ...args], {
    maxBuffer: 64 << 20,
  });
  const wallMs = performance.now() - started;
  const after = machineBusyTicks();
  if (busy === undefined || after === undefined) return { wallMs, others: undefined };
  // Fields after the command's name: state is the first, cutime the 14th, cstime the 15th.
  const fields = stdout
    .slice(stdout.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/);
  const own = Number(fields[13]) + Number(fields[14]);
  return { wallMs, others: othersShare(busy, after, own, wallMs) };
}

async function jobsFigures(): Promise<BenchFigure[]> {
  // A fixed seed, so every round runs the same campaign.
  const args = (jobs: number) => [
    'check',
    '--seed',
    '1',
    '--runs',
    String(JOBS_RUNS),
    '--jobs',
    String(jobs),
  ];
  // A short campaign first, not counted: the first run of a bench paid for reading the compiled
  // modules from disk, and it was always a --jobs 1 run.
  await exec(process.execPath, [BIN, 'check', '--seed', '1', '--runs', '100', '--jobs', '2']);
  const pairs: { one: Timed; two: Timed }[] = [];
  const quiet = (t: Timed) => t.others === undefined || t.others <= OTHERS_SHARE_MAX;
  for (let round = 0; round < JOBS_TRIES; round++) {
    // Each pair in the other order than the one before, so that a machine slowing down or
    // speeding up during the bench weighs on both alike.
    const order = round % 2 === 0 ? [1, 2] : [2, 1];
    const timed = new Map<number, Timed>();
    for (const jobs of order) timed.set(jobs, await timedCheck(args(jobs)));
    pairs.push({ one: timed.get(1)!, two: timed.get(2)! });
    if (pairs.filter((p) => quiet(p.one) && quiet(p.two)).length === JOBS_ROUNDS) break;
  }
  const clean = pairs.filter((p) => quiet(p.one) && quiet(p.two));
  // Too few quiet pairs in JOBS_TRIES: the figures of every pair, and the row below says so.
  const counted = clean.length === JOBS_ROUNDS ? clean : pairs;
  return [
    {
      label: `main job: \`blkif check --runs ${JOBS_RUNS}\` wall time, --jobs 1 (median)`,
      value: median(counted.map((p) => p.one.wallMs)),
      unit: 'ms',
    },
    {
      label: `main job: \`blkif check --runs ${JOBS_RUNS}\` wall time, --jobs 2 (median)`,
      value: median(counted.map((p) => p.two.wallMs)),
      unit: 'ms',
    },
    {
      label: `main job: --jobs 2 / --jobs 1 wall time (median of ${counted.length} pairs)`,
      value: median(counted.map((p) => p.two.wallMs / p.one.wallMs)),
      unit: '(target <= 0.6)',
      digits: 2,
    },
    {
      label: `main job: --jobs pairs set aside, other processes above ${100 * OTHERS_SHARE_MAX}% of the CPU`,
      value: pairs.length - clean.length,
      unit:
        clean.length === JOBS_ROUNDS ? 'pairs' : `pairs (only ${clean.length} quiet: all counted)`,
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
    ...(await jobsCeiling(BIN, JOBS_RUNS, OTHERS_SHARE_MAX)),
  ];
}
