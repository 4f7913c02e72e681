// Issue 19: a generated test of the `blkif` command itself. fast-check mutates valid inputs (a
// trace, a summary, a coverage file, a xenstored log), builds hostile option lists and unwritable
// output paths, runs each command line through the fake io and demands what style rule 11 says of
// bad input: never exit 4, never a stack trace; a refusal is one line on stderr with exit 2, and
// leaves the files as they were. numRuns stay small: npm test spends a few seconds here, the
// generators are the point (a longer search: BLKIF_CLI_RUNS=2000 npx vitest run cli/generated).
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkProperty } from '../properties/catalog.ts';
import { traceJson } from '../properties/counterexample.ts';
import { CORRUPTING_DRIVERS, FIXTURE_PROPERTY } from '../traces/testing/fixtures.ts';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';

const XS_TRACE = 'fixtures/conformance/xen-4.17-linux-6.1/scenario-1/xs-trace.log';
const RUNS = Number(process.env.BLKIF_CLI_RUNS ?? 40);
const SEED = Number(process.env.BLKIF_CLI_SEED ?? 19);
const params = (numRuns = RUNS) => ({ numRuns, seed: SEED });

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Outcome {
  readonly exit: number;
  readonly out: string;
  readonly err: string;
  readonly before: ReadonlyMap<string, string>;
  readonly io: FakeIo;
}

/** A folder tree with every kind of unwritable place in it, plus the given files. */
function hostileIo(files: Record<string, string> = {}): FakeIo {
  const io = fakeIo({ 'a-file': 'x', ...files });
  io.dirs.add('a-dir');
  io.readOnly.add('ro');
  io.special.add('/dev/full');
  return io;
}

async function run(argv: readonly string[], io: FakeIo): Promise<Outcome> {
  const before = new Map(io.files);
  const exit = await runCli(argv, io, TEST_REGISTRY);
  return { exit, out: io.stdoutText(), err: io.stderrText(), before, io };
}

/** What every outcome owes the user, whatever the input. */
function expectNoCrash(o: Outcome, argv: readonly string[]): void {
  const where = JSON.stringify(argv);
  expect(o.exit, `${where}: ${o.err}`).not.toBe(4);
  expect(o.err, where).not.toMatch(/internal error|\n {4}at /);
  expect(o.err, where).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
}

/** A refusal: one line naming the command, exit 2, nothing on stdout, no file touched. */
function expectRefused(o: Outcome, argv: readonly string[]): void {
  const where = `${JSON.stringify(argv)} -> exit ${o.exit}, stderr ${JSON.stringify(o.err)}`;
  expectNoCrash(o, argv);
  expect(o.exit, where).toBe(2);
  expect(o.err, where).toMatch(/^blkif [a-z]+: [^\n]+\n$/);
  expect(o.out, where).toBe('');
  expect(o.io.files, where).toEqual(o.before);
}

/** Every leaf and inner node of a JSON value, as a path of keys. */
function pathsOf(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const here = at.length === 0 ? [] : [at];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => pathsOf(v, [...at, i]))];
  if (value !== null && typeof value === 'object')
    return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...at, k]))];
  return here;
}

function getAt(value: Json, path: readonly (string | number)[]): Json | undefined {
  let at: Json | undefined = value;
  for (const key of path) at = (at as Record<string | number, Json> | undefined)?.[key];
  return at;
}

/** A copy of `root` with the node at `path` replaced by `value` (removed when undefined). */
function setAt(root: Json, path: readonly (string | number)[], value: Json | undefined): Json {
  const copy = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  if (value !== undefined) parent[key] = value;
  else if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key];
  return copy;
}

const jsonType = (v: Json | undefined) =>
  v === undefined ? 'absent' : v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;

/** Values a hand edit, a newer tool or an attacker might leave in a field. */
const HOSTILE_VALUE: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constantFrom<Json | undefined>(
    undefined,
    null,
    true,
    false,
    0,
    -1,
    1.5,
    -0.25,
    2 ** 31,
    2 ** 53 + 2,
    1e308,
    '',
    '0',
    '8',
    'trim',
    '\u001b[2J\u001b]0;pwned\u0007',
    '<script>alert(1)</script>',
    '\u202e',
    [],
    [0],
    {},
    { kind: 'x' },
  ),
  fc.integer({ min: -5, max: 2000 }),
  fc.string({ maxLength: 12 }),
);

/** Text-level damage: cut short, bytes inserted, a BOM, a value that is no object. */
function damaged(text: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat({ max: text.length - 1 }).map((n) => text.slice(0, n)),
    fc
      .tuple(
        fc.nat({ max: text.length }),
        fc.constantFrom('\u0000', '\u00ff\u00fe', '\u001b[31m', '\uFFFD', '}', '"', ',,'),
      )
      .map(([n, bytes]) => text.slice(0, n) + bytes + text.slice(n)),
    fc.constantFrom('', '\uFEFF', 'null', '[]', '42', '"trace"', `[${text}]`, `${text}${text}`),
  );
}

