// An in-memory CliIo for tests: files in a Map, output captured, a clock that advances
// `clockStepMs` (default 1) per reading.
import type { CliIo } from '../command.ts';
import { CliError } from '../errors.ts';

export interface FakeIo extends CliIo {
  readonly files: Map<string, string>;
  readonly out: string[];
  readonly err: string[];
  stdoutText(): string;
  stderrText(): string;
}

export function fakeIo(files: Record<string, string> = {}, isTty = false, clockStepMs = 1): FakeIo {
  const map = new Map(Object.entries(files));
  const out: string[] = [];
  const err: string[] = [];
  let clock = 1_000;
  return {
    files: map,
    out,
    err,
    isTty,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    readFile(path) {
      const text = map.get(path);
      if (text === undefined) throw new CliError('file-not-found', `${path}: no such file`);
      return text;
    },
    writeFile: (path, text) => map.set(path, text),
    mkdir: () => undefined,
    exists: (path) => map.has(path),
    now: () => (clock += clockStepMs),
    stdoutText: () => out.join(''),
    stderrText: () => err.join(''),
  };
}
