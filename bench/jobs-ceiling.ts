// Beside what `--jobs 2` gains (main-job.ts), two figures that say why a campaign's ratio is above
// 0.5 on this machine. (1) What a second core gives to work that shares nothing between its
// threads: an allocating loop (short-lived objects, as a world's steps make), two threads against
// one. One thread alone has the second core for V8's helper threads; two share both cores with
// theirs. (2) The optimizing compiler's time in one `blkif check` run (V8's --trace-opt): every
// job compiles the model for itself; one job alone compiles on the idle core, two compete for it.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { median } from './interleave.ts';
import type { BenchFigure } from './main.ts';

const exec = promisify(execFile);

/** /proc's clock ticks per second (USER_HZ). */
export const TICKS = 100;

/** Ticks every processor of the machine has been busy (/proc/stat), undefined off Linux. */
export function machineBusyTicks(): number | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // cpu user nice system idle iowait irq softirq steal: all but idle and iowait, steal included
  // (another machine on the same host holding the core).
  return f[1]! + f[2]! + f[3]! + f[6]! + f[7]! + (f[8] ?? 0);
}

/**
 * The share of the machine's CPU time that processes other than ours took between two readings of
 * machineBusyTicks `wallMs` apart, our own being `ownTicks`.
 */
export function othersShare(
  before: number,
  after: number,
  ownTicks: number,
  wallMs: number,
): number {
  const machine = (wallMs / 1000) * TICKS * availableParallelism();
  return Math.max(0, after - before - ownTicks) / machine;
}

/** Objects the loop makes in all: about half a second of one thread's time. */
const LOOP_OBJECTS = 12_000_000;
/** Pairs of the loop (one thread, two threads, in turns); the median ratio is reported. */
const LOOP_PAIRS = 5;

/** Short-lived objects and small typed arrays, a few thousand live at once, as in a world. */
const LOOP = `function allocatingLoop(n) {
  let live = [];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const o = { at: i, bytes: new Uint8Array(64), pair: [i, i + 1] };
    live.push(o);
    if (live.length > 5000) live = [];
    sum += o.pair[1];
  }
  return sum;
}`;

// One text for both threads, so the two run the same code: the worker evaluates it too.
const allocatingLoop = new Function(`${LOOP}; return allocatingLoop;`)() as (n: number) => number;

function inWorker(n: number): Promise<void> {
  const code = `${LOOP}; const { parentPort, workerData } = require('node:worker_threads');
allocatingLoop(workerData); parentPort.postMessage('done');`;
  const worker = new Worker(code, { eval: true, workerData: n });
  return new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  }).then(() => worker.terminate().then(() => undefined));
}

async function twoThreadsMs(): Promise<number> {
  const started = performance.now();
  const other = inWorker(LOOP_OBJECTS / 2);
  allocatingLoop(LOOP_OBJECTS / 2);
  await other;
  return performance.now() - started;
}

function oneThreadMs(): number {
  const started = performance.now();
  allocatingLoop(LOOP_OBJECTS);
  return performance.now() - started;
}

/** Pairs tried at most to find LOOP_PAIRS that other processes left alone. */
const LOOP_TRIES = 12;

/** Whether processes other than this one took at most `share` of the machine during `run`. */
async function quietly<T>(
  share: number,
  run: () => Promise<T>,
): Promise<{ value: T; quiet: boolean }> {
  const busy = machineBusyTicks();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const after = machineBusyTicks();
  if (busy === undefined || after === undefined) return { value, quiet: true };
  const used = process.cpuUsage(cpu);
  const own = ((used.user + used.system) / 1e6) * TICKS;
  return { value, quiet: othersShare(busy, after, own, performance.now() - started) <= share };
}

/** The median ratio of the quiet pairs (of all pairs when too few were quiet), and their count. */
async function loopRatio(share: number): Promise<{ ratio: number; quiet: number }> {
  // The worker's start is in the two-thread time, as a --jobs worker's is in a campaign's.
  await twoThreadsMs();
  const all: number[] = [];
  const quiet: number[] = [];
  for (let pair = 0; pair < LOOP_TRIES && quiet.length < LOOP_PAIRS; pair++) {
    const { value, quiet: alone } = await quietly(share, async () => {
      const one = oneThreadMs();
      return (await twoThreadsMs()) / one;
    });
    all.push(value);
    if (alone) quiet.push(value);
  }
  return quiet.length === LOOP_PAIRS
    ? { ratio: median(quiet), quiet: quiet.length }
    : { ratio: median(all), quiet: quiet.length };
}

/** TurboFan's compile times in a `--trace-opt` log ("took a, b, c ms": b is the compile). */
export function compileMs(log: string): number | undefined {
  let total = 0;
  let found = false;
  for (const m of log.matchAll(/completed compiling .*? took [\d.]+, ([\d.]+), [\d.]+ ms/g)) {
    total += Number(m[1]);
    found = true;
  }
  return found ? total : undefined;
}

export async function jobsCeiling(
  bin: string,
  runs: number,
  share: number,
): Promise<BenchFigure[]> {
  const loop = await loopRatio(share);
  const args = ['--trace-opt', bin, 'check', '--seed', '1', '--runs', String(runs), '--jobs', '1'];
  const { stdout } = await exec(process.execPath, args, { maxBuffer: 256 << 20 });
  const compiled = compileMs(stdout);
  return [
    {
      label:
        'main job: for comparison, an allocating loop sharing nothing: 2 threads / 1 thread wall time',
      value: loop.ratio,
      unit:
        loop.quiet === LOOP_PAIRS
          ? `(median of ${LOOP_PAIRS} quiet pairs: what code that mostly allocates gets from a second core here)`
          : `(only ${loop.quiet} quiet pairs: all counted, other processes held a core)`,
      digits: 2,
    },
    {
      label: `main job: V8's optimizing compiles in \`blkif check --runs ${runs} --jobs 1\` (each job pays them)`,
      value: compiled ?? 0,
      unit: compiled === undefined ? 'ms (no --trace-opt output from this node)' : 'ms',
    },
  ];
}
