import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKEND } from '../impl/world/config.ts';
import { traceJson } from '../properties/counterexample.ts';
import {
  CORRUPTING_DRIVERS,
  DEAF_DRIVERS,
  FIXTURE_PROPERTY,
  fixtureDrivers,
} from '../traces/testing/fixtures.ts';
import { CANARY } from '../properties/properties.ts';
import { checkProperty } from '../properties/catalog.ts';
import type { Registry } from './registry.ts';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';

const REGISTRY: Registry = {
  properties: [FIXTURE_PROPERTY],
  extraProperties: [CANARY],
  drivers: fixtureDrivers,
  driverNames: ['honest', CORRUPTING_DRIVERS.name, DEAF_DRIVERS.name],
};

const TRACE = checkProperty(FIXTURE_PROPERTY, { numRuns: 50, seed: 7, drivers: CORRUPTING_DRIVERS })
  .failure!.trace;
const GOOD = traceJson(TRACE);

function edited(edit: (t: Record<string, unknown>) => void): string {
  const copy = JSON.parse(GOOD) as Record<string, unknown>;
  edit(copy);
  return JSON.stringify(copy);
}

async function cli(argv: string[], io: FakeIo = fakeIo()): Promise<{ code: number; io: FakeIo }> {
  return { code: await runCli(argv, io, REGISTRY), io };
}

const FILES = {
  'good.json': GOOD,
  'malformed.json': '{"version": 1, "steps": [',
  'newer.json': edited((t) => {
    t.version = 2;
  }),
  'no-steps.json': edited((t) => {
    delete t.steps;
  }),
  'no-vcpus.json': edited((t) => {
    (t.config as Record<string, unknown>).vcpuCount = 0;
  }),
  'bad-queues.json': edited((t) => {
    (t.config as Record<string, unknown>).backend = { ...DEFAULT_BACKEND, queueCountMax: 0 };
  }),
  'bad-drivers.json': edited((t) => {
    t.drivers = 'no-such-variant';
  }),
  'not-enabled.json': edited((t) => {
    (t.steps as { action: unknown }[])[0]!.action = {
      actor: 'blkback',
      kind: 'consumeRequest',
      ring: 7,
    };
  }),
  'summary.json': '{"kind": "something-else"}',
  'coverage.json':
    '{"kind": "blkif-coverage", "version": 1, "machines": {"frontend": {"x": -1}, "backend": {}}}',
};

