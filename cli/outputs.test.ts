// Issue 19 (1): every output path is checked before any work, and a write that still fails later
// comes after the FAIL lines, seed, path and rerun command, as one line with exit 2.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { CORRUPTING_DRIVERS } from '../traces/testing/fixtures.ts';
import { nodeIo } from './node-io.ts';
import { outputProblem } from './paths.ts';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';

function hostile(): FakeIo {
  const io = fakeIo({ 'a-file': 'x', 'good.json': '{}' });
  io.dirs.add('a-dir');
  io.readOnly.add('ro');
  io.special.add('/dev/full');
  return io;
}

const FAILING = ['check', '--drivers', CORRUPTING_DRIVERS.name, '--seed', '7', '--runs', '50'];

const REFUSED: [string, string[], RegExp][] = [
  [
    'check --out under a file',
    [...FAILING, '--out', 'a-file/t'],
    /--out: cannot write a-file\/t: a-file is not a directory/,
  ],
  [
    'check --out a file',
    [...FAILING, '--out', 'a-file'],
    /--out: cannot write a-file: is a file, not a directory/,
  ],
  [
    'check --out read-only',
    [...FAILING, '--out', 'ro/t'],
    /--out: cannot write ro\/t: cannot create files in ro: permission denied/,
  ],
  [
    'check --out a device',
    [...FAILING, '--out', '/dev/full'],
    /--out: cannot write \/dev\/full: is a device/,
  ],
  [
    'check --summary-out missing parent',
    [...FAILING, '--summary-out', 'nowhere/s.json'],
    /--summary-out: cannot write nowhere\/s\.json: its folder nowhere does not exist/,
  ],
  [
    'check --summary-out a directory',
    [...FAILING, '--summary-out', 'a-dir'],
    /--summary-out: cannot write a-dir: is a directory/,
  ],
  [
    'check --coverage-out a device',
    [...FAILING, '--coverage-out', '/dev/full'],
    /--coverage-out: cannot write \/dev\/full: is a device/,
  ],
  [
    'check --merge --summary-out under a file',
    ['check', '--merge', 'good.json', '--summary-out', 'a-file/m.json'],
    /--summary-out: cannot write a-file\/m\.json: a-file is not a directory/,
  ],
  [
    'render --out a directory',
    ['render', 'good.json', '--out', 'a-dir'],
    /--out: cannot write a-dir: is a directory/,
  ],
  [
    'render --out a device',
    ['render', 'good.json', '--out', '/dev/full'],
    /--out: cannot write \/dev\/full: is a device/,
  ],
  [
    'diagrams --out under a file',
    ['diagrams', '--out', 'a-file/d'],
    /--out: cannot write a-file\/d: a-file is not a directory/,
  ],
  [
    'diagrams --out read-only',
    ['diagrams', '--out', 'ro'],
    /--out: cannot write ro: cannot create files in ro/,
  ],
];

describe('output paths are checked before any work', () => {
  it.each(REFUSED)('%s: one line, exit 2, nothing run or written', async (_, argv, message) => {
    const io = hostile();
    const before = new Map(io.files);
    expect(await runCli(argv, io, TEST_REGISTRY)).toBe(2);
    expect(io.stderrText()).toMatch(message);
    expect(io.stderrText().trimEnd().split('\n')).toHaveLength(1);
    expect(io.stdoutText()).toBe('');
    expect(io.files).toEqual(before);
  });
});