/** A valid JSON document with one node replaced or removed; `changedType` when its type moved. */
function mutated(
  root: Json,
): fc.Arbitrary<{ text: string; path: string; from: string; to: string }> {
  const paths = pathsOf(root);
  return fc.tuple(fc.constantFrom(...paths), HOSTILE_VALUE).map(([path, value]) => ({
    text: JSON.stringify(setAt(root, path, value)),
    path: path.join('.'),
    from: jsonType(getAt(root, path)),
    to: jsonType(value),
  }));
}

let TRACE_TEXT = '';
let TRACE: Json = null;
let SUMMARY: Json = null;
let COVERAGE: Json = null;

beforeAll(async () => {
  const trace = checkProperty(FIXTURE_PROPERTY, {
    numRuns: 50,
    seed: 7,
    drivers: CORRUPTING_DRIVERS,
  }).failure!.trace;
  TRACE_TEXT = traceJson(trace);
  TRACE = JSON.parse(TRACE_TEXT) as Json;
  const io = fakeIo();
  const argv = ['check', '--seed', '3', '--runs', '2', '--summary-out', 's.json'];
  expect(await runCli([...argv, '--coverage-out', 'c.json'], io, TEST_REGISTRY)).toBe(0);
  SUMMARY = JSON.parse(io.files.get('s.json')!) as Json;
  COVERAGE = JSON.parse(io.files.get('c.json')!) as Json;
});

// Config fields are all read by the world and typed by the schema: a value of another JSON type
// there is a malformed trace, never a run. (Fields of the recorded steps the replay recomputes.)
const TYPED = /^(version|drivers|property|seed|path|config\..+|violation\.(code|step|message))$/;

describe('generated: malformed traces (replay and render)', () => {
  it('a mutated field: never a crash; replay and render refuse alike, in one line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(null).chain(() => mutated(TRACE)) },
          {
            weight: 1,
            arbitrary: fc
              .constant(null)
              .chain(() => damaged(TRACE_TEXT))
              .map((text) => ({ text, path: '(text)', from: 'text', to: 'text' })),
          },
        ),
        fc.constantFrom('text', 'mermaid', 'shiviz'),
        async (m, format) => {
          const replay = await run(['replay', 't.json'], hostileIo({ 't.json': m.text }));
          const argv = ['render', 't.json', '--format', format, '--out', 'o.txt'];
          const render = await run(argv, hostileIo({ 't.json': m.text }));
          expectNoCrash(replay, ['replay', m.path]);
          expectNoCrash(render, [...argv, m.path]);
          if (replay.exit === 2 || render.exit === 2) {
            expectRefused(replay, ['replay', m.path]);
            expectRefused(render, ['render', m.path]);
            expect(render.err.replace(/^blkif render/, 'blkif replay')).toBe(replay.err);
          } else {
            expect([0, 1, 3], m.path).toContain(replay.exit);
            expect(render.exit, m.path).toBe(0);
            expect([...render.io.files.keys()].sort()).toEqual(['a-file', 'o.txt', 't.json']);
          }
          if (
            TYPED.test(m.path) &&
            m.from !== m.to &&
            !(m.path === 'property' && m.to === 'absent')
          )
            expect(replay.exit, `${m.path}: ${m.from} -> ${m.to}`).toBe(2);
        },
      ),
      params(),
    );
  });
});

