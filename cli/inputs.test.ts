// Issue 19 (5)-(7): every field a world reads is validated and the first bad one named by its
// JSON path (exit 2, never a "violation" of a malformed run, never a crash); render refuses what
// replay refuses; input files are stat-ed first; a BOM is fine; binary data is named, not quoted;
// control characters and markup from a trace never reach a terminal or a viewer as such.
import { describe, expect, it } from 'vitest';
import { checkProperty } from '../properties/catalog.ts';
import { traceJson } from '../properties/counterexample.ts';
import { renderMermaid } from '../traces/render/mermaid-sequence.ts';
import { renderShiviz } from '../traces/render/shiviz.ts';
import { renderText } from '../traces/render/text.ts';
import { parseTrace, type Trace } from '../traces/schema.ts';
import { CORRUPTING_DRIVERS, FIXTURE_PROPERTY } from '../traces/testing/fixtures.ts';
import type { CliIo } from './command.ts';
import { nodeIo } from './node-io.ts';
import { runCli } from './run-cli.ts';
import { fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';

const TRACE = checkProperty(FIXTURE_PROPERTY, { numRuns: 50, seed: 7, drivers: CORRUPTING_DRIVERS })
  .failure!.trace;
const GOOD = traceJson(TRACE);

type Json = Record<string, unknown>;
function edited(edit: (t: Json & { config: Json & { workload: Json[]; faults: Json } }) => void) {
  const copy = JSON.parse(GOOD);
  edit(copy);
  return JSON.stringify(copy);
}

const MALFORMED: [string, string, RegExp][] = [
  [
    'a negative sector',
    edited((t) => {
      t.config.workload[0]!.sector = -8;
    }),
    /config\.workload\[0\]\.sector: must be an integer from 0 .*, got -8$/,
  ],
  [
    'a fractional sector',
    edited((t) => {
      t.config.workload[1]!.sector = 2.5;
    }),
    /config\.workload\[1\]\.sector: must be an integer from 0 .*, got 2\.5$/,
  ],
  [
    'an unknown op',
    edited((t) => {
      t.config.workload[0]!.op = 'trim';
    }),
    /config\.workload\[0\]\.op: must be one of read, write, flush, discard, got "trim"$/,
  ],
  [
    'negative transaction conflicts',
    edited((t) => {
      t.config.faults.transactionConflicts = -1;
    }),
    /config\.faults\.transactionConflicts: must be an integer from 0/,
  ],
  [
    'non-numeric transaction conflicts',
    edited((t) => {
      t.config.faults.transactionConflicts = '3';
    }),
    /config\.faults\.transactionConflicts: must be an integer from 0 .*, got "3"$/,
  ],
  [
    'a non-boolean unplug',
    edited((t) => {
      t.config.faults.unplug = 'yes';
    }),
    /config\.faults\.unplug: expected a boolean, got "yes"$/,
  ],
  [
    'a hostile plan without attacks',
    edited((t) => {
      t.config.hostile = { side: 'blkback', budget: 3 };
    }),
    /config\.hostile\.attacks: expected an array, got nothing$/,
  ],
  [
    'an unknown attack',
    edited((t) => {
      t.config.hostile = {
        side: 'blkback',
        budget: 3,
        attacks: [{ attack: 'x', ring: 0, value: 1 }],
      };
    }),
    /config\.hostile\.attacks\[0\]: "x" is not an attack of a hostile blkback$/,
  ],
  [
    'an unknown property name',
    edited((t) => {
      t.property = 'no-such-property';
    }),
    /property: unknown property "no-such-property" \(properties: fixture-io, canary\)$/,
  ],
  [
    'an unknown violation code',
    edited((t) => {
      (t.violation as Json).code = 'made-up';
    }),
    /violation\.code: expected a violation code \(no-lost-request, .*\), got "made-up"$/,
  ],
  [
    'a fractional violation step',
    edited((t) => {
      (t.violation as Json).step = 1.5;
    }),
    /violation\.step: must be a step number/,
  ],
  [
    'a path that is no fast-check path',
    edited((t) => {
      t.path = 'rm -rf';
    }),
    /path: expected fast-check's path like 12:0:3, got "rm -rf"$/,
  ],
  [
    'an action that is not enabled',
    edited((t) => {
      (t.steps as Json[])[0]!.action = { actor: 'blkback', kind: 'consumeRequest', ring: 7 };
    }),
    /the trace does not replay on this model: step 1: recorded action .* is not enabled/,
  ],
  [
    'an action kind no actor has',
    edited((t) => {
      (t.steps as Json[])[3]!.action = { actor: 'guest', kind: '', vcpu: 1 };
    }),
    /steps\[3\]\.action\.kind: "" is no action kind of guest \(kinds: submit/,
  ],
  [
    'an actor the world does not have',
    edited((t) => {
      (t.steps as Json[])[0]!.action = { actor: 'qemu', kind: 'probe' };
    }),
    /steps\[0\]\.action\.actor: unknown actor "qemu" \(actors: xenstored, /,
  ],
  [
    'binary data',
    '\u0000\u0001\u00ff\u001b[2J garbage',
    /^blkif \w+: t\.json: not a trace: binary data$/,
  ],
];

describe('malformed traces: replay and render refuse them alike, by JSON path', () => {
  for (const command of ['replay', 'render']) {
    it.each(MALFORMED)(`${command}: %s`, async (_, text, message) => {
      const io = fakeIo({ 't.json': text });
      expect(await runCli([command, 't.json'], io, TEST_REGISTRY)).toBe(2);
      const err = io.stderrText();
      expect(err.trimEnd()).toMatch(message);
      expect(err.trimEnd().split('\n')).toHaveLength(1);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
      expect(err).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      expect(io.stdoutText()).toBe('');
    });
  }

  it('a UTF-8 byte order mark is accepted', async () => {
    const io = fakeIo({ 't.json': `\uFEFF${GOOD}` });
    expect(await runCli(['replay', 't.json'], io, TEST_REGISTRY)).toBe(1);
    expect(io.stdoutText()).toMatch(/^reproduced: data-integrity/);
    expect(parseTrace(`\uFEFF${GOOD}`).violation?.code).toBe('data-integrity');
  });

  it('an input larger than the limit is refused by its size, before it is read', async () => {
    const io = fakeIo({ 't.json': GOOD });
    io.sizes.set('t.json', 4 * 1024 ** 3);
    expect(await runCli(['replay', 't.json'], io, TEST_REGISTRY)).toBe(2);
    expect(io.stderrText()).toBe(
      'blkif replay: t.json: 4294967296 bytes, more than the 256 MiB limit of an input file\n',
    );
  });
});

function capturing(): CliIo & { err: string[]; out: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ...nodeIo, stdout: (t) => out.push(t), stderr: (t) => err.push(t), out, err };
}

describe('special files (the real file system)', () => {
  it.each([
    ['/dev/zero', 'replay'],
    ['/dev/null', 'render'],
  ])('%s (%s) is refused at once, without reading it', async (file, command) => {
    const io = capturing();
    expect(await runCli([command, file], io, TEST_REGISTRY)).toBe(2);
    expect(io.err.join('')).toMatch(/: is a device, pipe or socket, not a file\n$/);
  });
});

describe('no control character or markup from a trace reaches the output as such', () => {
  const hostile: Trace = {
    ...TRACE,
    drivers: 'evil\u001b]0;pwned\u0007\u001b[2J\u202e',
    violation: { ...TRACE.violation!, message: '<script>alert(1)</script>\u001b[31m' },
  };

  it('text and ShiViz: escape sequences and bidi overrides are shown as \\u escapes', () => {
    for (const out of [renderText(hostile), renderShiviz(hostile)]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
      expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202a-\u202e]/);
    }
    expect(renderText(hostile)).toContain('evil\\u001b]0;pwned\\u0007\\u001b[2J\\u202e');
  });

  it('Mermaid: a note carries no markup', () => {
    const out = renderMermaid(hostile);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    expect(out).not.toMatch(/<script|<\/script|[\u001b]/);
    expect(out).toContain('#lt;script#gt;alert(1)#lt;/script#gt;');
  });

  it('an error line quoting a file name shows its escape sequence escaped', async () => {
    const io = fakeIo();
    expect(await runCli(['replay', '\u001b[2Jx.json'], io, TEST_REGISTRY)).toBe(2);
    expect(io.stderrText()).toBe('blkif replay: \\u001b[2Jx.json: no such file\n');
  });
});
