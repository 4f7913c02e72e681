import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CANARY } from '../properties/properties.ts';
import { parseTrace } from '../traces/schema.ts';
import {
  CORRUPTING_DRIVERS,
  DEAF_DRIVERS,
  FIXTURE_PROPERTY,
  fixtureDrivers,
} from '../traces/testing/fixtures.ts';
import { CHUNK_RUNS, type Chunk, type Shard, shardChunks } from './check/shard.ts';
import type { Registry } from './registry.ts';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';

const REGISTRY: Registry = {
  properties: [FIXTURE_PROPERTY],
  extraProperties: [CANARY],
  drivers: fixtureDrivers,
  driverNames: ['honest', CORRUPTING_DRIVERS.name, DEAF_DRIVERS.name],
};

async function cli(argv: string[], io: FakeIo): Promise<number> {
  return runCli(argv, io, REGISTRY);
}

describe('check -> replay -> render, end to end', () => {
  it('a known-bad variant fails check (exit 1), its trace replays (exit 1) and renders in every format', async () => {
    const io = fakeIo();
    const code = await cli(
      [
        'check',
        '--drivers',
        CORRUPTING_DRIVERS.name,
        '--seed',
        '7',
        '--runs',
        '50',
        '--out',
        'out/',
      ],
      io,
    );
    expect(code).toBe(1);
    const out = io.stdoutText();
    const file = 'out/data-integrity-test-corrupt-writes-7.json';
    expect(out).toMatch(/^blkif check: seed 7, drivers test-corrupt-writes, 1 property\n/);
    expect(out).toMatch(
      /FAIL fixture-io\n {2}data-integrity at step \d+.*\n {2}seed 7, path [\d:]+: npx blkif replay out\/data-integrity-test-corrupt-writes-7\.json\n/,
    );
    expect(out).toMatch(
      /\nproperty +runs +actions +time +result\nfixture-io +\d+ +[\d,]+ +[\d.]+s +FAIL \(safety\)\n/,
    );
    expect(parseTrace(io.files.get(file)!).violation?.code).toBe('data-integrity');

    const replay = fakeIo(Object.fromEntries(io.files));
    expect(await cli(['replay', file], replay)).toBe(1);
    expect(replay.stdoutText()).toMatch(/^reproduced: data-integrity at step \d+/);

    for (const [format, marker] of [
      ['mermaid', /^sequenceDiagram\n/],
      ['html', /^<!doctype html>/],
      ['text', /^blkif trace v1: data-integrity/],
      ['shiviz', /^\(\?<host>/],
    ] as const) {
      const render = fakeIo(Object.fromEntries(io.files));
      expect(await cli(['render', file, '--format', format], render)).toBe(0);
      expect(render.stdoutText()).toMatch(marker);
      expect(
        await cli(['render', file, `--format=${format}`, '--out', `x.${format}`], render),
      ).toBe(0);
      expect(render.files.get(`x.${format}`)).toMatch(marker);
    }
  });

  it('rerunning the printed seed and path reproduces the same trace bytes', async () => {
    const first = fakeIo();
    await cli(
      ['check', '--drivers', CORRUPTING_DRIVERS.name, '--seed', '7', '--runs', '50', '--out', 'a'],
      first,
    );
    const path = /path ([\d:]+):/.exec(first.stdoutText())![1]!;
    const again = fakeIo();
    expect(
      await cli(
        [
          'check',
          '--drivers',
          CORRUPTING_DRIVERS.name,
          '--seed',
          '7',
          '--path',
          path,
          '--property',
          'fixture-io',
          '--out',
          'a',
        ],
        again,
      ),
    ).toBe(1);
    expect(again.files.get('a/data-integrity-test-corrupt-writes-7.json')).toBe(
      first.files.get('a/data-integrity-test-corrupt-writes-7.json'),
    );
  });

  it('a liveness violation exits 3, the honest drivers pass with 0', async () => {
    const deaf = fakeIo();
    expect(
      await cli(['check', '--drivers', DEAF_DRIVERS.name, '--seed', '3', '--runs', '20'], deaf),
    ).toBe(3);
    expect(deaf.stdoutText()).toMatch(/\n {2}(no-lost-request|lost-wakeup) at step \d+/);
    expect([...deaf.files.keys()]).toEqual([
      '.blkif/failures/lost-wakeup-test-deaf-frontend-3.json',
    ]);
    const replay = fakeIo(Object.fromEntries(deaf.files));
    expect(
      await cli(['replay', '.blkif/failures/lost-wakeup-test-deaf-frontend-3.json'], replay),
    ).toBe(3);
    const honest = fakeIo();
    expect(await cli(['check', '--seed', '3', '--runs', '30'], honest)).toBe(0);
    expect(honest.stdoutText()).toMatch(
      /fixture-io +\d+ +[\d,]+ +[\d.]+s +pass\n\n1 passed, 0 failed\n$/,
    );
    expect(honest.files.size).toBe(0);
  });

  it('the canary is selectable by name and always fails', async () => {
    const io = fakeIo();
    expect(await cli(['check', '--property', 'canary', '--runs', '3', '--seed', '1'], io)).toBe(1);
    const file = [...io.files.keys()][0]!;
    expect(await cli(['replay', file], fakeIo(Object.fromEntries(io.files)))).toBe(1);
  });

  it('progress: one rewritten line on a terminal, nothing extra in a short plain run', async () => {
    const tty = fakeIo({}, true, 40);
    await cli(['check', '--seed', '3', '--runs', '30'], tty);
    const clearLine = '\r\u001b[2K';
    expect(tty.stderrText().startsWith(`${clearLine}  fixture-io: `)).toBe(true);
    expect(tty.stderrText()).toMatch(/fixture-io: \d+\/30 runs, [\d,]+ actions/);
    expect(tty.stderrText().endsWith(clearLine)).toBe(true);
    const plain = fakeIo();
    await cli(['check', '--seed', '3', '--runs', '30'], plain);
    expect(plain.stderrText()).toBe('');
  });
});

describe('shards', () => {
  // The shards of a campaign run exactly its chunks, each once.
  const partition = (chunksOf: (seed: number, runs: number, shard: Shard) => Chunk[]) =>
    fc.property(
      fc.integer({ min: -1000, max: 1000 }),
      fc.integer({ min: 1, max: 2000 }),
      fc.integer({ min: 1, max: 12 }),
      (seed, runs, count) => {
        const whole = chunksOf(seed, runs, { index: 1, count: 1 });
        const parts = Array.from({ length: count }, (_, i) =>
          chunksOf(seed, runs, { index: i + 1, count }),
        ).flat();
        expect(parts).toEqual(whole);
        expect(whole.reduce((n, c) => n + c.runs, 0)).toBe(runs);
        expect(new Set(whole.map((c) => c.seed)).size).toBe(whole.length);
      },
    );

  it("shards partition the campaign's seeds", () => {
    fc.assert(partition(shardChunks), { numRuns: 200, seed: 3 });
  });

  it('teeth: shards that each start at the campaign seed overlap', () => {
    const overlapping = (seed: number, runs: number, shard: Shard) =>
      shardChunks(seed, runs, shard).map((c, i) => ({ ...c, seed: seed + i }));
    expect(fc.check(partition(overlapping), { numRuns: 200, seed: 3 }).failed).toBe(true);
  });

  it("two shards with --summary-out merge into the campaign's table and exit code", async () => {
    const io = fakeIo();
    const runs = String(3 * CHUNK_RUNS);
    for (const shard of ['1/2', '2/2']) {
      expect(
        await cli(
          [
            'check',
            '--seed',
            '5',
            '--runs',
            runs,
            '--shard',
            shard,
            '--summary-out',
            `s${shard[0]}.json`,
          ],
          io,
        ),
      ).toBe(0);
    }
    expect(io.stdoutText()).toContain(
      'blkif check: seed 5, drivers honest, 1 property, shard 2/2\n',
    );
    const merged = fakeIo(Object.fromEntries(io.files));
    expect(
      await cli(['check', '--merge', 's1.json', 's2.json', '--summary-out', 'all.json'], merged),
    ).toBe(0);
    expect(merged.stdoutText()).toMatch(
      /^merged 2 summaries: seed 5, drivers honest, strategy choices, shards 1,2 of 2\n/,
    );
    const all = JSON.parse(merged.files.get('all.json')!) as { properties: { runs: number }[] };
    expect(all.properties[0]!.runs).toBe(3 * CHUNK_RUNS);
    const again = fakeIo(Object.fromEntries(io.files));
    expect(await cli(['check', '--merge', 's1.json', 's1.json'], again)).toBe(2);
    expect(again.stderrText()).toMatch(/shard 1\/2 is already merged/);
  });

  it('a failing shard makes the merge fail with its exit code', async () => {
    const io = fakeIo();
    await cli(
      ['check', '--seed', '7', '--runs', '200', '--shard', '1/2', '--summary-out', 'a.json'],
      io,
    );
    await cli(
      [
        'check',
        '--drivers',
        DEAF_DRIVERS.name,
        '--seed',
        '7',
        '--runs',
        '200',
        '--shard',
        '2/2',
        '--summary-out',
        'b.json',
      ],
      io,
    );
    const merged = fakeIo(Object.fromEntries(io.files));
    expect(await cli(['check', '--merge', 'a.json', 'b.json'], merged)).toBe(2);
    expect(merged.stderrText()).toMatch(/drivers test-deaf-frontend differs from honest/);
  });
});

describe('coverage and diagrams', () => {
  it('check --coverage-out feeds diagrams --coverage: SVGs with untaken edges marked', async () => {
    const io = fakeIo();
    expect(
      await cli(['check', '--seed', '3', '--runs', '20', '--coverage-out', 'cov.json'], io),
    ).toBe(0);
    expect(io.stdoutText()).toMatch(
      /coverage: 20 runs, frontend \d+\/\d+ edges taken, backend \d+\/\d+/,
    );
    const cov = JSON.parse(io.files.get('cov.json')!) as {
      unattributed: number;
      machines: { frontend: Record<string, number> };
    };
    expect(cov.unattributed).toBe(0);
    expect(cov.machines.frontend['frontend.Initialising.probing:device.probe:0']).toBe(20);
    expect(await cli(['diagrams', '--coverage', 'cov.json', '--out', 'd'], io)).toBe(0);
    const svg = io.files.get('d/frontend.svg')!;
    expect(svg).toMatch(/<svg/);
    expect(svg).toMatch(/stroke="red"/);
    expect(io.files.get('d/frontend-coverage.txt')).toMatch(/^ {4}taken {2}edge\n +20 {2}frontend/);
    expect(io.stdoutText()).toMatch(
      /wrote d\/frontend\.\{mmd,dot,svg\}, frontend-coverage\.txt: \d+\/\d+ edges taken\n {2}untaken: frontend/,
    );
  });
});

describe('check --coverage', () => {
  it('prints the named scenarios, action kinds and what the runs never reached', async () => {
    const io = fakeIo();
    const code = await cli(['check', '--seed', '3', '--runs', '20', '--coverage'], io);
    expect(code).toBe(0);
    const out = io.stdoutText();
    expect(out).toMatch(/\ncoverage over 20 runs\n/);
    expect(out).toMatch(/named scenarios \(runs\): \d+\/\d+ reached/);
    expect(out).toMatch(/action kinds \(steps\): \d+\/\d+ reached/);
    expect(out).toMatch(/ {2}NOT REACHED {2}\S/);
  });
});

describe('check --strategy', () => {
  it('refuses an unknown strategy with one line and exit 2', async () => {
    const io = fakeIo();
    expect(await cli(['check', '--strategy', 'bogus'], io)).toBe(2);
    expect(io.stderrText()).toBe('blkif check: --strategy: expected choices or pct, got "bogus"\n');
  });

  it('runs the properties under PCT priorities', async () => {
    const io = fakeIo();
    expect(await cli(['check', '--strategy', 'pct', '--seed', '3', '--runs', '20'], io)).toBe(0);
    expect(io.stdoutText()).toMatch(/fixture-io +20 /);
  });
});
