// A checkout run before `npm ci` has sources but neither dist/ nor tsx: `blkif` must say what to do
// in one line, not print the module loader's stack trace.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('blkif in a checkout without its dependencies', () => {
  it('says to run npm ci, in one line, without a stack trace', () => {
    const root = mkdtempSync(join(tmpdir(), 'blkif-nodeps-'));
    try {
      mkdirSync(join(root, 'cli'));
      for (const file of ['bin.mjs', 'build-state.mjs']) {
        copyFileSync(new URL(file, import.meta.url), join(root, 'cli', file));
      }
      writeFileSync(join(root, 'cli', 'main.ts'), 'export {};\n');
      const run = spawnSync(process.execPath, [join(root, 'cli', 'bin.mjs'), '--help'], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('blkif: dependencies are not installed here: run npm ci\n');
      expect(run.stdout).toBe('');
      expect(run.status).toBe(4);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
