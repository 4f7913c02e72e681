// Reading a trace file for `replay` and `render`: a missing file and a malformed trace are one
// line each (the TraceError is mapped by run-cli).
import { parseTrace, type Trace } from '../../traces/schema.ts';
import type { CliIo } from '../command.ts';
import { CliError } from '../errors.ts';
import { readTextFile } from '../paths.ts';

export function onePositional(positionals: readonly string[], what: string): string {
  const [first, ...extra] = positionals;
  if (first === undefined) throw new CliError('missing-argument', `missing ${what} argument`);
  if (extra.length > 0) throw new CliError('extra-argument', `unexpected argument "${extra[0]}"`);
  return first;
}

export { readTextFile } from '../paths.ts';

export function loadTrace(io: CliIo, path: string): Trace {
  return parseTrace(readTextFile(io, path, 'a trace'));
}
