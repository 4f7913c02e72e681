// Input and output paths checked before any work starts: a campaign never runs for an hour to die
// on an unwritable --out, and a trace argument that is a device, a directory or a 4 GB file is one
// line. The checks read the file system only through CliIo, so the fake io exercises them.
import type { CliIo } from './command.ts';
import { badValue, CliError } from './errors.ts';

/** Larger than any trace a run of ours writes (a 100,000-step trace is about 40 MB). */
export const INPUT_BYTES_MAX = 256 * 1024 * 1024;

export function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  if (slash < 0) return '.';
  return slash === 0 ? '/' : trimmed.slice(0, slash);
}

/** The nearest existing ancestor that is not a directory, or the directory to create in. */
function existingAncestor(io: CliIo, path: string): { dir: string } | { blocker: string } {
  for (let at = parentOf(path), i = 0; i < 4096; at = parentOf(at), i++) {
    const kind = io.stat(at).kind;
    if (kind === 'dir') return { dir: at };
    if (kind !== 'missing') return { blocker: at };
    if (at === '/' || at === '.') break;
  }
  return { dir: '.' };
}

/**
 * Why `path` cannot be written (kind file: written whole; kind dir: created with its parents and
 * filled with files), or undefined. Creates nothing.
 */
export function outputProblem(io: CliIo, path: string, kind: 'file' | 'dir'): string | undefined {
  if (path === '') return 'empty path';
  const here = io.stat(path).kind;
  if (kind === 'dir' && here === 'dir') return io.createProblem(path);
  if (here === 'dir') return 'is a directory';
  if (here === 'special') return 'is a device, pipe or socket, not a regular file';
  if (kind === 'dir' && here === 'file') return 'is a file, not a directory';
  if (kind === 'file') {
    const parent = parentOf(path);
    const parentKind = io.stat(parent).kind;
    if (parentKind === 'missing') return `its folder ${parent} does not exist`;
    if (parentKind !== 'dir') return `${parent} is not a directory`;
    return io.createProblem(parent);
  }
  const ancestor = existingAncestor(io, path);
  if ('blocker' in ancestor) return `${ancestor.blocker} is not a directory`;
  return io.createProblem(ancestor.dir);
}

export interface OutputPath {
  /** The option that names it, e.g. `summary-out`. */
  readonly option: string;
  readonly path: string | undefined;
  readonly kind: 'file' | 'dir';
}

/** Throws a one-line CliError for the first output that cannot be written. */
export function checkOutputs(io: CliIo, outputs: readonly OutputPath[]): void {
  for (const { option, path, kind } of outputs) {
    if (path === undefined) continue;
    const problem = outputProblem(io, path, kind);
    if (problem !== undefined) throw badValue(option, `cannot write ${path}: ${problem}`);
  }
}

const BOM = '\uFEFF';
/** traces/binary.ts's test, repeated: the entry point loads no module outside cli/ (start-up). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const BINARY = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\uFFFD]/;

/**
 * A text input: a regular file within INPUT_BYTES_MAX, UTF-8 (a BOM is dropped), not binary.
 * Binary data is named, never quoted: its bytes would reach the terminal.
 */
export function readTextFile(io: CliIo, path: string, what = 'a text file'): string {
  const stat = io.stat(path);
  if (stat.kind === 'missing') throw new CliError('file-not-found', `${path}: no such file`);
  if (stat.kind === 'dir')
    throw new CliError('file-not-found', `${path}: is a directory, not a file`);
  if (stat.kind === 'special')
    throw new CliError('bad-input-file', `${path}: is a device, pipe or socket, not a file`);
  if (stat.size > INPUT_BYTES_MAX) {
    throw new CliError(
      'bad-input-file',
      `${path}: ${stat.size} bytes, more than the ${INPUT_BYTES_MAX / 1024 / 1024} MiB limit of an input file`,
    );
  }
  const raw = io.readFile(path);
  const text = raw.startsWith(BOM) ? raw.slice(1) : raw;
  if (BINARY.test(text)) throw new CliError('bad-input-file', `${path}: not ${what}: binary data`);
  return text;
}
