// An in-memory CliIo for tests: files in a Map, output captured, a clock that advances
// `clockStepMs` (default 1) per reading. Directories are the folders of the files plus those made
// with mkdir; `readOnly` folders (and everything under them) refuse new files, `special` paths
// stand for devices, and `failWrites` paths fail when written (a disk that fills up mid-run).
import type { CliIo, PathStat } from '../command.ts';
import { CliError } from '../errors.ts';
import { parentOf } from '../paths.ts';

export interface FakeIo extends CliIo {
  readonly files: Map<string, string>;
  readonly dirs: Set<string>;
  readonly readOnly: Set<string>;
  readonly special: Set<string>;
  readonly failWrites: Set<string>;
  /** Sizes `stat` reports instead of the text's (a file too large to hold in a test). */
  readonly sizes: Map<string, number>;
  readonly out: string[];
  readonly err: string[];
  /** A Ctrl-C once the campaign has polled for one this many times (undefined: never). */
  interruptAfterPolls: number | undefined;
  /** How many times a campaign polled for an interrupt. */
  readonly polls: () => number;
  stdoutText(): string;
  stderrText(): string;
}

const normal = (path: string): string => path.replace(/\/+$/, '').replace(/^\.\//, '') || '.';

function under(path: string, folder: string): boolean {
  return folder === '.' || path === folder || path.startsWith(`${folder}/`);
}

/** `stderrIsTty`: progress rewritten in place; `colour`: stdout coloured as on a terminal. */
export function fakeIo(
  files: Record<string, string> = {},
  stderrIsTty = false,
  clockStepMs = 1,
  colour = false,
): FakeIo {
  const map = new Map(Object.entries(files));
  const dirs = new Set<string>(['.', '/']);
  const readOnly = new Set<string>();
  const special = new Set<string>();
  const failWrites = new Set<string>();
  const sizes = new Map<string, number>();
  const out: string[] = [];
  const err: string[] = [];
  let clock = 1_000;
  let polls = 0;
  const isDir = (path: string) =>
    dirs.has(path) || readOnly.has(path) || [...map.keys()].some((f) => f.startsWith(`${path}/`));
  const stat = (raw: string): PathStat => {
    const path = normal(raw);
    if (special.has(path)) return { kind: 'special', size: 0 };
    const text = map.get(path);
    if (text !== undefined)
      return { kind: 'file', size: sizes.get(path) ?? Buffer.byteLength(text) };
    return { kind: isDir(path) ? 'dir' : 'missing', size: 0 };
  };
  const refusing = (path: string) => [...readOnly].some((folder) => under(path, folder));
  const blocked = (path: string) => {
    for (let at = parentOf(path); at !== '.' && at !== '/'; at = parentOf(at))
      if (map.has(at)) return at;
    return undefined;
  };
  return {
    files: map,
    dirs,
    readOnly,
    special,
    failWrites,
    sizes,
    out,
    err,
    stderrIsTty,
    colour,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readFile(path) {
      const text = map.get(normal(path));
      if (text === undefined) throw new CliError('file-not-found', `${path}: no such file`);
      return text;
    },
    writeFile(raw, text) {
      const path = normal(raw);
      if (failWrites.has(path) || refusing(path) || blocked(path) !== undefined || isDir(path))
        throw new CliError('write-failed', `cannot write ${raw}: no space left on the device`);
      map.set(path, text);
    },
    mkdir(raw) {
      const path = normal(raw);
      const blocker = blocked(`${path}/x`);
      if (blocker !== undefined || refusing(path))
        throw new CliError('write-failed', `cannot create ${raw}: permission denied`);
      for (let at = path; at !== '.' && at !== '/'; at = parentOf(at)) dirs.add(at);
    },
    exists: (path) => stat(path).kind !== 'missing',
    stat,
    createProblem: (dir) =>
      refusing(normal(dir)) ? `cannot create files in ${dir}: permission denied` : undefined,
    now: () => (clock += clockStepMs),
    interruptAfterPolls: undefined,
    polls: () => polls,
    trapInterrupts() {
      return {
        requested: () => {
          polls += 1;
          return this.interruptAfterPolls !== undefined && polls > this.interruptAfterPolls;
        },
        pause: () => undefined,
        release: () => undefined,
      };
    },
    stdoutText: () => out.join(''),
    stderrText: () => err.join(''),
  };
}
