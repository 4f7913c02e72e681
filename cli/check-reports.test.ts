import { describe, expect, it } from 'vitest';
import type { PropertyDef } from '../properties/catalog.ts';
import type { Violation } from '../properties/invariants/violation.ts';
import { CANARY } from '../properties/properties.ts';
import {
  CORRUPTING_DRIVERS,
  DEAF_DRIVERS,
  FIXTURE_PROPERTY,
  fixtureDrivers,
} from '../traces/testing/fixtures.ts';
import { mermaidSequenceProblems } from '../traces/testing/mermaid-syntax.ts';
import { violationSignature } from './check/findings.ts';
import { parseReports } from './check/reports.ts';
import type { CheckSummary } from './check/summary.ts';
import { parseDuration } from './commands/check.ts';
import type { Registry } from './registry.ts';
import { runCli } from './run-cli.ts';
import { junitProblems, parseXml } from './testing/junit-schema.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';

/** The fixture property under a second name: both find the same violations. */
const TWIN: PropertyDef = { ...FIXTURE_PROPERTY, name: 'fixture-twin' };

const REGISTRY: Registry = {
  properties: [FIXTURE_PROPERTY, TWIN],
  extraProperties: [CANARY],
  drivers: fixtureDrivers,
  driverNames: ['honest', CORRUPTING_DRIVERS.name, DEAF_DRIVERS.name],
};