describe('generated: malformed summaries and coverage files', () => {
  it('check --merge of a mutated summary: a merge or one line and exit 2', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(null).chain(() => mutated(SUMMARY).map((m) => m.text)),
          fc.constant(null).chain(() => damaged(JSON.stringify(SUMMARY))),
        ),
        async (text) => {
          const argv = ['check', '--merge', 's.json', '--summary-out', 'm.json'];
          const o = await run(argv, hostileIo({ 's.json': text }));
          expectNoCrash(o, argv);
          if (o.exit === 2 && o.out === '') expectRefused(o, argv);
          else expect([0, 1, 2, 3], o.err).toContain(o.exit);
        },
      ),
      params(),
    );
  });

  it('diagrams --coverage of a mutated file: drawn, or one line and exit 2 before any write', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(null).chain(() => mutated(COVERAGE)),
          fc
            .constant(null)
            .chain(() => damaged(JSON.stringify(COVERAGE)))
            .map((text) => ({ text, path: '(text)', from: 'text', to: 'text' })),
        ),
        async (m) => {
          const argv = ['diagrams', '--coverage', 'c.json', '--out', 'd'];
          const o = await run(argv, hostileIo({ 'c.json': m.text }));
          expectNoCrash(o, [...argv, m.path]);
          if (o.exit !== 0) expectRefused(o, [...argv, m.path]);
          // A count that is no count, or an edge key removed or renamed, is never drawn.
          const edgeKey = /^machines\.(frontend|backend)\.[^.]+$/.test(m.path);
          if (edgeKey && !(m.to === 'number' && m.from === 'number'))
            expect(o.exit, `${m.path}: ${m.from} -> ${m.to}`).toBe(2);
        },
      ),
      // Each accepted file draws two SVGs: fewer runs.
      params(Math.max(8, Math.floor(RUNS / 4))),
    );
  });

  it('conform of a damaged xenstored log: a verdict, or one line and exit 2', async () => {
    // The first part of a real recording (xenstored -T), up to the frontend's first keys.
    const log = readFileSync(XS_TRACE, 'utf8').split('\n').slice(0, 400).join('\n');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(damaged(log), fc.string({ maxLength: 60 }), fc.constant(`${log}\n`)),
        async (text) => {
          const argv = ['conform', 'x.log'];
          const o = await run(argv, hostileIo({ 'x.log': text }));
          expectNoCrash(o, argv);
          if (o.exit === 2) expectRefused(o, argv);
          else expect([0, 1]).toContain(o.exit);
        },
      ),
      params(),
    );
  });
});

/** Options that run cheaply and are fine alone (one of them, given twice, is not). */
const FILLER: Record<string, readonly string[][]> = {
  check: [
    ['--runs', '1'],
    ['--seed', '5'],
    ['--property', 'fixture-io'],
    ['--steps-max', '40'],
    ['--strategy', 'pct'],
    ['--bail'],
    ['--coverage'],
  ],
  replay: [['t.json']],
  render: [['t.json'], ['--format', 'text']],
  diagrams: [],
  list: [],
  conform: [],
};

/** One thing that is certainly wrong with a command line, whatever else is on it. */
const POISON: Record<string, readonly string[][]> = {
  check: [
    ['--runs', '0'],
    ['--runs', '-3'],
    ['--runs', '1.5'],
    ['--runs', 'many'],
    ['--runs=', '1'],
    ['--runs'],
    ['--seed', '1e40'],
    ['--seed', 'NaN'],
    ['--steps-max', '-1'],
    ['--drain-steps-max', '0.5'],
    ['--property', 'no-such-property'],
    ['--property', 'fixture-io,,'],
    ['--drivers', 'nobody'],
    ['--drivers', '\u001b[2J'],
    ['--strategy', 'random'],
    ['--shard', '0/2'],
    ['--shard', '3/2'],
    ['--shard', 'x'],
    ['--shard', '1/0'],
    ['--duration', '0s'],
    ['--duration', '5q'],
    ['--duration', '9999d'],
    ['--report', 'pdf=r.pdf'],
    ['--report', 'junit='],
    ['--report', 'junit=a-file/r.xml'],
    ['--report', 'markdown=ro/r.md'],
    ['--report', 'junit=/dev/full'],
    ['--path', 'a:b'],
    ['--path', '0:0', '--property', 'fixture-io,canary'],
    ['--partial'],
    ['--merge'],
    ['--merge', 'missing.json'],
    ['--merge', 'a-file'],
    ['--merge', 'a-dir'],
    ['--merge', '/dev/full'],
    ['--bail=yes'],
    ['--no-such-option'],
    ['-x'],
    ['stray'],
    ['--out', ''],
    ['--out', 'a-file'],
    ['--out', 'a-file/t'],
    ['--out', 'ro/t'],
    ['--out', '/dev/full'],
    ['--summary-out', 'a-dir'],
    ['--summary-out', 'nowhere/s.json'],
    ['--summary-out', 'ro/s.json'],
    ['--coverage-out', '/dev/full'],
    ['--coverage-out', 'a-file/c.json'],
    ['--drivers', './no-such-driver.ts'],
  ],
  replay: [
    ['missing.json'],
    ['a-dir'],
    ['/dev/full'],
    ['a-file'],
    ['t.json', 'u.json'],
    ['--drivers', 'x.ts'],
    ['--format', 'text'],
  ],
  render: [
    ['--format', 'pdf'],
    ['--format'],
    ['--out', 'a-dir'],
    ['--out', 'a-file/o.txt'],
    ['--out', 'ro/o.txt'],
    ['--out', '/dev/full'],
    ['--out', 'nowhere/o.txt'],
    ['--out', ''],
    ['extra.json'],
    ['--drivers', 'x.ts'],
  ],
  diagrams: [
    ['--out', 'a-file'],
    ['--out', 'a-file/d'],
    ['--out', 'ro'],
    ['--out', '/dev/full'],
    ['--coverage', 'missing.json'],
    ['--coverage', 'a-file'],
    ['--coverage', 'a-dir'],
    ['--coverage', '/dev/full'],
    ['--coverage'],
    ['stray'],
  ],
  list: [['stray'], ['--all'], ['--format=json']],
  conform: [
    [],
    ['missing.log'],
    ['a-dir'],
    ['/dev/full'],
    ['a-file', 'b-file'],
    ['--device'],
    ['--devices', '1'],
  ],
};