describe('print first, then write', () => {
  it('a trace write that fails mid-campaign comes after the FAIL lines, seed and rerun: exit 2', async () => {
    const io = fakeIo();
    io.failWrites.add('out/data-integrity-test-corrupt-writes-7.json');
    expect(await runCli([...FAILING, '--out', 'out'], io, TEST_REGISTRY)).toBe(2);
    const out = io.stdoutText();
    expect(out).toMatch(/FAIL fixture-io\n {2}data-integrity at step \d+/);
    expect(out).toMatch(
      /seed 7, path [\d:]+: npx blkif replay out\/data-integrity-test-corrupt-writes-7\.json/,
    );
    expect(out).toMatch(/rerun: npx blkif check --property fixture-io --seed 7 --path [\d:]+/);
    expect(io.stderrText()).toBe(
      'blkif check: cannot write out/data-integrity-test-corrupt-writes-7.json: no space left on the device\n',
    );
    // The campaign goes on: its table and tally are printed before the one error line.
    expect(out).toMatch(/\nfixture-io +\d+ .* FAIL \(safety\)\n\n0 passed, 1 failed\n$/);
    expect(io.files.size).toBe(0);
  });

  it('a trace write that fails does not cost the summary and reports written after it', async () => {
    const io = fakeIo();
    io.failWrites.add('out/data-integrity-test-corrupt-writes-7.json');
    const argv = [...FAILING, '--out', 'out', '--summary-out', 's.json'];
    expect(await runCli([...argv, '--report', 'junit=r.xml'], io, TEST_REGISTRY)).toBe(2);
    expect([...io.files.keys()].sort()).toEqual(['r.xml', 's.json']);
    expect(io.stderrText()).toMatch(
      /^wrote junit report r\.xml\nblkif check: cannot write out\/data-integrity-[^\n]+\n$/,
    );
  });

  it('a --coverage-out that fails: the coverage line says so, the rest is written, exit 2', async () => {
    const io = fakeIo();
    io.failWrites.add('c.json');
    const argv = ['check', '--seed', '3', '--runs', '5', '--coverage-out', 'c.json'];
    expect(await runCli([...argv, '--summary-out', 's.json'], io, TEST_REGISTRY)).toBe(2);
    expect(io.stdoutText()).toMatch(/\ncoverage: 5 runs, .*; c\.json not written \(below\)\n/);
    expect(io.stdoutText()).toMatch(/\n1 passed, 0 failed\n$/);
    expect([...io.files.keys()]).toEqual(['s.json']);
    expect(io.stderrText()).toBe('blkif check: cannot write c.json: no space left on the device\n');
  });

  it('a --summary-out that fails after the table: the table is printed, exit 2', async () => {
    const io = fakeIo();
    io.failWrites.add('s.json');
    expect(
      await runCli(
        ['check', '--seed', '3', '--runs', '5', '--summary-out', 's.json'],
        io,
        TEST_REGISTRY,
      ),
    ).toBe(2);
    expect(io.stdoutText()).toMatch(/fixture-io +5 .* pass\n\n1 passed, 0 failed\n$/);
    expect(io.stderrText()).toMatch(/^blkif check: cannot write s\.json: .*\n$/);
  });
});

describe('the real file system (node io)', () => {
  const dir = mkdtempSync(`${tmpdir()}/blkif-outputs-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(`${dir}/file`, 'x');

  it('names what is wrong with each unwritable path, and accepts writable ones', () => {
    expect(outputProblem(nodeIo, `${dir}/file/trace.json`, 'file')).toMatch(/is not a directory$/);
    expect(outputProblem(nodeIo, `${dir}/missing/s.json`, 'file')).toMatch(/does not exist$/);
    expect(outputProblem(nodeIo, dir, 'file')).toBe('is a directory');
    expect(outputProblem(nodeIo, '/dev/full', 'file')).toMatch(/is a device/);
    expect(outputProblem(nodeIo, `${dir}/file/failures`, 'dir')).toMatch(
      /file is not a directory$/,
    );
    expect(outputProblem(nodeIo, `${dir}/new/deep/failures`, 'dir')).toBeUndefined();
    expect(outputProblem(nodeIo, `${dir}/s.json`, 'file')).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['file']);
  });

  it('writes whole files and leaves no temporary file behind', () => {
    nodeIo.writeFile(`${dir}/out.json`, 'whole\n');
    expect(() => nodeIo.writeFile(`${dir}/file/x.json`, 'x')).toThrow(
      /cannot write .*x\.json: a part of the path is a file/,
    );
    expect(readdirSync(dir).sort()).toEqual(['file', 'out.json']);
  });
});
