#!/usr/bin/env node
// The `blkif` command. It runs the compiled JavaScript in dist/ (built by `npm run build`, which
// `npm ci` and `npm pack` run): no TypeScript is transpiled at start-up. In a checkout whose
// sources are newer than that build (an edit, a pull), it runs the sources through tsx instead,
// so `npx blkif` never runs stale code; an installed package has no sources and never does.
import { builtIsCurrent, hasSources } from './build-state.mjs';

const ROOT = new URL('../', import.meta.url);

if (builtIsCurrent(ROOT)) {
  await import('../dist/cli/main.js');
} else if (hasSources(ROOT)) {
  // A checkout without its dependencies (no npm ci yet) cannot run the sources: say so in one line.
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (tsx === undefined) {
    process.stderr.write('blkif: dependencies are not installed here: run npm ci\n');
    process.exit(4);
  }
  tsx.register();
  await import('./main.ts');
} else {
  process.stderr.write('blkif: the package is not built (dist/ is missing): run npm run build\n');
  process.exitCode = 4;
}
