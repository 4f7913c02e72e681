// The package as a user gets it: `npm pack` the project, install the tarball into an empty
// folder with npm (dependencies from the local npm cache, the registry only for what it lacks),
// write driver variants there against the public API, type-check them against the installed
// declarations, and run the installed `blkif` on them. No tsx, no sources: only what the
// tarball and its declared dependencies provide.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const USER = mkdtempSync(join(tmpdir(), 'blkif-pack-install-'));
const NPM = { cwd: USER, encoding: 'utf8', stdio: 'pipe' } as const;

// Known-bad: blkif_interrupt returns without RING_FINAL_CHECK_FOR_RESPONSES (lost-wakeup, exit 3).
const BAD = `import { variantOf } from 'blkif-model';

export default variantOf('user-skips-final-check', {
  blkfront: { finalCheck: () => false },
});
`;
// Benign: the honest routine called through a wrapper, typed by the package's declarations.
const GOOD = `import { type Drivers, HONEST_DRIVERS, variantOf } from 'blkif-model';

const honestFinalCheck = HONEST_DRIVERS.blkfront.finalCheck;
const variant: Drivers = variantOf('user-wrapped-final-check', {
  blkfront: { finalCheck: (dev, rinfo, env) => honestFinalCheck(dev, rinfo, env) },
});
export default variant;
`;

function blkif(...args: string[]) {
  return spawnSync('npx', ['--no-install', 'blkif', ...args], { ...NPM, timeout: 120_000 });
}

beforeAll(() => {
  // prepare (tools/build.mjs) runs first and rebuilds dist/ only if the sources are newer.
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', USER], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: 'pipe',
  });
  const tarball = packed.trim().split('\n').pop()!;
  writeFileSync(
    join(USER, 'package.json'),
    '{ "name": "my-driver", "private": true, "type": "module" }\n',
  );
  execFileSync(
    'npm',
    ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    NPM,
  );
  writeFileSync(join(USER, 'bad.ts'), BAD);
  writeFileSync(join(USER, 'good.ts'), GOOD);
  for (const [name, text] of docVariants()) writeFileSync(join(USER, name), text);
}, 240_000);

/** docs/your-driver.md's variant files: they must type-check against the installed package too. */
function docVariants(): [string, string][] {
  const doc = readFileSync(join(ROOT, 'docs/your-driver.md'), 'utf8');
  const re = /<!-- your-driver: file (\S+) -->\n```ts\n([\s\S]*?)```/g;
  return [...doc.matchAll(re)].map((m) => [`doc-${m[1]!}`, m[2]!]);
}

afterAll(() => rmSync(USER, { recursive: true, force: true }));

describe('pack, install, check a variant', () => {
  it('installs without tsx or the sources', () => {
    const installed = join(USER, 'node_modules/blkif-model');
    expect(existsSync(join(installed, 'dist/index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist/index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'cli/main.ts'))).toBe(false);
    expect(existsSync(join(USER, 'node_modules/tsx'))).toBe(false);
    const help = blkif('--help');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^usage: blkif <command>/);
  });

  it('the variants (and those of docs/your-driver.md) type-check against the installed declarations', () => {
    expect(docVariants().length).toBeGreaterThanOrEqual(2);
    const pkg = createRequire(import.meta.url).resolve('typescript/package.json');
    const tsc = join(pkg, '..', 'bin/tsc');
    writeFileSync(
      join(USER, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'preserve',
          moduleResolution: 'bundler',
          allowImportingTsExtensions: true,
          target: 'es2022',
          lib: ['es2023'],
          types: [],
        },
        files: ['bad.ts', 'good.ts', ...docVariants().map(([name]) => name)],
      }),
    );
    const out = spawnSync(process.execPath, [tsc, '-p', '.'], NPM);
    expect(out.status, out.stdout).toBe(0);
  });

  it('the installed declarations use no `any`: a variant is typed all the way down', () => {
    const dist = join(USER, 'node_modules/blkif-model/dist');
    const declarations = readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.d.ts'),
    );
    expect(declarations).toContain('index.d.ts');
    const uses = declarations.filter((file) => {
      const code = readFileSync(join(dist, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '')
        .replace(/'[^'\n]*'|"[^"\n]*"|`[^`]*`/g, "''");
      return /\bany\b/.test(code);
    });
    expect(uses).toEqual([]);
  });

  it('a known-bad variant fails with its violation and exit code; its trace names the file', () => {
    const run = blkif(
      'check',
      '--drivers',
      './bad.ts',
      '--property',
      'lost-wakeup',
      '--seed',
      '42',
      '--out',
      'fails',
    );
    expect(run.status, run.stderr).toBe(3);
    expect(run.stdout).toContain('drivers user-skips-final-check (./bad.ts)');
    // No TypeScript in this folder: said once, not fatal (the test above type-checks instead).
    expect(run.stderr).toMatch(/^note: \.\/bad\.ts was not type-checked: no TypeScript compiler/);
    expect(run.stdout).toMatch(
      /FAIL lost-wakeup\n {2}lost-wakeup at step \d+: ring \d+ — frontend ring idles/,
    );
    const trace = JSON.parse(
      readFileSync(join(USER, 'fails/lost-wakeup-user-skips-final-check-42.json'), 'utf8'),
    );
    expect(trace.driversFile.path).toBe('./bad.ts');
    const replay = blkif('replay', 'fails/lost-wakeup-user-skips-final-check-42.json');
    expect(replay.status, replay.stderr).toBe(3);
    expect(replay.stdout).toMatch(/^reproduced: lost-wakeup at step /);
  });

  it('ships the capture scenarios: blkif capture finds one by name and dry-runs it', () => {
    const installed = join(USER, 'node_modules/blkif-model');
    expect(existsSync(join(installed, 'capture/scenarios/ring-order-4.json'))).toBe(true);
    const run = blkif('capture', 'ring-order-4', '--dry-run');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^# ring-order-4: Ring order 4 on both sides/);
    expect(run.stdout).toContain('insmod /lib/modules/xen_blkfront.ko max_ring_page_order=4\n');
    expect(run.stdout).toContain('insmod /lib/modules/xen_blkback.ko max_ring_page_order=4');
  });

  it('a benign variant passes', () => {
    const run = blkif(
      'check',
      '--drivers',
      './good.ts',
      '--property',
      'lost-wakeup,requests-complete-once',
      '--runs',
      '40',
      '--seed',
      '42',
    );
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/lost-wakeup +40 .* pass/);
  });
});
