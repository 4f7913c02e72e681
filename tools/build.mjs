// `npm run build` (and prepare): tsc emits dist/ from the sources (tsconfig.build.json), then
// the stamp cli/build-state.mjs compares with the sources. Nothing to do when dist/ is current,
// so `npm pack` in a test never rewrites the dist/ other tests are running. A stale dist/ is
// removed first (no output of deleted sources survives); the stamp comes only after success.
import { execFileSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { builtIsCurrent } from '../cli/build-state.mjs';

const ROOT = new URL('../', import.meta.url);
const root = fileURLToPath(ROOT);
if (builtIsCurrent(ROOT) && !process.argv.includes('--force')) {
  process.stderr.write('build: dist/ is current (npm run build -- --force rebuilds)\n');
  process.exit(0);
}
// typescript's exports map hides bin/: find it from its package.json.
const tsc = createRequire(import.meta.url)
  .resolve('typescript/package.json')
  .replace(/package\.json$/, 'bin/tsc');
rmSync(`${root}dist`, { recursive: true, force: true });
const started = Date.now();
try {
  execFileSync(process.execPath, [tsc, '-p', `${root}tsconfig.build.json`], { stdio: 'inherit' });
} catch {
  process.stderr.write('build: tsc failed (see above); dist/ is incomplete\n');
  process.exit(1);
}
// The sources' times are compared with the build's start: an edit during the build is stale.
const stamp = `${root}dist/.built`;
writeFileSync(stamp, `${new Date(started).toISOString()}\n`);
utimesSync(stamp, started / 1000, started / 1000);
