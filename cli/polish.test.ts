import { describe, expect, it } from 'vitest';
import { colourWanted } from './colour.ts';
import { DEFAULT_REGISTRY } from './registry.ts';
import { runCli } from './run-cli.ts';
import { fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';
import { BLKIF_VERSION } from './version.ts';
import { readFileSync } from 'node:fs';
import { CORRUPTING_DRIVERS } from '../traces/testing/fixtures.ts';

describe('--version, help <command>, list', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(BLKIF_VERSION).toBe(pkg.version);
    for (const flag of ['--version', '-V', 'version']) {
      const io = fakeIo();
      expect(await runCli([flag], io)).toBe(0);
      expect(io.stdoutText()).toBe(`blkif-model ${pkg.version}\n`);
    }
  });

  it("help <command> is that command's --help; help of an unknown command is one line, exit 2", async () => {
    for (const name of ['check', 'replay', 'render', 'list']) {
      const viaHelp = fakeIo();
      const viaFlag = fakeIo();
      expect(await runCli(['help', name], viaHelp, TEST_REGISTRY)).toBe(0);
      expect(await runCli([name, '--help'], viaFlag, TEST_REGISTRY)).toBe(0);
      expect(viaHelp.stdoutText()).toMatch(new RegExp(`^usage: blkif ${name}`));
      expect(viaHelp.stdoutText()).toBe(viaFlag.stdoutText());
    }
    const io = fakeIo();
    expect(await runCli(['help', 'frob'], io)).toBe(2);
    expect(io.stderrText()).toMatch(/^blkif: unknown command "frob" \(commands: .*list/);
  });

  it('check --help names every property and variant', async () => {
    const io = fakeIo();
    await runCli(['check', '--help'], io);
    const help = io.stdoutText();
    for (const p of [...DEFAULT_REGISTRY.properties, ...DEFAULT_REGISTRY.extraProperties])
      expect(help).toContain(p.name);
    for (const name of DEFAULT_REGISTRY.driverNames) expect(help).toContain(name);
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
  });

  it('list: properties with summaries, known-bad variants with their violation, renderers, strategies', async () => {
    const io = fakeIo();
    expect(await runCli(['list'], io)).toBe(0);
    const out = io.stdoutText();
    expect(out).toMatch(
      /^properties \(blkif check --property <name>\):\n {2}requests-complete-once +every request/,
    );
    expect(out).toMatch(/\n {2}canary +\(by name only\) /);
    expect(out).toMatch(
      /\n {2}frontend-skips-final-check +blkif_interrupt [^(]*\(must cause lost-wakeup\)\n/,
    );
    expect(out).toMatch(/\ncandidate variants \(alternatives expected to pass\):\n/);
    expect(out).toMatch(/\nrender formats \(blkif render --format <name>\):\n {2}mermaid /);
    expect(out).toMatch(
      /\nstrategies \(blkif check --strategy <name>\):\n {2}choices .*\n {2}pct /,
    );
    const bad = fakeIo();
    expect(await runCli(['list', 'x'], bad)).toBe(2);
  });
});

