// `blkif check --jobs N` reaches what one job reaches: the same rows (runs, actions, results,
// seeds, paths), the same failures printed in the same words and the same trace files, whatever
// N and whichever runner finishes first. In-process runners whose chunks finish in a scrambled
// order test the merge; a real process with worker threads tests the plumbing.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PropertyDef } from '../properties/catalog.ts';
import { stateless } from '../properties/invariants/invariant.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import {
  CORRUPTING_DRIVERS,
  DEAF_DRIVERS,
  FIXTURE_PROPERTY,
  fixtureDrivers,
} from '../traces/testing/fixtures.ts';
import { type ChunkJob, type JobPool, type JobStarter, runChunkJob } from './check/jobs.ts';
import type { CheckSummary } from './check/summary.ts';
import type { Registry } from './registry.ts';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';

/**
 * Fails only in the rare run (about one in `odds`) that draws a marked copy of the fixture's
 * configuration: a failure found late in a campaign, past its first chunks.
 */
const rare = (name: string, odds: number): PropertyDef => {
  let config: unknown;
  return {
    ...FIXTURE_PROPERTY,
    name,
    scenario: fc
      .tuple(fc.noBias(fc.nat(odds - 1)), FIXTURE_PROPERTY.scenario)
      .map(([n, scenario]) => {
        config ??= { ...scenario.config };
        return n === 0 ? { ...scenario, config: config as typeof scenario.config } : scenario;
      }),
    stepInvariants: [
      stateless({
        code: 'canary',
        phase: 'step',
        summary: 'fails on the marked configuration (a failure found late in a campaign)',
        when: (c) => c === config,
        check: (world) => [
          { code: 'canary', step: world.stepCount, message: `marked run of ${name}` },
        ],
      }),
    ],
  };
};

const REGISTRY: Registry = {
  properties: [
    FIXTURE_PROPERTY,
    rare('rare-a', 300),
    { ...FIXTURE_PROPERTY, name: 'fixture-twin' },
  ],
  extraProperties: [rare('rare-b', 200)],
  drivers: fixtureDrivers,
  driverNames: ['honest', CORRUPTING_DRIVERS.name, DEAF_DRIVERS.name],
  // The in-process runners below never load it; worker threads would.
  source: { module: 'in-process', name: 'REGISTRY' },
};

/**
 * Runners in this thread; runner r's chunks finish after a number of event-loop turns that
 * varies with the runner and the chunk, so that outcomes arrive out of campaign order. Runners
 * after the first hold `depth` chunks at a time, as worker threads do (thread-pool.ts).
 */
function scrambledJobs(
  depth = 1,
): JobStarter & { started: number[]; finished: { chunk: number }[]; queued: number } {
  const started: number[] = [];
  const finished: { chunk: number }[] = [];
  const state = { queued: 0 };
  return {
    cores: 1,
    started,
    finished,
    get queued() {
      return state.queued;
    },
    async start(_setup, local, count): Promise<JobPool> {
      started.push(count);
      const held = new Array<number>(count).fill(0);
      const cancelled = new Set<ChunkJob>();
      let interrupted = false;
      let calls = 0;
      return {
        size: count,
        depth: (runner) => (runner === 0 ? 1 : depth),
        async run(runner, job, onProgress) {
          if (held[runner]! >= (runner === 0 ? 1 : depth)) throw new Error(`runner ${runner} full`);
          if (held[runner]! > 0) state.queued += 1;
          held[runner]! += 1;
          const turns = (calls++ * 5 + runner + 3) % 7;
          for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
          const outcome = runChunkJob(
            local,
            job,
            () => interrupted || cancelled.has(job),
            onProgress,
          );
          held[runner]! -= 1;
          finished.push({ chunk: job.chunk.seed });
          return outcome;
        },
        cancel: (_runner, job) => {
          cancelled.add(job);
        },
        interrupt: () => {
          interrupted = true;
        },
        close: async () => undefined,
      };
    },
  };
}

interface Ran {
  readonly code: number;
  readonly io: FakeIo;
  readonly summary: CheckSummary;
  /** stdout without the header and the times. */
  readonly text: string;
  /** Chunks handed to a runner while it held another. */
  readonly queued: number;
}

async function check(jobs: number, argv: readonly string[], depth = 1): Promise<Ran> {
  const starter = scrambledJobs(depth);
  const io: FakeIo = Object.assign(fakeIo(), { jobs: starter });
  const code = await runCli(
    ['check', '--jobs', String(jobs), '--summary-out', 's.json', '--out', 'out', ...argv],
    io,
    REGISTRY,
  );
  // One job runs in this thread; more start a pool of that many runners.
  expect(starter.started).toEqual(jobs === 1 ? [] : [jobs]);
  const summary = JSON.parse(io.files.get('s.json')!) as CheckSummary;
  const text = io.stdoutText().replace(/ +[\d.]+s +/g, ' T ');
  return { code, io, summary, text, queued: starter.queued };
}

/** The summary with the times set aside (wall time is the one thing jobs change). */
const timeless = (s: CheckSummary) => ({
  ...s,
  properties: s.properties.map(({ timeMs: _, ...p }) => p),
});

const traces = (io: FakeIo) =>
  [...io.files].filter(([f]) => f.startsWith('out/')).sort(([a], [b]) => a.localeCompare(b));