// The trace file and a trace-less 'a-file' (not a trace, not a log) are there for every command.
describe('generated: hostile option lists and unwritable paths', () => {
  const commandLine = fc.constantFrom(...Object.keys(POISON)).chain((command) =>
    fc
      .tuple(
        fc.subarray([...FILLER[command]!]),
        fc.constantFrom(...POISON[command]!),
        fc.nat(),
        fc.constantFrom(...POISON[command]!),
        fc.boolean(),
      )
      .map(([filler, poison, at, second, twice]) => {
        const parts = [...filler];
        parts.splice(at % (parts.length + 1), 0, poison);
        if (twice) parts.push(second);
        return [command, ...parts.flat()];
      }),
  );

  it('one line on stderr, exit 2, no stack trace, nothing run, nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(commandLine, async (argv) => {
        const o = await run(argv, hostileIo({ 't.json': TRACE_TEXT }));
        expectRefused(o, argv);
      }),
      params(RUNS * 2),
    );
  });
});

describe('generated: writes that fail mid-run and Ctrl-C at any point', () => {
  const outputs = fc.subarray(
    [
      ['--out', 'out'],
      ['--summary-out', 's.json'],
      ['--coverage-out', 'c.json'],
      ['--report', 'junit=r.xml'],
      ['--report', 'markdown=r.md'],
    ],
    { minLength: 1 },
  );

  it('a disk that fills up: the results printed first, then one line and exit 2', async () => {
    await fc.assert(
      fc.asyncProperty(
        outputs,
        fc.boolean(),
        fc.nat(),
        fc.integer({ min: 1, max: 12 }),
        async (opts, failing, pick, runs) => {
          const drivers = failing ? ['--drivers', CORRUPTING_DRIVERS.name] : [];
          const argv = ['check', '--seed', '7', '--runs', String(runs), ...drivers];
          const full = [...argv, ...opts.flat()];
          const dry = await run(full, fakeIo());
          expectNoCrash(dry, full);
          const written = [...dry.io.files.keys()];
          if (written.length === 0) return;
          const io = fakeIo();
          const lost = written[pick % written.length]!;
          io.failWrites.add(lost);
          const o = await run(full, io);
          expectNoCrash(o, full);
          expect(o.exit, `${lost}: ${o.err}`).toBe(2);
          // The reports that could be written say so; the one error is the last line.
          const lines = o.err.trimEnd().split('\n');
          expect(lines.filter((l) => !/^wrote (junit|markdown) report /.test(l))).toEqual([
            `blkif check: cannot write ${lost}: no space left on the device`,
          ]);
          expect(lines.at(-1)).toMatch(/^blkif check: cannot write/);
          // Everything the user would have read is there, before the error.
          const apart = (out: string) => out.split('\n').filter((l) => !l.includes(lost));
          expect(apart(o.out)).toEqual(apart(dry.out));
          expect(o.io.files.has(lost)).toBe(false);
          for (const [path, text] of o.io.files) expect(text).toBe(dry.io.files.get(path));
        },
      ),
      params(Math.max(6, Math.floor(RUNS / 5))),
    );
  });

  it('Ctrl-C after any number of runs: exit 130 with the summary so far, or the whole result', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.boolean(),
        fc.constantFrom('fixture-io', 'canary', 'fixture-io,canary'),
        async (polls, failing, property) => {
          const drivers = failing ? ['--drivers', CORRUPTING_DRIVERS.name] : [];
          const argv = ['check', '--seed', '7', '--runs', '20', '--property', property];
          const full = [...argv, ...drivers, '--out', 'out', '--summary-out', 's.json'];
          const io = fakeIo();
          io.interruptAfterPolls = polls;
          const o = await run(full, io);
          expectNoCrash(o, full);
          expect([0, 1, 130], o.err).toContain(o.exit);
          if (o.exit === 130)
            expect(o.out).toMatch(/\ninterrupted after \d+ runs: the summary so far\n/);
          const summary = JSON.parse(o.io.files.get('s.json')!) as { interrupted?: boolean };
          expect(summary.interrupted === true).toBe(o.exit === 130);
          for (const [path, text] of o.io.files)
            if (path.startsWith('out/')) expect(JSON.parse(text).version, path).toBe(1);
        },
      ),
      params(Math.max(8, Math.floor(RUNS / 2))),
    );
  });
});
