// docs/your-driver.md as a script: its files are written, its commands run in order in an empty
// folder (`npx blkif` is this checkout's cli/bin.mjs, the rest is the shell), and each command's
// output — stderr's lines (progress lines aside) then stdout — must be what the page quotes, with
// the exit code its marker says. Only the summary table's time column may differ: times are
// compared as a placeholder and the table's spacing is not compared.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlocks } from './docs-output.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DOC = 'docs/your-driver.md';
const BIN = join(ROOT, 'cli/bin.mjs');

interface FileStep {
  readonly kind: 'file' | 'append';
  readonly name: string;
  readonly text: string;
}
interface RunStep {
  readonly kind: 'run';
  readonly exit: number;
  readonly command: string;
  readonly output: string;
}
type DocStep = FileStep | RunStep;

/** `<!-- your-driver: file|append <name> -->` or `<!-- your-driver: run exit=N -->`, then a fence. */
function docSteps(text: string): DocStep[] {
  const re = /<!-- your-driver: (file|append|run) (\S+) -->\n```\w*\n([\s\S]*?)```/g;
  return [...text.matchAll(re)].map((m): DocStep => {
    const [, kind, arg, body] = m as unknown as [string, string, string, string];
    if (kind !== 'run') return { kind: kind as 'file' | 'append', name: arg, text: body };
    const [first, ...rest] = body.split('\n');
    expect(first!.startsWith('$ '), `a run block starts with "$ ": ${first}`).toBe(true);
    return {
      kind: 'run',
      exit: Number(arg.replace(/^exit=/, '')),
      command: first!.slice(2),
      output: rest.join('\n'),
    };
  });
}

/** Times and the spacing that depends on their width set aside. */
function comparable(output: string): string {
  return output
    .replace(/\b\d+(?:\.\d+)?(?:ms|s)\b/g, 'T')
    .replace(/ {2,}/g, ' ')
    .replace(/ +$/gm, '');
}

const PROGRESS = /\d[\d,]*\/[\d,]+ runs|states\/s$/;

const DIR = mkdtempSync(join(tmpdir(), 'blkif-your-driver-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

describe(DOC, () => {
  const steps = docSteps(readFileSync(join(ROOT, DOC), 'utf8'));

  it('has files to write and commands to run', () => {
    expect(steps.filter((s) => s.kind === 'file').length).toBeGreaterThanOrEqual(2);
    expect(steps.filter((s) => s.kind === 'run').length).toBeGreaterThanOrEqual(5);
  });

  it('runs every block the docs drift check leaves to it (tools/docs-output.ts)', () => {
    const scripted = codeBlocks(readFileSync(join(ROOT, DOC), 'utf8')).flatMap((b) =>
      b.script === undefined ? [] : [b.script.split(' ')[0]],
    );
    expect(steps.map((s) => s.kind)).toEqual(scripted);
  });

  it('works as written: every command prints what the page quotes', () => {
    for (const step of steps) {
      if (step.kind === 'run') runStep(step);
      else if (step.kind === 'file') writeFileSync(join(DIR, step.name), step.text);
      else appendFileSync(join(DIR, step.name), step.text);
    }
  }, 600_000);

  it('is linked from the README', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('(docs/your-driver.md)');
  });
});

function runStep(step: RunStep): void {
  const command = step.command.replaceAll('npx blkif', `node ${BIN}`);
  const run = spawnSync('sh', ['-c', command], {
    cwd: DIR,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 240_000,
  });
  const err = run.stderr
    .split('\n')
    .filter((line) => line !== '' && !PROGRESS.test(line))
    .map((line) => `${line}\n`)
    .join('');
  const output = err + run.stdout;
  expect(comparable(output), `$ ${step.command}`).toBe(comparable(step.output));
  expect(run.status, `$ ${step.command}\n${output}`).toBe(step.exit);
}
