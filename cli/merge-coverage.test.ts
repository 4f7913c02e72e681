// Issue 19 (7): a merge of an incomplete set of shards is no pass (it names the missing ones, or
// with --partial says so in the summary), and diagrams --coverage refuses edge keys that are not
// this model's instead of counting them.
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';

const cli = (argv: string[], io: FakeIo) => runCli(argv, io, TEST_REGISTRY);

const CAMPAIGN = ['check', '--seed', '7', '--runs', '300'];
let SHARDS: Record<string, string> = {};

beforeAll(async () => {
  const io = fakeIo();
  for (let i = 1; i <= 3; i++) {
    const argv = [...CAMPAIGN, '--shard', `${i}/3`, '--summary-out', `s${i}.json`];
    expect(await cli(argv, io)).toBe(0);
  }
  SHARDS = Object.fromEntries(io.files);
});

describe('check --merge of an incomplete set of shards', () => {
  it('one shard of three: exit 2, naming the missing shards', async () => {
    const merge = fakeIo(SHARDS);
    expect(await cli(['check', '--merge', 's2.json'], merge)).toBe(2);
    expect(merge.stderrText()).toBe(
      'blkif check: incomplete campaign: shards 1, 3 missing of 3; merge every shard, or pass --partial to merge what is here\n',
    );
    expect(merge.stdoutText()).toBe('');
  });

  it('--partial merges what is there and marks the summary', async () => {
    const merge = fakeIo(SHARDS);
    const argv = ['check', '--merge', 's1.json', 's3.json', '--partial', '--summary-out', 'm.json'];
    expect(await cli(argv, merge)).toBe(0);
    expect(merge.stdoutText()).toMatch(/shards 1,3 of 3 \(partial: shards 2 missing\)\n/);
    expect(JSON.parse(merge.files.get('m.json')!).partial).toEqual({
      missing: [2],
      interrupted: [],
    });
    // The partial summary and the missing shard together are the whole campaign again.
    const all = ['check', '--merge', 'm.json', 's2.json', '--summary-out', 'all.json'];
    expect(await cli(all, merge)).toBe(0);
    expect(JSON.parse(merge.files.get('all.json')!).partial).toBeUndefined();
  });

  it('an interrupted shard counts as incomplete', async () => {
    const cut = fakeIo();
    cut.interruptAfterPolls = 5;
    const argv = [...CAMPAIGN, '--shard', '3/3', '--summary-out', 's3.json'];
    expect(await cli(argv, cut)).toBe(130);
    const merge = fakeIo({ ...SHARDS, 's3.json': cut.files.get('s3.json')! });
    expect(await cli(['check', '--merge', 's1.json', 's2.json', 's3.json'], merge)).toBe(2);
    expect(merge.stderrText()).toMatch(/incomplete campaign: shards 3 interrupted of 3/);
  });

  it('a shard count no --shard could give is a malformed summary, not a crash', async () => {
    const summary = JSON.parse(SHARDS['s1.json']!);
    summary.shards = [{ index: 1, count: 1e308 }];
    const merge = fakeIo({ 'big.json': JSON.stringify(summary) });
    expect(await cli(['check', '--merge', 'big.json'], merge)).toBe(2);
    expect(merge.stderrText()).toMatch(/^blkif check: big\.json: malformed summary \(shards, /);
  });

  it('--partial without --merge is refused', async () => {
    const io = fakeIo();
    expect(await cli(['check', '--partial'], io)).toBe(2);
    expect(io.stderrText()).toBe('blkif check: --partial: only with --merge\n');
  });
});

describe('diagrams --coverage', () => {
  async function coverage(): Promise<FakeIo> {
    const io = fakeIo();
    expect(
      await cli(['check', '--seed', '3', '--runs', '5', '--coverage-out', 'cov.json'], io),
    ).toBe(0);
    return io;
  }

  it('refuses an edge key the machine does not declare', async () => {
    const io = await coverage();
    const file = JSON.parse(io.files.get('cov.json')!);
    file.machines.frontend['frontend.Bogus:NOPE:0'] = 12;
    io.files.set('cov.json', JSON.stringify(file));
    expect(await cli(['diagrams', '--coverage', 'cov.json', '--out', 'd'], io)).toBe(2);
    expect(io.stderrText()).toMatch(
      /^blkif diagrams: cov\.json: machines\.frontend: unknown edge "frontend\.Bogus:NOPE:0": not from this model/,
    );
    expect([...io.files.keys()].filter((f) => f.startsWith('d/'))).toEqual([]);
  });

  it('refuses a file that lacks a declared edge (another model version)', async () => {
    const io = await coverage();
    const file = JSON.parse(io.files.get('cov.json')!);
    const [first] = Object.keys(file.machines.backend);
    delete file.machines.backend[first!];
    io.files.set('cov.json', JSON.stringify(file));
    expect(await cli(['diagrams', '--coverage', 'cov.json'], io)).toBe(2);
    expect(io.stderrText()).toMatch(/machines\.backend: no count for edge/);
  });
});
