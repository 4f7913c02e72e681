// Start-up: `blkif --help` must not load the model. What it loads is fixed by the static imports
// of cli/main.ts and what they import; the commands and the registry come in through import()
// when a command runs. This walks that graph and fails when a static import drags in model/,
// impl/, properties/ or traces/ (the time itself is the bench's to measure, not a test's).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from './command.ts';
import { COMMANDS } from './run-cli.ts';
import { DEFAULT_REGISTRY } from './registry.ts';

const ROOT = resolve(import.meta.dirname, '..');
// `import x from './y.ts'` and `export … from`, not `import type` (erased) nor `import('…')`.
const STATIC_IMPORT =
  /^(?:import|export)\s+(?!type\s)[^'";]*?from\s+'(\.[^']+)'|^import\s+'(\.[^']+)'/gm;

function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [resolve(ROOT, entry)];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT))
      todo.push(resolve(dirname(file), (m[1] ?? m[2])!));
  }
  return new Set([...seen].map((f) => relative(ROOT, f)));
}

describe('start-up', () => {
  it('the entry point statically loads only cli/ modules, none of the model', () => {
    const loaded = [...staticGraph('cli/main.ts')];
    expect(loaded).toContain('cli/run-cli.ts');
    expect(loaded.filter((f) => !f.startsWith('cli/'))).toEqual([]);
  });

  it('the graph walk sees through to the model (its teeth)', () => {
    const loaded = staticGraph('cli/commands/check.ts');
    expect([...loaded].some((f) => f.startsWith('impl/'))).toBe(true);
  });

  it("the command table's summaries are the loaded commands' own", async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load(DEFAULT_REGISTRY);
      expect(command.name).toBe(entry.name);
      expect(command.summary).toBe(entry.summary);
    }
  });

  it('the bin prints the help from a checkout (compiled when current, else the sources)', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'cli/bin.mjs'), '--help'], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/^usage: blkif <command>/);
    expect(out).toContain(`exit codes: ${EXIT.pass} pass`);
  });
});
