// --drivers <file>: a user's variant loaded from a .ts/.js file, its one-line errors, the trace's
// record of it (name, path, content hash), and replay's warning and refusal.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashDriversFile } from './drivers-file.ts';
import { runCli } from './run-cli.ts';
import { type FakeIo, fakeIo } from './testing/fake-io.ts';
import { TEST_REGISTRY } from './testing/registry.ts';

const DIR = mkdtempSync(join(tmpdir(), 'blkif-drivers-file-test-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(DIR, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

async function cli(argv: string[], io: FakeIo = fakeIo()): Promise<{ code: number; io: FakeIo }> {
  return { code: await runCli(argv, io, TEST_REGISTRY), io };
}

const DEAF = `import { variantOf } from 'blkif-model';
// blkif_interrupt ignores every event: requests are never completed.
export default variantOf('user-deaf', { blkfront: { processResponses: () => 'ignored' } });
`;

describe('--drivers <file>: bad input is one line and exit 2', () => {
  const cases: [string, string | undefined, RegExp][] = [
    ['missing.js', undefined, /missing\.js: no such file$/],
    ['syntax.js', 'export default {{;\n', /syntax\.js:1:17: Expected/],
    [
      'nothing.js',
      'export const answer = 42;\n',
      /exports no driver variant: export default variantOf/,
    ],
    [
      'two.js',
      "import { HONEST_DRIVERS } from 'blkif-model';\nexport const a = HONEST_DRIVERS, b = HONEST_DRIVERS;\n",
      /exports a, b and no default/,
    ],
    [
      'shape.js',
      "export default { name: 'half', blkfront: {}, blkback: {} };\n",
      /export default is not a driver variant \(blkfront\.queueRequest is not a function\)/,
    ],
    ['throws.js', "throw new Error('no disk here');\n", /loading it threw: no disk here$/],
    [
      'honest.js',
      "import { variantOf } from 'blkif-model';\nexport default variantOf('honest', {});\n",
      /named "honest", a name blkif already uses/,
    ],
    [
      'typed.ts',
      "import { variantOf } from 'blkif-model';\nexport default variantOf('typed', { blkfront: { finalCheck: () => 3 } });\n",
      /type error: typed\.ts\(2,\d+\): error TS2322: Type '\(\) => number' is not assignable/,
    ],
  ];
  it.each(cases)('%s', async (name, text, message) => {
    const path = text === undefined ? join(DIR, name) : file(name, text);
    const { code, io } = await cli(['check', '--drivers', path, '--runs', '1']);
    expect(code).toBe(2);
    const lines = io.stderrText().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^blkif check: --drivers /);
    expect(lines[0]).toMatch(message);
    expect(io.stdoutText()).toBe('');
  });
});

describe('--drivers <file>: check and replay', () => {
  it('a broken variant from a file is caught; its trace names the file and its hash', async () => {
    const path = file('deaf.ts', DEAF);
    const { code, io } = await cli(['check', '--drivers', path, '--seed', '3', '--out', 'fails']);
    expect(code).toBe(3);
    expect(io.stdoutText()).toContain(`drivers user-deaf (${path})`);
    expect(io.stdoutText()).toContain(`--drivers ${path}`);
    const [traceName, traceText] = [...io.files].find(([f]) => f.startsWith('fails/'))!;
    expect(traceName).toMatch(/^fails\/[a-z-]+-user-deaf-3\.json$/);
    const trace = JSON.parse(traceText) as { drivers: string; driversFile: unknown };
    expect(trace.drivers).toBe('user-deaf');
    expect(trace.driversFile).toEqual({ path, sha256: hashDriversFile(path, [path]) });
  });

  it('a benign variant from a file passes', async () => {
    const path = file(
      'same.js',
      "import { variantOf } from 'blkif-model';\nexport default variantOf('user-same', {});\n",
    );
    const { code, io } = await cli(['check', '--drivers', path, '--seed', '3']);
    expect(code).toBe(0);
    expect(io.stdoutText()).toMatch(/fixture-io +20 .* pass/);
  });

  it('replay reloads the file, warns when it changed, refuses when it is gone', async () => {
    const path = file('replayed/deaf.ts', DEAF);
    const made = await cli(['check', '--drivers', path, '--seed', '3', '--out', 'fails']);
    const io = fakeIo(Object.fromEntries(made.io.files));
    const trace = [...made.io.files.keys()].find((f) => f.startsWith('fails/'))!;
    const again = await cli(['replay', trace], io);
    expect(again.code).toBe(3);
    expect(io.stdoutText()).toMatch(/^reproduced: /);
    expect(io.stderrText()).toBe('');

    writeFileSync(path, `${DEAF}// a comment changes the hash\n`);
    const changed = await cli(['replay', trace], fakeIo(Object.fromEntries(made.io.files)));
    expect(changed.code).toBe(3);
    expect(changed.io.stderrText()).toMatch(
      /^warning: .*deaf\.ts changed since the trace was recorded/,
    );

    rmSync(path);
    const gone = await cli(['replay', trace], fakeIo(Object.fromEntries(made.io.files)));
    expect(gone.code).toBe(2);
    expect(gone.io.stderrText()).toMatch(
      /^blkif replay: the trace's variant "user-deaf" was loaded from .*deaf\.ts, which is missing: give its file with --drivers <file>\n$/,
    );
    const moved = file('elsewhere/deaf.ts', DEAF);
    const found = await cli(
      ['replay', trace, '--drivers', moved],
      fakeIo(Object.fromEntries(made.io.files)),
    );
    expect(found.code).toBe(3);
    expect(found.io.stderrText()).toBe('');
  });
});
