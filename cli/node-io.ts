// The real CliIo: files, the terminal and the clock. Commands never touch node:fs or process
// themselves, so tests run them with a fake.
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { colourWanted } from './colour.ts';
import { type CliIo, EXIT, type Interrupts, type PathStat } from './command.ts';
import { CliError } from './errors.ts';
import { parentOf } from './paths.ts';

const reason = (error: unknown): string => {
  const e = error as NodeJS.ErrnoException;
  const text: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is a file',
    EISDIR: 'is a directory',
    ENOENT: 'no such file or directory',
  };
  return (e.code !== undefined ? text[e.code] : undefined) ?? e.code ?? String(error);
};

function stat(path: string): PathStat {
  try {
    const s = statSync(path);
    const kind = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'special';
    return { kind, size: s.size };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing', size: 0 };
    throw new CliError('bad-input-file', `${path}: ${reason(error)}`);
  }
}

/** Tries it: access() says yes to root on a read-only mount. */
function createProblem(dir: string): string | undefined {
  const probe = `${dir}/.blkif-probe-${process.pid}`;
  try {
    writeFileSync(probe, '', { flag: 'wx' });
    unlinkSync(probe);
    return undefined;
  } catch (error) {
    return `cannot create files in ${dir}: ${reason(error)}`;
  }
}

function writeFile(path: string, text: string): void {
  // Whole or not at all: a full disk leaves no half-written trace behind.
  const temporary = `${parentOf(path)}/.${path.split('/').pop()}.${process.pid}.tmp`;
  try {
    if (existsSync(path)) accessSync(path, constants.W_OK);
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Never created.
    }
    throw new CliError('write-failed', `cannot write ${path}: ${reason(error)}`);
  }
}

/**
 * A reader that went away (`blkif replay t.json | head -1`) is not an error of the command: the
 * stream stops taking output and the command ends with its own exit code.
 */
function quietWhenClosed(stream: NodeJS.WriteStream): (text: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || closed) {
      closed = true;
      return;
    }
    throw error;
  });
  return (text) => {
    if (!closed && !stream.destroyed) stream.write(text);
  };
}

/** How long a campaign may hold the event loop before it lets a signal handler run. */
const PAUSE_INTERVAL_MS = 50;

function trapInterrupts(): Interrupts {
  let signals = 0;
  let last = Date.now();
  const onSignal = () => {
    signals += 1;
    // The second Ctrl-C is a user who will not wait for the run in progress.
    if (signals > 1) process.exit(EXIT.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => signals > 0,
    pause() {
      const now = Date.now();
      if (now - last < PAUSE_INTERVAL_MS) return undefined;
      last = now;
      return new Promise((resolve) => setImmediate(resolve));
    },
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Of the heap's limit, and of the machine's memory: past these an exploration stops. */
const HEAP_SHARE_MAX = 0.8;
const MACHINE_SHARE_MAX = 0.8;

/**
 * The heap near its limit (V8 would abort with a stack dump), or this process holding most of
 * the machine (its buffers, ring pages, live outside the heap): either way no room for more.
 */
function memoryFull(): boolean {
  const heap = getHeapStatistics();
  if (heap.used_heap_size > HEAP_SHARE_MAX * heap.heap_size_limit) return true;
  return process.memoryUsage.rss() > MACHINE_SHARE_MAX * totalmem();
}

export const nodeIo: CliIo = {
  stdout: quietWhenClosed(process.stdout),
  stderr: quietWhenClosed(process.stderr),
  // The progress line is written to stderr: whether it is rewritten in place depends on stderr,
  // so `2>log` gets plain lines even when stdout is a terminal.
  stderrIsTty: process.stderr.isTTY === true,
  colour: colourWanted(process.stdout.isTTY === true, process.env),
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CliError('file-not-found', `${path}: no such file`);
      if (code === 'EISDIR')
        throw new CliError('file-not-found', `${path}: is a directory, not a file`);
      throw new CliError('bad-input-file', `${path}: ${reason(error)}`);
    }
  },
  writeFile,
  mkdir(path) {
    try {
      mkdirSync(path, { recursive: true });
    } catch (error) {
      throw new CliError('write-failed', `cannot create ${path}: ${reason(error)}`);
    }
  },
  exists: (path) => existsSync(path),
  stat,
  createProblem,
  // Wall-clock milliseconds: progress timing, and the seed of a `check` given no --seed.
  now: () => Date.now(),
  memoryFull,
  trapInterrupts,
  // Worker threads, loaded when a campaign starts them (`blkif --help` loads none of the model).
  jobs: {
    cores: availableParallelism(),
    start: async (setup, local, count) =>
      (await import('./check/thread-pool.ts')).startThreadPool(setup, local, count),
  },
};
