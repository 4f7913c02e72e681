// The real CliIo: files, the terminal and the clock. Commands never touch node:fs or process
// themselves, so tests run them with a fake.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { CliIo } from './command.ts';
import { CliError } from './errors.ts';

export const nodeIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new CliError('file-not-found', `${path}: no such file`);
      if (code === 'EISDIR')
        throw new CliError('file-not-found', `${path}: is a directory, not a file`);
      throw error;
    }
  },
  writeFile: (path, text) => writeFileSync(path, text),
  mkdir: (path) => mkdirSync(path, { recursive: true }),
  exists: (path) => existsSync(path),
  // Wall-clock milliseconds: progress timing, and the seed of a `check` given no --seed.
  now: () => Date.now(),
};
