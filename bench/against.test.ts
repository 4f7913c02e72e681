// bench/against.ts refuses what it cannot compare with one line and exit 2, before it makes a
// worktree (so nothing is left behind). The comparison itself is a bench, not a test.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;

function against(...args: string[]) {
  const worktrees = () =>
    spawnSync('git', ['worktree', 'list'], { cwd: ROOT, encoding: 'utf8' }).stdout;
  const before = worktrees();
  const run = spawnSync('node', ['--import', 'tsx', 'bench/against.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { ...run, worktreesUnchanged: worktrees() === before };
}

describe('bench/against.ts', () => {
  it.each([
    [[], 'usage: npx tsx bench/against.ts <commit> [--runs N] [--rounds K]'],
    [['no-such-commit'], 'no-such-commit is not a commit of this repository'],
    [['HEAD', '--runs', '0'], '--runs needs a whole number ≥ 1'],
    [
      ['HEAD', 'HEAD'],
      'unexpected HEAD; usage: npx tsx bench/against.ts <commit> [--runs N] [--rounds K]',
    ],
  ])('%j: one line, exit 2, no worktree made', (args, line) => {
    const run = against(...args);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`${line}\n`);
    expect(run.stdout).toBe('');
    expect(run.worktreesUnchanged).toBe(true);
  });
});
