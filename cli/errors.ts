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
  | 'incomplete-merge'
  | 'bad-trace'
  | 'bad-summary'
  | 'bad-coverage'
  | 'replay-mismatch'
  | 'bad-drivers-file';

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

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A message on one terminal line: a newline or an escape sequence quoted from an input (a file
 * name, a JSON parser's excerpt) is shown as its \u escape (traces/render/visible.ts, for lines).
 */
export function oneLine(message: string): string {
  return message
    .replaceAll('\n', ' ')
    .replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
