// `npm run build`: tsc emits dist/ from the sources (tsconfig.build.json), then the stamp whose
// time cli/bin.mjs compares with the sources' to know whether dist/ is current. The stamp is
// written only after a successful build, and stale output of deleted sources is removed first.
import { execFileSync } from 'node:child_process';
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
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
