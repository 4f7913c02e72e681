#!/usr/bin/env node
// The `blkif` command. It runs the compiled JavaScript in dist/ (built by `npm run build`, which
// `npm ci` and `npm pack` run): no TypeScript is transpiled at start-up. In a checkout whose
// sources are newer than that build (an edit, a pull), it runs the sources through tsx instead,
// so `npx blkif` never runs stale code; an installed package has no sources and never does.
import { existsSync, readdirSync, statSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
const STAMP = new URL('dist/.built', ROOT);
const SOURCE_DIRS = ['model', 'impl', 'properties', 'traces', 'cli'];

/** The newest modification time of a .ts file under dir (0 when there is none). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtIsCurrent() {
  if (!existsSync(STAMP)) return false;
  if (!existsSync(new URL('cli/main.ts', ROOT))) return true;
  const built = statSync(STAMP).mtimeMs;
  const root = new URL('.', ROOT).pathname;
  return SOURCE_DIRS.every((dir) => newestSource(`${root}${dir}`) <= built);
}

if (builtIsCurrent()) {
  await import('../dist/cli/main.js');
} else if (existsSync(new URL('cli/main.ts', ROOT))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
} else {
  process.stderr.write('blkif: the package is not built (dist/ is missing): run npm run build\n');
  process.exitCode = 4;
}