async function cli(argv: string[], io: FakeIo = fakeIo()): Promise<{ code: number; io: FakeIo }> {
  return { code: await runCli(argv, io, REGISTRY), io };
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

describe('closing tally', () => {
  it('the last line is "N passed, N failed" alone', async () => {
    const pass = await cli(['check', '--seed', '3', '--runs', '10']);
    expect(lastLine(pass.io.stdoutText())).toBe('2 passed, 0 failed');
    const fail = await cli([
      'check',
      '--seed',
      '7',
      '--runs',
      '50',
      '--drivers',
      CORRUPTING_DRIVERS.name,
    ]);
    expect(lastLine(fail.io.stdoutText())).toBe('0 passed, 2 failed');
    expect(fail.code).toBe(1);
  });
});

describe('one bug reported once', () => {
  it('two properties finding the same violation: one trace, both named, the shortest kept', async () => {
    const { code, io } = await cli([
      'check',
      '--seed',
      '7',
      '--runs',
      '50',
      '--drivers',
      CORRUPTING_DRIVERS.name,
    ]);
    expect(code).toBe(1);
    const out = io.stdoutText();
    expect(out.match(/^ {2}seed /gm)?.length ?? 0).toBeLessThanOrEqual(2);
    expect(out).toMatch(/^FAIL fixture-twin: the same violation as #1 \(fixture-io\)/m);
    expect([...io.files.keys()]).toEqual([
      '.blkif/failures/data-integrity-test-corrupt-writes-7.json',
    ]);
    expect(out).toMatch(
      /\n1 distinct violation:\n {2}#1 data-integrity at step \d+.*\n {5}found by fixture-io, fixture-twin\n/,
    );
    expect(out).toMatch(
      /fixture-io +\d+ +[\d,]+ +[\d.]+s +FAIL \(safety\) #1\nfixture-twin .* #1\n/,
    );
  });

  it('signatures set numbers aside but keep code, fields and wording apart', () => {
    const v = (over: Partial<Violation>): Violation => ({
      code: 'lost-wakeup',
      step: 28,
      ring: 0,
      message: 'frontend ring idles with 1 unprocessed responses (rsp_prod 2, rsp_cons 1)',
      ...over,
    });
    const base = violationSignature(v({}));
    expect(
      violationSignature(v({ step: 42, ring: 2, message: v({}).message.replace('2', '9') })),
    ).toBe(base);
    expect(violationSignature(v({ code: 'no-lost-request' }))).not.toBe(base);
    const { ring: _, ...ringless } = v({});
    expect(violationSignature(ringless)).not.toBe(base);
    expect(
      violationSignature(v({ message: 'backend ring thread sleeps with 1 unconsumed requests' })),
    ).not.toBe(base);
  });
});

describe('--bail and --duration', () => {
  it('--bail skips the properties after the first failure', async () => {
    const { code, io } = await cli([
      'check',
      '--property',
      'canary,fixture-io',
      '--seed',
      '1',
      '--runs',
      '200',
      '--bail',
    ]);
    expect(code).toBe(1);
    expect(io.stdoutText()).toMatch(/\nfixture-io +0 +0 +0\.00s +not run \(--bail\)\n/);
    expect(lastLine(io.stdoutText())).toBe('0 passed, 1 failed, 1 skipped');
  });

  it('--duration stops at the time limit and reports the runs done', async () => {
    // The fake clock advances 1 ms per reading: the share of 40 ms ends after a few runs.
    const io = fakeIo();
    const argv = ['check', '--property', 'fixture-io', '--seed', '3', '--duration', '40ms'];
    const { code } = await cli([...argv, '--summary-out', 's.json'], io);
    expect(code).toBe(0);
    const summary = JSON.parse(io.files.get('s.json')!) as CheckSummary;
    const p = summary.properties[0]!;
    expect(p.timeLimited).toBe(true);
    expect(p.runs).toBeGreaterThan(0);
    expect(p.runs).toBeLessThan(40);
    expect(io.stdoutText()).toMatch(new RegExp(`\\nfixture-io +${p.runs} .* pass, time limit\\n`));
    expect(io.stdoutText()).toMatch(
      /^blkif check: seed 3, drivers honest, 1 property, duration 0.04s\n/,
    );
    expect(summary.budgets.durationMs).toBe(40);
    expect(summary.interrupted).toBeUndefined();
  });

  it('--duration with a failure: the failure is reported, the next property still runs', async () => {
    const argv = [
      'check',
      '--seed',
      '7',
      '--duration',
      '10s',
      '--drivers',
      CORRUPTING_DRIVERS.name,
    ];
    const { code, io } = await cli(argv, fakeIo({}, false, 0));
    expect(code).toBe(1);
    expect(io.stdoutText()).toMatch(/^FAIL fixture-io\n/m);
    expect(lastLine(io.stdoutText())).toBe('0 passed, 2 failed');
  });

  it('durations parse with units; nonsense is one line', async () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2')).toBe(2000);
    const { code, io } = await cli(['check', '--duration', 'soon']);
    expect(code).toBe(2);
    expect(io.stderrText()).toBe(
      'blkif check: --duration: expected a time like 90s, 5m or 1h (at most 7 days), got "soon"\n',
    );
  });
});

describe('summaries record the campaign; --merge refuses another', () => {
  const shard = async (io: FakeIo, extra: string[], out: string, index: number) =>
    cli(
      [
        'check',
        '--seed',
        '5',
        '--runs',
        '200',
        '--shard',
        `${index}/2`,
        '--summary-out',
        out,
        ...extra,
      ],
      io,
    );

  it('records version, strategy, drivers and budgets', async () => {
    const io = fakeIo();
    await shard(io, ['--steps-max', '300'], 'a.json', 1);
    const s = JSON.parse(io.files.get('a.json')!) as CheckSummary;
    expect(s.version).toBe(2);
    expect(s.blkif).toMatch(/^\d+\.\d+\.\d+/);
    expect(s.strategy).toBe('choices');
    expect(s.drivers).toBe('honest');
    expect(s.budgets).toEqual({
      stepsMax: 300,
      drainStepsMax: 'default',
      durationMs: 'none',
      bail: false,
    });
  });

  it.each([
    ['strategy', ['--strategy', 'pct'], /strategy pct differs from choices/],
    ['budgets', ['--steps-max', '99'], /budgets .*"stepsMax":99.* differs/],
    ['bail', ['--bail'], /budgets .*"bail":true.* differs/],
    ['drivers', ['--drivers', DEAF_DRIVERS.name], /drivers test-deaf-frontend differs from honest/],
  ])('a shard with another %s is refused', async (_, extra, message) => {
    const io = fakeIo();
    await shard(io, [], 'a.json', 1);
    await shard(io, extra, 'b.json', 2);
    const merged = await cli(
      ['check', '--merge', 'a.json', 'b.json'],
      fakeIo(Object.fromEntries(io.files)),
    );
    expect(merged.code).toBe(2);
    expect(merged.io.stderrText()).toMatch(message);
    expect(merged.io.stderrText().trimEnd().split('\n')).toHaveLength(1);
  });

  it('a version 1 summary is refused in one line', async () => {
    const io = fakeIo({ 'old.json': JSON.stringify({ kind: 'blkif-check-summary', version: 1 }) });
    const { code } = await cli(['check', '--merge', 'old.json'], io);
    expect(code).toBe(2);
    expect(io.stderrText()).toMatch(/summary version 1 is not 2/);
  });

  it('merging failing shards keeps one failure per violation and ends with the tally', async () => {
    const io = fakeIo();
    const deaf = ['--drivers', DEAF_DRIVERS.name];
    await shard(io, deaf, 'a.json', 1);
    await shard(io, deaf, 'b.json', 2);
    const merged = await cli(
      ['check', '--merge', 'a.json', 'b.json', '--summary-out', 'm.json'],
      fakeIo(Object.fromEntries(io.files)),
    );
    expect(merged.code).toBe(3);
    const m = JSON.parse(merged.io.files.get('m.json')!) as CheckSummary;
    expect(new Set(m.failures.map((f) => f.signature)).size).toBe(m.failures.length);
    expect(m.failures.flatMap((f) => f.properties).sort()).toEqual(['fixture-io', 'fixture-twin']);
    expect(lastLine(merged.io.stdoutText())).toBe('0 passed, 2 failed');
  });
});

describe('--report junit and markdown', () => {
  it('bad report specs are one line', async () => {
    expect(() => parseReports('xml=a')).toThrow(
      /--report: expected junit=<file> or markdown=<file>/,
    );
    const { code, io } = await cli(['check', '--report', 'junit']);
    expect(code).toBe(2);
    expect(io.stderrText()).toMatch(/^blkif check: --report: expected junit=<file>/);
  });

  const failing = async () =>
    cli([
      'check',
      '--seed',
      '7',
      '--runs',
      '50',
      '--drivers',
      CORRUPTING_DRIVERS.name,
      '--property',
      'fixture-io,fixture-twin,canary',
      '--report',
      'junit=r.xml',
      '--report',
      'markdown=r.md',
    ]);

  it('JUnit XML: well-formed, the JUnit schema shape, one testcase per property', async () => {
    const { io } = await failing();
    const xml = io.files.get('r.xml')!;
    const root = parseXml(xml);
    expect(junitProblems(root)).toEqual([]);
    const suite = root.children[0]!;
    const cases = suite.children.filter((c) => c.name === 'testcase');
    expect(cases.map((c) => c.attributes.get('name'))).toEqual([
      'fixture-io',
      'fixture-twin',
      'canary',
    ]);
    const failure = cases[0]!.children.find((c) => c.name === 'failure')!;
    expect(failure.attributes.get('message')).toMatch(/^data-integrity at step \d+(: .*)? — /);
    expect(failure.attributes.get('type')).toBe('data-integrity');
    expect(failure.text).toMatch(
      /npx blkif replay \.blkif\/failures\/data-integrity-test-corrupt-writes-7\.json/,
    );
    expect(failure.text).toMatch(
      /rerun: npx blkif check --property fixture-io --seed 7 --path [\d:]+ --drivers test-corrupt-writes/,
    );
    expect(cases[2]!.children.find((c) => c.name === 'failure')?.attributes.get('type')).toBe(
      'canary',
    );
    expect(suite.attributes.get('failures')).toBe('3');
    const bailed = await cli([
      'check',
      '--property',
      'canary,fixture-io',
      '--seed',
      '1',
      '--runs',
      '200',
      '--bail',
      '--report',
      'junit=b.xml',
    ]);
    const skipped = parseXml(bailed.io.files.get('b.xml')!);
    expect(junitProblems(skipped)).toEqual([]);
    expect(skipped.children[0]!.children.at(-2)!.children.map((c) => c.name)).toEqual(['skipped']);
    expect(skipped.children[0]!.attributes.get('skipped')).toBe('1');
  });

  it('teeth: the checker refuses broken XML and a broken JUnit shape', async () => {
    const { io } = await failing();
    const xml = io.files.get('r.xml')!;
    expect(() => parseXml(xml.replace('<system-out>', '<system-out>a & b'))).toThrow(/bare &/);
    expect(() => parseXml(xml.replace('</testsuite>', ''))).toThrow(
      /expected <\/testsuite>|never closed/,
    );
    expect(() => parseXml(xml.replace('—', '—\u0001'))).toThrow(/control character/);
    expect(junitProblems(parseXml(xml.replace(/ classname="[^"]*"/, '')))).toEqual([
      'testsuites/testsuite[0]/testcase[1]: missing attribute classname',
    ]);
    expect(
      junitProblems(
        parseXml(
          xml.replaceAll(
            'failures="3" errors="0" skipped="0" time',
            'failures="1" errors="0" skipped="0" time',
          ),
        ),
      ),
    ).not.toEqual([]);
  });

  it('Markdown: the table, each violation with its replay command and a mermaid block that parses', async () => {
    const { io } = await failing();
    const md = io.files.get('r.md')!;
    expect(md).toMatch(/^## ❌ blkif check: 0 passed, 3 failed\n/);
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(5);
    expect(md).toMatch(/\n2 distinct violations:\n/);
    for (const row of table) expect(row.split(/(?<!\\)\|/).length - 2).toBe(5);
    expect(md).toMatch(/### #1 data-integrity \(safety\)\n\n```text\ndata-integrity at step \d+/);
    expect(md).toMatch(/Found by `fixture-io`, `fixture-twin`\./);
    expect(md).toMatch(
      /```sh\nnpx blkif replay \.blkif\/failures\/data-integrity-test-corrupt-writes-7\.json\n/,
    );
    const blocks = [...md.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    for (const block of blocks) expect(mermaidSequenceProblems(`${block}\n`)).toEqual([]);
    expect(md.split('```').length % 2).toBe(1);
  });

  it('teeth: the mermaid check refuses what Mermaid refuses', () => {
    const ok =
      'sequenceDiagram\n  participant a as A\n  participant b as B\n  a->>b: 1. x #59; y\n';
    expect(mermaidSequenceProblems(ok)).toEqual([]);
    expect(mermaidSequenceProblems(ok.replace('#59;', ';'))).toHaveLength(1);
    expect(mermaidSequenceProblems(`${ok}  end\n`)).toEqual(['line 5: end without a block']);
    expect(mermaidSequenceProblems(`${ok}  a->>c: z\n`)).toEqual(['line 5: undeclared c']);
    expect(mermaidSequenceProblems(`${ok}  rect rgb(1, 2, 3)\n`)).toEqual([
      '1 block(s) never closed',
    ]);
  });

  it('--merge writes the reports too, drawing the traces the summaries name', async () => {
    const io = fakeIo();
    for (const i of [1, 2])
      await cli(
        [
          'check',
          '--seed',
          '7',
          '--runs',
          '200',
          '--shard',
          `${i}/2`,
          '--drivers',
          CORRUPTING_DRIVERS.name,
          '--summary-out',
          `s${i}.json`,
        ],
        io,
      );
    const merged = await cli(
      [
        'check',
        '--merge',
        's1.json',
        's2.json',
        '--report',
        'markdown=m.md',
        '--report',
        'junit=m.xml',
      ],
      fakeIo(Object.fromEntries(io.files)),
    );
    expect(merged.code).toBe(1);
    expect(junitProblems(parseXml(merged.io.files.get('m.xml')!))).toEqual([]);
    expect(merged.io.files.get('m.md')).toMatch(/```mermaid\nsequenceDiagram\n/);
  });
});
