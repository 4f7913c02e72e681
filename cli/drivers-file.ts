// `--drivers ./my-driver.ts` (or .js, .mts, .mjs): a user's driver variant, loaded from a file.
// The file and whatever it imports from its own folder are bundled by esbuild into one module in
// a temporary folder, with `blkif-model` pointing at the very package this CLI runs (so the
// variant and the world share one copy of the model), then imported. A .ts file is type-checked
// first when TypeScript is installed beside it or beside blkif. Everything that can go wrong is
// the user's and one line (a CliError, exit 2): no such file, a syntax or type error, a module
// that throws while loading, a module that exports no driver table.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Drivers, HONEST_DRIVERS } from '../impl/world/drivers.ts';
import type { DriversFile } from '../properties/counterexample.ts';
import { CliError } from './errors.ts';

export interface LoadedVariant {
  readonly drivers: Drivers;
  /** The bundled module: what `check --jobs` worker threads import to get the same variant. */
  readonly code: string;
  readonly file: DriversFile;
  /** Said on stderr, not fatal: e.g. that a .ts file could not be type-checked. */
  readonly notes: readonly string[];
}

const VARIANT_FILE = /\.(?:ts|mts|js|mjs)$/;

/** Whether a variant's file is there (replay refuses a trace whose file is gone). */
export function driversFileExists(path: string): boolean {
  return existsSync(resolve(path));
}

/** Whether a --drivers value names a file rather than a registered variant. */
export function isDriversFile(value: string): boolean {
  return VARIANT_FILE.test(value) || value.includes('/');
}

// The package entry point the variant's `import … from 'blkif-model'` must reach: the sources
// when this CLI runs from them (tests, a checkout with a stale build), dist/ when compiled.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const OWN_ENTRY = new URL(FROM_SOURCES ? '../index.ts' : '../index.js', import.meta.url).href;
const OWN_TYPES = fileURLToPath(
  new URL(FROM_SOURCES ? '../index.ts' : '../index.d.ts', import.meta.url),
);
const OWN_ROOT = fileURLToPath(new URL(FROM_SOURCES ? '../' : '../../', import.meta.url));
const OWN_PARTS = /^(?:model|impl|properties|traces|cli|dist)\/|^index\.ts$/;

function isOwnFile(file: string): boolean {
  const inside = relative(OWN_ROOT, file);
  return !inside.startsWith('..') && OWN_PARTS.test(inside);
}

function bad(path: string, message: string): CliError {
  return new CliError('bad-drivers-file', `--drivers ${path}: ${message}`);
}

/** The file's content hash as a trace records it (also what replay compares). */
export function hashDriversFile(absolute: string, inputs: readonly string[]): string {
  const hash = createHash('sha256');
  // The entry by content alone (a renamed file is the same variant), its imports with their
  // paths relative to it.
  hash.update(readFileSync(absolute));
  for (const input of inputs.filter((i) => i !== absolute).sort()) {
    hash.update(`\0${relative(dirname(absolute), input)}\0`);
    hash.update(readFileSync(input));
  }
  return hash.digest('hex');
}

/** Loads, checks and validates the variant in `path` (resolved against the working directory). */
export async function loadDriversFile(
  path: string,
  reservedNames: readonly string[],
): Promise<LoadedVariant> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw bad(path, 'no such file');
  if (!statSync(absolute).isFile()) throw bad(path, 'is a directory, not a file');
  if (!VARIANT_FILE.test(absolute))
    throw bad(path, 'expected a .ts, .mts, .js or .mjs module exporting a driver variant');
  const notes: string[] = [];
  if (/\.m?ts$/.test(absolute) && !typeCheck(path, absolute))
    notes.push(
      `note: ${path} was not type-checked: no TypeScript compiler beside it or beside blkif (npm install --save-dev typescript)`,
    );
  const { code, inputs } = await bundle(path, absolute);
  const exports = await importBundle(path, code);
  const drivers = variantExport(path, exports);
  if (reservedNames.includes(drivers.name))
    throw bad(
      path,
      `the variant is named "${drivers.name}", a name blkif already uses; give it its own`,
    );
  return { drivers, code, file: { path, sha256: hashDriversFile(absolute, inputs) }, notes };
}

/** The variant of an already checked bundle (LoadedVariant.code), imported again elsewhere. */
export async function importVariantBundle(path: string, code: string): Promise<Drivers> {
  return variantExport(path, await importBundle(path, code));
}

async function bundle(
  path: string,
  absolute: string,
): Promise<{ code: string; inputs: readonly string[] }> {
  const esbuild = await import('esbuild');
  try {
    const result = await esbuild.build({
      entryPoints: [absolute],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      metafile: true,
      logLevel: 'silent',
      plugins: [
        {
          name: 'blkif-model',
          setup(build) {
            build.onResolve({ filter: /^blkif-model$/ }, () => ({
              path: OWN_ENTRY,
              external: true,
            }));
          },
        },
      ],
    });
    const code = result.outputFiles[0]?.text ?? '';
    const inputs = Object.keys(result.metafile.inputs)
      .filter((input) => !input.includes('node_modules'))
      .map((input) => resolve(input));
    return { code, inputs };
  } catch (error) {
    throw bad(path, firstEsbuildError(error));
  }
}

