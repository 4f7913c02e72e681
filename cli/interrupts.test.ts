// Issue 19 (2) and (3): a Ctrl-C keeps what the campaign found (the summary so far, every
// failure, the smallest counterexample of one being shrunk, its trace), exit 130; a --path that
// leads to no failure is one line and exit 2, not a crash or a false pass.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseTrace } from '../traces/schema.ts';
import { CORRUPTING_DRIVERS } from '../traces/testing/fixtures.ts';
import { runCli } from './run-cli.ts';
import { fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';

const cli = (argv: string[], io = fakeIo()) => runCli(argv, io, TEST_REGISTRY);
const FAILING = ['check', '--drivers', CORRUPTING_DRIVERS.name, '--seed', '7', '--runs', '50'];

// The canary fails on its first run and then shrinks for about 40 runs under seed 1.
const CANARY_RUN = ['check', '--property', 'canary', '--seed', '1', '--runs', '5', '--out', 'out'];

describe('SIGINT/SIGTERM during check (fake io)', () => {
  it('stops at the next run boundary: "interrupted after N runs", the table so far, exit 130', async () => {
    const io = fakeIo();
    io.interruptAfterPolls = 20;
    expect(
      await cli(['check', '--seed', '3', '--runs', '500', '--summary-out', 's.json'], io),
    ).toBe(130);
    const out = io.stdoutText();
    expect(out).toMatch(/\ninterrupted after 20 runs: the summary so far\n/);
    expect(out).toMatch(
      /\nfixture-io +20 +[\d,]+ +[\d.]+s +interrupted\n\n0 passed, 0 failed, 1 skipped\n$/,
    );
    const summary = JSON.parse(io.files.get('s.json')!) as { interrupted?: boolean };
    expect(summary.interrupted).toBe(true);
  });

  it('a failure being shrunk is reported with its smallest counterexample so far, and its trace replays', async () => {
    const whole = fakeIo();
    expect(await cli(CANARY_RUN, whole)).toBe(1);
    const io = fakeIo();
    io.interruptAfterPolls = 10;
    expect(await cli(CANARY_RUN, io)).toBe(130);
    const out = io.stdoutText();
    expect(out).toMatch(
      /FAIL canary \(interrupted while shrinking: the smallest counterexample so far\)\n {2}canary at step \d+/,
    );
    expect(out).toMatch(/\ninterrupted after 10 runs: the summary so far\n/);
    expect(out).toMatch(/\ncanary +10 +[\d,]+ +[\d.]+s +FAIL \(safety\)\n\n0 passed, 1 failed\n$/);
    const file = 'out/canary-1.json';
    const trace = parseTrace(io.files.get(file)!);
    // Part of the way down the shrink: further than the first failure, short of the end.
    const depth = (path: string | undefined) => path!.split(':').length;
    const shrunk = parseTrace(whole.files.get(file)!);
    expect(depth(trace.path)).toBeGreaterThan(1);
    expect(depth(trace.path)).toBeLessThan(depth(shrunk.path));
    const replay = fakeIo(Object.fromEntries(io.files));
    expect(await cli(['replay', file], replay)).toBe(1);
    expect(replay.stdoutText()).toMatch(/^reproduced: canary/);
    // Its rerun command reproduces that counterexample (fast-check shrinks no further than a
    // path) and shortens it, as an uninterrupted run does its own.
    const again = fakeIo();
    expect(await cli([...CANARY_RUN, '--path', trace.path!], again)).toBe(1);
    const rerun = parseTrace(again.files.get(file)!);
    expect(rerun.path).toBe(trace.path);
    expect(rerun.steps.length).toBeLessThanOrEqual(trace.steps.length);
    const rerunAgain = fakeIo();
    expect(await cli([...CANARY_RUN, '--path', trace.path!], rerunAgain)).toBe(1);
    expect(rerunAgain.files.get(file)).toBe(again.files.get(file));
  });
});

describe('--path', () => {
  it.each([
    ['a path past the runs of its seed', '999'],
    ['a made-up shrink path', '0:99:99:99:99'],
  ])('%s: one line, exit 2, no campaign and no pass', async (_, path) => {
    const io = fakeIo();
    expect(
      await cli(['check', '--property', 'fixture-io', '--seed', '7', '--path', path], io),
    ).toBe(2);
    expect(io.stderrText()).toBe(
      `blkif check: --path: ${path} with --seed 7 leads to no failure of fixture-io: give the seed, path and options of one FAIL report of this blkif version\n`,
    );
    expect(io.stdoutText()).not.toMatch(/pass|property +runs/);
    expect(io.files.size).toBe(0);
  });

  it('the path of a failure under other drivers leads to none with the honest ones', async () => {
    const first = fakeIo();
    await cli([...FAILING, '--out', 'out'], first);
    const path = /path ([\d:]+):/.exec(first.stdoutText())![1]!;
    const io = fakeIo();
    expect(
      await cli(['check', '--property', 'fixture-io', '--seed', '7', '--path', path], io),
    ).toBe(2);
    expect(io.stderrText()).toMatch(/leads to no failure of fixture-io/);
  });
});

function spawnCheck(jobs = 1): {
  started: Promise<void>;
  done: Promise<{ code: number | null; out: string }>;
  kill: (signal: NodeJS.Signals) => void;
} {
  const child = spawn(
    process.execPath,
    [
      'cli/bin.mjs',
      'check',
      '--property',
      'data-integrity',
      '--runs',
      '1000000',
      '--seed',
      '1',
      '--jobs',
      String(jobs),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('blkif check: seed')) markStarted();
  });
  const done = new Promise<{ code: number | null; out: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, out }));
  });
  return { started, done, kill: (signal) => child.kill(signal) };
}

describe('signals (a real process)', () => {
  it.each([1, 2])('SIGINT with --jobs %i: the summary so far and exit 130', async (jobs) => {
    const run = spawnCheck(jobs);
    await run.started;
    run.kill('SIGINT');
    const { code, out } = await run.done;
    expect(code).toBe(130);
    expect(out).toMatch(/\ninterrupted after \d+ runs: the summary so far\n/);
    expect(out).toMatch(
      /\ndata-integrity +\d+ +[\d,]+ +[\d.]+s +interrupted\n\n0 passed, 0 failed, 1 skipped\n$/,
    );
  });

  it('SIGTERM then a second signal: exits at once, 130', async () => {
    const run = spawnCheck();
    await run.started;
    run.kill('SIGTERM');
    run.kill('SIGTERM');
    const { code } = await run.done;
    expect(code).toBe(130);
  });
});
