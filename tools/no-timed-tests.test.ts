import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Speed belongs to `npm run bench`, never to a test: an assertion about elapsed time passes on an
// idle machine and fails on a loaded one (a conformance test once asserted "under 200 ms"). A
// test may use a fake clock (cli/testing/fake-io.ts); it may not read the real one.
const ROOT = join(import.meta.dirname, '..');
const FOLDERS = ['model', 'impl', 'properties', 'traces', 'cli', 'bench', 'tools'];

/** Reading the real clock, or an expectation about a time in milliseconds or seconds. */
const TIMED: readonly RegExp[] = [
  /\bperformance\.now\s*\(/,
  /\bDate\.now\s*\(/,
  /\bprocess\.hrtime\b/,
  /\bnew Date\s*\(\s*\)/,
  /expect\([^)]*\b(elapsed|took|duration|millis|ms)\b[^)]*\)\.toBeLessThan/,
];

/** Lines of `text` that time something, as "line: text". */
function timedLines(text: string): string[] {
  return text
    .split('\n')
    .flatMap((line, i) => (TIMED.some((re) => re.test(line)) ? [`${i + 1}: ${line.trim()}`] : []));
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : testFiles(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('no timed assertions in tests', () => {
  it('no test reads the real clock or asserts on elapsed time', () => {
    const self = join(ROOT, 'tools', 'no-timed-tests.test.ts');
    const files = FOLDERS.flatMap((f) => testFiles(join(ROOT, f))).filter((f) => f !== self);
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.flatMap((file) =>
      timedLines(readFileSync(file, 'utf8')).map((l) => `${relative(ROOT, file)}:${l}`),
    );
    expect(offenders).toEqual([]);
  });

  it('teeth: the timing a test once did is found', () => {
    const sample = [
      'const t0 = performance.now();',
      'extract(trace);',
      'expect(performance.now() - t0).toBeLessThan(200);',
      'const elapsed = Date.now() - start;',
      'expect(elapsed).toBeLessThan(200);',
      'expect(outcome.runs).toBeLessThan(40);',
    ].join('\n');
    expect(timedLines(sample).map((l) => Number(l.split(':')[0]))).toEqual([1, 3, 4, 5]);
  });
});
