import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  editFrontendStateJump,
  editQueuesDespiteSingleQueueBackend,
} from '../../traces/conformance/edit-trace.ts';
import { readScenario1, recordedScenarios } from '../../traces/conformance/scenario-files.ts';
import { EXIT } from '../command.ts';
import { fakeIo as sharedFakeIo } from '../testing/fake-io.ts';
import { conformCommand } from './conform.ts';

function fakeIo(files: Record<string, string>) {
  const io = sharedFakeIo(files);
  return { io, out: io.out, err: io.err };
}

async function conform(files: Record<string, string>, args: string[], device?: string) {
  const { io, out, err } = fakeIo(files);
  const options = device === undefined ? {} : { device };
  const code = await conformCommand.run({ positionals: args, options }, io);
  return { code, out: out.join(''), err: err.join('') };
}

describe('blkif conform: bad input exits 2 with one line', () => {
  it('a missing file', async () => {
    const run = await conform({}, ['nowhere.log']);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.err).toBe('blkif conform: cannot read nowhere.log: no such file\n');
  });

  it('no argument', async () => {
    const run = await conform({}, []);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.err.trim().split('\n')).toHaveLength(1);
  });

  it('an unparsable trace names its line', async () => {
    const run = await conform(
      { 't.log': 'CREATE connection 0xa\nIN 0xb 20261122 23:03:34 READ (x )\n' },
      ['t.log'],
    );
    expect(run.code).toBe(EXIT.badInput);
    expect(run.err).toMatch(/^blkif conform: t\.log:2: unknown-connection: .*\n$/);
    expect(run.out).toBe('');
  });

  it('a trace with no vbd device', async () => {
    const run = await conform({ 't.log': 'CREATE connection 0xa\n' }, ['t.log']);
    expect(run.code).toBe(EXIT.badInput);
    expect(run.err).toBe('blkif conform: t.log: no vbd device in the trace\n');
  });
});

describe(`blkif conform on scenario-1 (Xen 4.17 + Linux 6.1)`, () => {
  const text = readScenario1();

  it('passes: one ok line per session, exit 0', async () => {
    const run = await conform({ 's.log': text }, ['s.log']);
    expect(run.err).toBe('');
    expect(run.code).toBe(EXIT.pass);
    const lines = run.out.trim().split('\n');
    expect(lines.map((line) => line.split(':')[0])).toEqual([
      'ok   vbd 1/51712',
      'ok   vbd 2/51712',
      'ok   vbd 2/51728',
    ]);
  });

  it('a recording cut before the connection: ok (partial) with state, line and why, exit 0', async () => {
    const cut = `${text.split('\n').slice(0, 2000).join('\n')}\n`;
    const run = await conform({ 'c.log': cut }, ['c.log']);
    expect(run.code).toBe(EXIT.pass);
    expect(run.out.startsWith('ok (partial): vbd 1/51712: stopped at ')).toBe(true);
    // docs/conformance.md quotes this very line.
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/conformance.md'), 'utf8');
    expect(doc).toContain(`\n${run.out}`);
  });

  it('--device limits the output', async () => {
    const run = await conform({ 's.log': text }, ['s.log'], '51728');
    expect(run.code).toBe(EXIT.pass);
    expect(run.out.trim().split('\n')).toHaveLength(1);
    const none = await conform({ 's.log': text }, ['s.log'], '51999');
    expect(none.code).toBe(EXIT.badInput);
  });

  it('fails each edited copy with a one-line reason naming the rule, exit 1', async () => {
    for (const [edit, rule] of [
      [editQueuesDespiteSingleQueueBackend, 'queue-count'],
      [editFrontendStateJump, 'illegal-transition'],
    ] as const) {
      const edited = edit(text);
      if (!edited.ok) throw new Error(edited.error);
      const run = await conform({ 'e.log': edited.value.text }, ['e.log']);
      expect(run.code).toBe(EXIT.safety);
      const lines = run.out.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^FAIL ${rule}: vbd 1/51712, `));
      expect(lines.slice(1).every((line) => line.startsWith('ok   '))).toBe(true);
    }
  });
});

const ROOT = resolve(import.meta.dirname, '../..');

/** `<!-- conform-example: <trace> -->` then a fenced block: `$ npx blkif conform <trace>`, output. */
function docExamples(doc: string): { trace: string; command: string; output: string }[] {
  const text = readFileSync(resolve(ROOT, doc), 'utf8');
  const re = /<!-- conform-example: (\S+) -->\n```\n\$ ([^\n]+)\n([\s\S]*?)```/g;
  return [...text.matchAll(re)].map((m) => ({ trace: m[1]!, command: m[2]!, output: m[3]! }));
}

describe('every committed recording and every quoted output', () => {
  it('blkif conform passes on every session of every trace in fixtures/conformance', async () => {
    const scenarios = recordedScenarios();
    expect(scenarios.map((s) => s.name)).toContain('xen-4.17-linux-6.1/scenario-1');
    for (const scenario of scenarios) {
      const run = await conform({ t: readFileSync(scenario.trace, 'utf8') }, ['t']);
      expect({ scenario: scenario.name, code: run.code, err: run.err }).toEqual({
        scenario: scenario.name,
        code: EXIT.pass,
        err: '',
      });
    }
  });

  it("docs/conformance.md quotes the command's real output", async () => {
    const examples = docExamples('docs/conformance.md');
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      expect(example.command).toBe(`npx blkif conform ${example.trace}`);
      const path = resolve(ROOT, example.trace);
      const run = await conform({ [example.trace]: readFileSync(path, 'utf8') }, [example.trace]);
      expect(relative(ROOT, path)).toBe(example.trace);
      expect(run.out).toBe(example.output);
    }
  });
});