function firstEsbuildError(error: unknown): string {
  const errors = (error as { errors?: { text: string; location?: EsbuildLocation | null }[] })
    .errors;
  const first = errors?.[0];
  if (first === undefined) return error instanceof Error ? error.message : String(error);
  const where = first.location
    ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: `
    : '';
  return `${where}${first.text}`;
}

interface EsbuildLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

async function importBundle(path: string, code: string): Promise<Record<string, unknown>> {
  const folder = mkdtempSync(join(tmpdir(), 'blkif-variant-'));
  try {
    const file = join(folder, 'variant.mjs');
    writeFileSync(file, code);
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw bad(path, `loading it threw: ${message.split('\n')[0]}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const USAGE =
  "export default variantOf('my-change', { blkfront: { … } }) (import { variantOf } from 'blkif-model')";

/** The module's default export, else its only export that is a driver table. */
function variantExport(path: string, exports: Record<string, unknown>): Drivers {
  const candidates =
    exports.default !== undefined
      ? [['default', exports.default] as const]
      : Object.entries(exports).filter(([, v]) => typeof v === 'object' && v !== null);
  if (candidates.length === 0) throw bad(path, `exports no driver variant: ${USAGE}`);
  if (candidates.length > 1)
    throw bad(
      path,
      `exports ${candidates.map(([k]) => k).join(', ')} and no default: export default the variant to run`,
    );
  const [name, value] = candidates[0]!;
  const problem = driversProblem(value);
  if (problem !== undefined)
    throw bad(path, `its export ${name} is not a driver variant (${problem}): ${USAGE}`);
  return value as Drivers;
}

/** Why a value is not a Drivers table, or undefined when it is one. */
export function driversProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const table = value as Record<string, unknown>;
  if (typeof table.name !== 'string' || table.name === '') return 'no name';
  for (const side of ['blkfront', 'blkback'] as const) {
    const routines = table[side];
    if (typeof routines !== 'object' || routines === null) return `no ${side} routines`;
    for (const key of Object.keys(HONEST_DRIVERS[side])) {
      if (typeof (routines as Record<string, unknown>)[key] !== 'function')
        return `${side}.${key} is not a function`;
    }
  }
  return undefined;
}

/** tsc --noEmit on the file alone (strict); false when no TypeScript compiler can be found. */
function typeCheck(path: string, absolute: string): boolean {
  const tsc = findTsc(absolute);
  if (tsc === undefined) return false;
  const folder = mkdtempSync(join(tmpdir(), 'blkif-typecheck-'));
  try {
    const config = join(folder, 'tsconfig.json');
    writeFileSync(config, JSON.stringify(typeCheckConfig(absolute)));
    execFileSync(process.execPath, [tsc, '-p', config], {
      encoding: 'utf8',
      stdio: 'pipe',
      cwd: dirname(absolute),
    });
  } catch (error) {
    const first = firstOwnError(`${(error as { stdout?: string }).stdout ?? ''}`, absolute);
    if (first !== undefined) throw bad(path, `type error: ${first}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return true;
}

/** The first error in the user's files: blkif's own sources, checked under the user's looser
 * flags and without node's types, may report things that are not the user's to fix. */
function firstOwnError(out: string, absolute: string): string | undefined {
  for (const line of out.split('\n')) {
    const m = /^(.+?)\(\d+,\d+\): error TS\d+/.exec(line);
    if (m === null) continue;
    const file = resolve(dirname(absolute), m[1]!);
    if (isOwnFile(file) || file.includes('/node_modules/')) continue;
    return line.trim();
  }
  return undefined;
}

function typeCheckConfig(absolute: string): object {
  return {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'es2022',
      lib: ['es2023'],
      module: 'preserve',
      moduleResolution: 'bundler',
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: [],
      // The types of the blkif this CLI runs, wherever the file is.
      paths: { 'blkif-model': [OWN_TYPES] },
    },
    files: [absolute],
  };
}

/** typescript's tsc beside the variant (the user's project), else beside blkif itself. */
function findTsc(absolute: string): string | undefined {
  for (const from of [absolute, new URL(import.meta.url).pathname]) {
    try {
      const pkg = createRequire(from).resolve('typescript/package.json');
      const bin = (JSON.parse(readFileSync(pkg, 'utf8')) as { bin?: Record<string, string> }).bin
        ?.tsc;
      if (bin !== undefined) return join(dirname(pkg), bin);
    } catch {
      // not installed there: try the next place
    }
  }
  return undefined;
}
