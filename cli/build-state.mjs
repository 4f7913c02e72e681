// Whether dist/ is the build of the sources beside it: its stamp (written by tools/build.mjs at
// the end of a successful build, dated at its start) is at least as new as every source the
// build reads. An installed package has dist/ and no sources: always current. Shared by
// cli/bin.mjs (run dist/ or the sources?) and tools/build.mjs (build, or nothing to do?).
import { existsSync, readdirSync, statSync } from 'node:fs';

const SOURCE_DIRS = ['model', 'impl', 'properties', 'traces', 'cli'];
const SOURCE_FILES = ['index.ts', 'tsconfig.json', 'tsconfig.build.json'];

/** The newest modification time of a built .ts file under dir (0 when there is none). */
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

/** root: the package folder, as a file: URL ending in a slash. */
export function hasSources(root) {
  return existsSync(new URL('cli/main.ts', root));
}

export function builtIsCurrent(root) {
  const stamp = new URL('dist/.built', root);
  if (!existsSync(stamp)) return false;
  if (!hasSources(root)) return true;
  const built = statSync(stamp).mtimeMs;
  const folder = new URL('.', root).pathname;
  return (
    SOURCE_DIRS.every((dir) => newestSource(`${folder}${dir}`) <= built) &&
    SOURCE_FILES.every((file) => statSync(`${folder}${file}`).mtimeMs <= built)
  );
}