const BAD_INPUTS: [string, string[], RegExp][] = [
  ['check: unknown option', ['check', '--bogus'], /unknown option --bogus/],
  ['check: unknown option with value', ['check', '--runz=3'], /unknown option --runz/],
  ['check: runs not a number', ['check', '--runs', 'many'], /--runs: expected a number/],
  ['check: runs 0', ['check', '--runs', '0'], /--runs: must be an integer in 1\.\./],
  ['check: runs missing value', ['check', '--runs'], /--runs: missing number value/],
  ['check: seed not an integer', ['check', '--seed', '1.5'], /--seed: must be an integer/],
  ['check: bad shard', ['check', '--shard', '3/2'], /--shard: the shard index must be in 1\.\.2/],
  ['check: shard syntax', ['check', '--shard', 'half'], /--shard: expected i\/n/],
  ['check: shard 0 count', ['check', '--shard', '1/0'], /--shard: the shard count/],
  [
    'check: unknown property',
    ['check', '--property', 'fixture-io,nope'],
    /unknown property "nope"/,
  ],
  ['check: unknown drivers', ['check', '--drivers', 'nope'], /unknown driver variant "nope"/],
  [
    'check: path with two properties',
    ['check', '--property', 'fixture-io,canary', '--path', '0:1'],
    /exactly one --property/,
  ],
  [
    'check: bad path',
    ['check', '--property', 'fixture-io', '--path', 'x'],
    /--path: expected fast-check's path/,
  ],
  ['check: given twice', ['check', '--seed', '1', '--seed', '2'], /--seed: given twice/],
  ['check: positional', ['check', 'extra'], /unexpected argument "extra"/],
  ['check: zero steps', ['check', '--steps-max', '0'], /--steps-max: must be an integer in 1\.\./],
  ['check --merge: missing file', ['check', '--merge', 'gone.json'], /gone\.json: no such file/],
  [
    'check --merge: not a summary',
    ['check', '--merge', 'summary.json'],
    /not a blkif check summary/,
  ],
  ['check --merge: malformed', ['check', '--merge', 'malformed.json'], /malformed\.json: not JSON/],
  ['check --merge: nothing', ['check', '--merge'], /--merge needs the summary files/],
  ['replay: missing argument', ['replay'], /missing <trace\.json> argument/],
  ['replay: missing file', ['replay', 'gone.json'], /gone\.json: no such file/],
  ['replay: malformed JSON', ['replay', 'malformed.json'], /invalid trace: not JSON/],
  ['replay: newer version', ['replay', 'newer.json'], /version 2 is newer than this blkif/],
  ['replay: missing field', ['replay', 'no-steps.json'], /steps: expected an array, got nothing/],
  [
    'replay: impossible configuration',
    ['replay', 'no-vcpus.json'],
    /config\.vcpuCount: must be an integer in 1\.\.64, got 0/,
  ],
  ['replay: impossible backend', ['replay', 'bad-queues.json'], /config\.backend\.queueCountMax/],
  [
    'replay: unknown drivers',
    ['replay', 'bad-drivers.json'],
    /unknown driver variant "no-such-variant"/,
  ],
  [
    'replay: action not enabled',
    ['replay', 'not-enabled.json'],
    /step 1: recorded action "blkback ring 7: consume one request" is not enabled/,
  ],
  ['replay: unknown option', ['replay', 'good.json', '--fast'], /unknown option --fast/],
  ['replay: two files', ['replay', 'good.json', 'good.json'], /unexpected argument/],
  ['render: bad format', ['render', 'good.json', '--format', 'pdf'], /unknown format "pdf"/],
  [
    'render: format without value',
    ['render', 'good.json', '--format'],
    /--format: missing string value/,
  ],
  ['render: missing file', ['render', 'gone.json', '--format', 'html'], /no such file/],
  ['render: malformed', ['render', 'malformed.json'], /invalid trace: not JSON/],
  ['render: newer', ['render', 'newer.json', '--format', 'mermaid'], /newer than this blkif/],
  ['render: impossible configuration', ['render', 'no-vcpus.json'], /config\.vcpuCount/],
  [
    'diagrams: missing coverage file',
    ['diagrams', '--coverage', 'gone.json'],
    /gone\.json: no such file/,
  ],
  [
    'diagrams: bad coverage',
    ['diagrams', '--coverage', 'coverage.json'],
    /must map edge keys to counts/,
  ],
  ['diagrams: not coverage', ['diagrams', '--coverage', 'good.json'], /not a coverage file/],
  ['diagrams: positional', ['diagrams', 'x'], /unexpected argument "x"/],
  ['diagrams: unknown option', ['diagrams', '--color'], /unknown option --color/],
  ['conform: unknown option', ['conform', 'x.log', '--devices', '1'], /unknown option --devices/],
  ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
];

describe('bad input: one line on stderr, exit 2', () => {
  it.each(BAD_INPUTS)('%s', async (_, argv, message) => {
    const { code, io } = await cli(argv, fakeIo(FILES));
    const err = io.stderrText();
    expect(err).toMatch(message);
    expect(err.endsWith('\n')).toBe(true);
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    expect(io.stdoutText()).toBe('');
    expect(code).toBe(2);
  });

  it('no command prints the help on stderr and exits 2', async () => {
    const { code, io } = await cli([]);
    expect(code).toBe(2);
    expect(io.stderrText()).toMatch(/^usage: blkif <command>/);
  });
});

describe('help', () => {
  it('--help globally and on every command exits 0 with usage', async () => {
    expect((await cli(['--help'])).io.stdoutText()).toMatch(/commands:\n {2}check/);
    for (const name of ['check', 'replay', 'render', 'diagrams', 'conform']) {
      const { code, io } = await cli([name, '--help']);
      expect(code).toBe(0);
      expect(io.stdoutText()).toMatch(new RegExp(`^usage: blkif ${name} `));
      expect(io.stdoutText()).toContain('--help');
    }
  });
});

describe('internal errors', () => {
  it('a bug is reported with its stack and exit 4', async () => {
    const broken: Registry = {
      ...REGISTRY,
      drivers: () => {
        throw new TypeError('boom');
      },
    };
    const io = fakeIo(FILES);
    expect(await runCli(['replay', 'good.json'], io, broken)).toBe(4);
    expect(io.stderrText()).toMatch(/^blkif replay: internal error .*\nTypeError: boom\n {4}at /);
  });
});
