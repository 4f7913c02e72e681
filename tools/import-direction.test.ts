import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

// Arrows point one way: cli -> traces -> properties -> impl -> model. A layer may import itself
// and any layer to its right, never one to its left. bench/ and tools/ sit outside the chain.
const LAYERS = ['cli', 'traces', 'properties', 'impl', 'model'] as const;
const root = resolve(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function layerOf(path: string): number {
  const top = relative(root, path).split(sep)[0] ?? '';
  return LAYERS.indexOf(top as (typeof LAYERS)[number]);
}

const importRe =
  /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]/g;

function backwardImportsOf(file: string, text: string): string[] {
  const problems: string[] = [];
  const from = layerOf(file);
  for (const match of text.matchAll(importRe)) {
    const spec = match[1] ?? match[2] ?? '';
    const to = layerOf(resolve(file, '..', spec));
    if (from >= 0 && to >= 0 && to < from) {
      problems.push(`${relative(root, file)} imports ${spec} (${LAYERS[from]} -> ${LAYERS[to]})`);
    }
  }
  return problems;
}

describe('import direction cli -> traces -> properties -> impl -> model', () => {
  it('no file imports a layer to its left', () => {
    const files = LAYERS.flatMap((layer) => {
      try {
        return sourceFiles(join(root, layer));
      } catch {
        return [];
      }
    });
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((f) => backwardImportsOf(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  it('catches a backward arrow (teeth)', () => {
    const file = join(root, 'impl', 'xen', 'fake.ts');
    const text =
      "import { x } from '../../properties/run.ts';\nimport { y } from '../../model/negotiate.ts';";
    expect(backwardImportsOf(file, text)).toEqual([
      'impl/xen/fake.ts imports ../../properties/run.ts (impl -> properties)',
    ]);
  });
});