describe('check --jobs N: the same campaign as one job', () => {
  it.each([
    [
      'honest drivers, every property passes',
      ['--seed', '4', '--runs', '200', '--property', 'fixture-io,fixture-twin'],
    ],
    [
      'rare failures in later chunks, several properties',
      ['--seed', '13', '--runs', '400', '--property', 'rare-a,fixture-io,rare-b'],
    ],
    [
      'a known-bad variant found by two properties (one violation, one trace)',
      ['--seed', '7', '--runs', '300', '--drivers', CORRUPTING_DRIVERS.name],
    ],
    [
      '--bail skips what follows the first failure',
      ['--seed', '13', '--runs', '400', '--property', 'rare-b,fixture-io,rare-a', '--bail'],
    ],
  ])('%s', async (_, argv) => {
    const one = await check(1, argv);
    // Three runners one chunk each, and two whose second holds up to three chunks at a time.
    for (const [jobs, depth] of [
      [3, 1],
      [2, 3],
    ] as const) {
      const many = await check(jobs, argv, depth);
      expect(many.code).toBe(one.code);
      expect(timeless(many.summary)).toEqual(timeless(one.summary));
      expect(many.text).toBe(one.text);
      expect(traces(many.io)).toEqual(traces(one.io));
    }
  });

  it('a runner deeper than one is handed chunks to queue while more are left than runners', async () => {
    const argv = ['--seed', '13', '--runs', '400', '--property', 'rare-a,fixture-io,rare-b'];
    expect((await check(2, argv, 3)).queued).toBeGreaterThan(0);
    expect((await check(3, argv, 1)).queued).toBe(0);
  });

  it('the rare failures are found past the first chunk (what makes the cases above bite)', async () => {
    const { summary } = await check(1, [
      '--seed',
      '13',
      '--runs',
      '400',
      '--property',
      'rare-a,fixture-io,rare-b',
    ]);
    const rows = summary.properties.filter((p) => p.name.startsWith('rare-'));
    expect(rows.map((p) => p.result)).toEqual(['pass', 'safety']);
    // A failure's seed is its chunk's (seed + j): found in the second of four chunks.
    expect(rows[1]!.seed).toBe(14);
  });

  it('teeth: outcomes arrive out of order, and a merge that kept every chunk would differ', async () => {
    const argv = ['--seed', '13', '--runs', '400', '--property', 'rare-b'];
    const one = await check(1, argv);
    const jobs = scrambledJobs();
    const io: FakeIo = Object.assign(fakeIo(), { jobs });
    await runCli(['check', '--jobs', '3', ...argv], io, REGISTRY);
    const order = jobs.finished.map((f) => f.chunk);
    expect(order).not.toEqual([...order].sort((a, b) => a - b));
    // Every chunk's runs summed, the failure's later chunks included.
    const local = {
      defs: [REGISTRY.extraProperties[0]!],
      drivers: fixtureDrivers('honest')!,
      strategy: 'choices' as const,
    };
    let all = 0;
    for (let j = 0; j < 4; j++) {
      const chunk = { seed: 13 + j, runs: 100 };
      all += runChunkJob(
        local,
        { property: 0, chunk, deadline: undefined },
        () => false,
        () => undefined,
      ).runs;
    }
    expect(all).not.toBe(one.summary.properties[0]!.runs);
  });

  it('one job when there is one chunk, or a --path; --jobs is checked like every option', async () => {
    const io: FakeIo = Object.assign(fakeIo(), { jobs: scrambledJobs() });
    await runCli(
      ['check', '--jobs', '4', '--runs', '100', '--seed', '1', '--property', 'fixture-io'],
      io,
      REGISTRY,
    );
    expect((io.jobs as ReturnType<typeof scrambledJobs>).started).toEqual([]);
    expect(io.stdoutText()).toMatch(/^blkif check: seed 1, drivers honest, 1 property\n/);
    const bad = fakeIo();
    expect(await runCli(['check', '--jobs', '0'], bad, REGISTRY)).toBe(2);
    expect(bad.stderrText()).toBe('blkif check: --jobs: must be an integer in 1..64, got 0\n');
  });
});

const exec = promisify(execFile);

describe('check --jobs with worker threads (a real process)', () => {
  it('--jobs 2 writes the summary and traces --jobs 1 writes', async () => {
    const variant = 'publish-past-private';
    expect(MUTANTS.get(variant)?.caughtBy).toBe('ring-bounds');
    const run = async (jobs: number) => {
      const dir = mkdtempSync(join(tmpdir(), `blkif-jobs-${jobs}-`));
      try {
        const argv = [
          'cli/bin.mjs',
          'check',
          '--jobs',
          String(jobs),
          '--seed',
          '3',
          '--runs',
          '200',
          '--property',
          'ring-bounds,xenbus-transitions',
          '--drivers',
          variant,
          '--out',
          join(dir, 'out'),
          '--summary-out',
          join(dir, 's.json'),
        ];
        const result = await exec(process.execPath, argv).catch(
          (e: { code: number; stdout: string }) => e,
        );
        const summary = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')) as CheckSummary;
        const files = readdirSync(join(dir, 'out')).sort();
        const contents = files.map((f) => readFileSync(join(dir, 'out', f), 'utf8'));
        const norm = timeless({
          ...summary,
          failures: summary.failures.map((f) => ({ ...f, trace: f.trace.replace(dir, '') })),
        });
        return { code: 'code' in result ? result.code : 0, norm, files, contents };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const one = await run(1);
    const two = await run(2);
    expect(one.files.length).toBeGreaterThan(0);
    expect(two).toEqual(one);
  }, 120_000);
});
