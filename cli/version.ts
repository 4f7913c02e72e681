// The blkif-model version, from the package.json nearest above this file (the checkout's, or the
// installed package's): printed by `blkif --version` and recorded in every check summary, so
// shards run by different versions are never merged as one campaign.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LEVELS_MAX = 4;

function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < LEVELS_MAX; level++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'blkif-model' && typeof pkg.version === 'string') return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const BLKIF_VERSION: string = readVersion();