describe('terminals and colour', () => {
  it('colour only on a terminal, and never with NO_COLOR or TERM=dumb', () => {
    expect(colourWanted(true, {})).toBe(true);
    expect(colourWanted(false, {})).toBe(false);
    expect(colourWanted(true, { NO_COLOR: '1' })).toBe(false);
    expect(colourWanted(true, { NO_COLOR: '' })).toBe(true);
    expect(colourWanted(true, { TERM: 'dumb' })).toBe(false);
  });

  const failing = ['check', '--drivers', CORRUPTING_DRIVERS.name, '--seed', '7', '--runs', '50'];

  it('FAIL and the result cells are coloured when stdout may be, plain otherwise', async () => {
    const coloured = fakeIo({}, false, 1, true);
    await runCli(failing, coloured, TEST_REGISTRY);
    expect(coloured.stdoutText()).toMatch(/^\u001b\[31mFAIL\u001b\[0m fixture-io$/m);
    expect(coloured.stdoutText()).toMatch(/ \u001b\[31mFAIL \(safety\)\u001b\[0m$/m);
    const plain = fakeIo();
    await runCli(failing, plain, TEST_REGISTRY);
    expect(plain.stdoutText()).not.toMatch(/\u001b/);
    const pass = fakeIo({}, false, 1, true);
    await runCli(['check', '--seed', '3', '--runs', '5'], pass, TEST_REGISTRY);
    expect(pass.stdoutText()).toMatch(/ \u001b\[32mpass\u001b\[0m$/m);
  });

  it('the progress line follows stderr, where it is written: a log gets no control sequences', async () => {
    // stderr a file (2>log) while stdout is a terminal: plain progress, never \r or ESC.
    const logged = fakeIo({}, false, 4000, true);
    await runCli(['check', '--seed', '3', '--runs', '30'], logged, TEST_REGISTRY);
    expect(logged.stderrText()).toMatch(/fixture-io: \d+\/30 runs/);
    expect(logged.stderrText()).not.toMatch(/[\r\u001b]/);
  });
});

describe('replay exit codes', () => {
  it('a fixed liveness bug replays clean: exit 0, NOT reproduced', async () => {
    const file = 'docs/examples/lost-wakeup-frontend-skips-final-check.json';
    const trace = readFileSync(file, 'utf8');
    const fixedRegistry = {
      ...TEST_REGISTRY,
      drivers: (name: string) =>
        TEST_REGISTRY.drivers(name === 'frontend-skips-final-check' ? 'honest' : name),
    };
    const io = fakeIo({ [file]: trace });
    expect(
      await runCli(['replay', file], io, {
        ...fixedRegistry,
        properties: DEFAULT_REGISTRY.properties,
      }),
    ).toBe(0);
    expect(io.stdoutText()).toMatch(
      /^NOT reproduced: the trace records lost-wakeup at step \d+, the replay found no violation/,
    );
    const broken = fakeIo({ [file]: trace });
    expect(
      await runCli(['replay', file], broken, {
        ...TEST_REGISTRY,
        properties: DEFAULT_REGISTRY.properties,
      }),
    ).toBe(3);
    expect(broken.stdoutText()).toMatch(/^reproduced: lost-wakeup/);
  });
});

describe('render --format svg and all', () => {
  const file = 'docs/examples/lost-wakeup-frontend-skips-final-check.json';
  const trace = readFileSync(file, 'utf8');
  const registry = { ...TEST_REGISTRY, properties: DEFAULT_REGISTRY.properties };

  it('svg writes the sequence diagram alone', async () => {
    const io = fakeIo({ [file]: trace });
    expect(await runCli(['render', file, '--format', 'svg'], io, registry)).toBe(0);
    expect(io.stdoutText()).toMatch(/^<\?xml [^>]*>\n<svg [^>]*>[\s\S]*<\/svg>\n$/);
    expect(io.stdoutText()).not.toMatch(/<table|<html/);
  });

  it('all writes every format into the --out folder, named after the trace', async () => {
    const io = fakeIo({ [file]: trace });
    expect(await runCli(['render', file, '--format', 'all', '--out', 'r/'], io, registry)).toBe(0);
    const base = 'r/lost-wakeup-frontend-skips-final-check';
    expect([...io.files.keys()].filter((f) => f.startsWith('r/')).sort()).toEqual(
      ['html', 'mmd', 'shiviz.txt', 'svg', 'txt'].map((e) => `${base}.${e}`),
    );
    expect(io.files.get(`${base}.svg`)).toMatch(/^<\?xml/);
    expect(io.stdoutText()).toBe('');
  });

  it('all without --out, or onto a file, is one line and writes nothing', async () => {
    for (const argv of [
      ['render', file, '--format', 'all'],
      ['render', file, '--format', 'all', '--out', file],
    ]) {
      const io = fakeIo({ [file]: trace });
      expect(await runCli(argv, io, registry)).toBe(2);
      expect(io.stderrText()).toMatch(/^blkif render: --out: .*\n$/);
      expect([...io.files.keys()]).toEqual([file]);
    }
  });
});
