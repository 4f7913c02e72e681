// User errors as typed values with stable codes (vitest's errors.ts, zod's issue codes): run-cli
// prints `blkif <command>: <message>` on one line and exits with the error's code. Anything that
// is not a CliError is our bug: it gets a stack trace and exit 4.
import { EXIT, type ExitCode } from './command.ts';

export type CliErrorCode =
  | 'unknown-command'
  | 'unknown-option'
  | 'missing-argument'
  | 'extra-argument'
  | 'bad-value'
  | 'file-not-found'
  | 'bad-input-file'
  | 'write-failed'
  | 'bad-trace'
  | 'bad-summary'
  | 'bad-coverage'
  | 'replay-mismatch';

export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly exitCode: ExitCode = EXIT.badInput,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function badValue(option: string, message: string): CliError {
  return new CliError('bad-value', `--${option}: ${message}`);
}
