import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformTrace } from '../../traces/conformance/conform.ts';
import { EXIT } from '../command.ts';
import { fakeIo } from '../testing/fake-io.ts';
import { captureCommand, SCENARIO_DIR, scenarioNames } from './capture.ts';

async function capture(
  args: string[],
  options: Record<string, string | number | boolean> = {},
  files: Record<string, string> = {},
) {
  const io = fakeIo(files);
  // The committed scenarios are read from disk; the fake file system holds only test files.
  const real = {
    ...io,
    exists: (p: string) => io.files.has(p) || (p.startsWith(SCENARIO_DIR) && existsSync(p)),
    readFile: (p: string) => io.files.get(p) ?? readFileSync(p, 'utf8'),
  };
  const code = await captureCommand.run({ positionals: args, options }, real);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

describe('blkif capture: bad input is one line and exit 2, before anything boots', () => {
  it.each([
    [
      'no scenario',
      [],
      {},
      /^blkif capture: missing <scenario> \(a file, or one of: .*destroy-connected/,
    ],
    ['an unknown scenario', ['nope'], {}, /^blkif capture: no scenario nope \(a file, or one of: /],
    [
      'a guest kernel without its modules',
      ['destroy-connected'],
      { 'guest-kernel': '/vmlinuz' },
      /--guest-kernel and --guest-modules go together/,
    ],
    [
      'a backend kernel without its modules',
      ['pvh'],
      { 'backend-kernel': '/vmlinuz' },
      /--backend-kernel and --backend-modules go together/,
    ],
    ['a second argument', ['pvh', 'extra'], {}, /unexpected argument "extra"/],
  ])('%s', async (_name, args, options, message) => {
    const run = await capture(args, options);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.err).toMatch(message);
    expect(run.err.trim().split('\n')).toHaveLength(1);
    expect(run.out).toBe('');
  });

  it('a scenario file with a bad step names the file and the step', async () => {
    const run = await capture(['s.json'], {}, { 's.json': '{"steps":["create","restore"]}' });
    expect(run.code).toBe(EXIT.badInput);
    expect(run.err).toBe('blkif capture: s.json: steps[1] (restore): needs a saved guest\n');
  });
});

describe('blkif capture --dry-run', () => {
  it('prints the guest config and both /init scripts of a committed scenario, boots nothing', async () => {
    expect(scenarioNames()).toContain('mq-restore-single');
    const run = await capture(['mq-restore-single'], { 'dry-run': true });
    expect(run.code).toBe(EXIT.pass);
    expect(run.out).toContain('# mq-restore-single: 4 vCPUs with 4 queues');
    expect(run.out).toContain('vcpus = 4\n');
    expect(run.out).toContain('insmod /lib/modules/xen_blkfront.ko max_queues=4\n');
    expect(run.out).toContain('echo 1 > /sys/module/xen_blkback/parameters/max_queues');
    expect(run.err).toBe('');
  });
});

const ROOT = resolve(import.meta.dirname, '../..');

/** `<!-- capture-example: <dir> -->` then a fenced block: the command, then its output. */
function captureExamples(): { dir: string; command: string; output: string }[] {
  const text = readFileSync(join(ROOT, 'docs/conformance.md'), 'utf8');
  const re = /<!-- capture-example: (\S+) -->\n```\n\$ ([^\n]+)\n([\s\S]*?)```/g;
  return [...text.matchAll(re)].map((m) => ({ dir: m[1]!, command: m[2]!, output: m[3]! }));
}

describe("docs/conformance.md quotes a real capture's output", () => {
  it('the quoted run is the committed capture.log of a committed recording, which still conforms', () => {
    const examples = captureExamples();
    expect(examples.length).toBeGreaterThan(0);
    for (const { dir, command, output } of examples) {
      const name = basename(dir);
      expect(command).toBe(`npx blkif capture ${name} --out ${dir}`);
      expect(scenarioNames()).toContain(name);
      expect(output).toBe(readFileSync(join(ROOT, dir, 'capture.log'), 'utf8'));
      // The run completed, and its last lines are conform's verdicts on the trace beside it.
      const record = JSON.parse(readFileSync(join(ROOT, dir, 'capture.json'), 'utf8'));
      expect(record.failed).toBeNull();
      expect(record.scenario.name).toBe(name);
      const lines = output.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^\[ +0 s\] fetching packages/);
      const verdicts = lines.filter((line) => !line.startsWith('['));
      expect(verdicts.length).toBeGreaterThan(0);
      expect(verdicts.every((line) => line.startsWith('ok '))).toBe(true);
      const now = conformTrace(readFileSync(join(ROOT, dir, 'xs-trace.log'), 'utf8'), {});
      expect(now.ok && now.value.map((v) => [v.device, v.divergence])).toEqual(
        verdicts.map((line) => [/^ok +(vbd \S+):/.exec(line)?.[1], undefined]),
      );
    }
  });
});

describe("docs/conformance.md's capture sections name the command's real options", () => {
  it('every option of blkif capture is explained, and every --option named exists', () => {
    const text = readFileSync(join(ROOT, 'docs/conformance.md'), 'utf8');
    const section = text.slice(text.indexOf('## Recording the real drivers yourself'));
    const named = new Set([...section.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]!));
    const real = new Set(captureCommand.options.map((o) => o.name));
    expect([...named].filter((name) => !real.has(name))).toEqual([]);
    expect([...real].filter((name) => !named.has(name))).toEqual([]);
    expect(section).toContain("### Recording your own kernel's traffic");
  });
});

// The real thing: Debian's packages, Xen under QEMU, a minute or more. Only when asked for.
describe.runIf(process.env.BLKIF_CAPTURE === '1')(
  'blkif capture under QEMU (BLKIF_CAPTURE=1)',
  () => {
    it('records destroy-connected end to end and the trace conforms', {
      timeout: 1_200_000,
    }, async () => {
      const out = mkdtempSync(join(tmpdir(), 'blkif-capture-'));
      try {
        const io = fakeIo();
        const real = {
          ...io,
          exists: () => true,
          readFile: (p: string) => readFileSync(p, 'utf8'),
        };
        const code = await captureCommand.run(
          { positionals: ['destroy-connected'], options: { out: join(out, 'run') } },
          real,
        );
        expect(io.stderrText()).toContain('dom0 up: running the steps');
        expect(io.stdoutText()).toMatch(/^ok /);
        expect(code).toBe(EXIT.pass);
        expect(readFileSync(join(out, 'run', 'xs-trace.log'), 'utf8')).toContain('INTRODUCE (1 ');
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  },
);
