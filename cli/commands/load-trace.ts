// Reading a trace file for `replay` and `render`: the file checked (cli/paths.ts), the schema
// validated (traces/schema.ts), the property and drivers it names looked up, and the actions
// replayed: a trace the model cannot run is refused by both commands alike, in one line.
import { type ReplayResult, replayTrace } from '../../traces/replay.ts';
import { parseTrace, type Trace, TraceError } from '../../traces/schema.ts';
import type { CliIo } from '../command.ts';
import { CliError } from '../errors.ts';
import { readTextFile } from '../paths.ts';
import { propertyNamed, type Registry } from '../registry.ts';

export { readTextFile } from '../paths.ts';

export function onePositional(positionals: readonly string[], what: string): string {
  const [first, ...extra] = positionals;
  if (first === undefined) throw new CliError('missing-argument', `missing ${what} argument`);
  if (extra.length > 0) throw new CliError('extra-argument', `unexpected argument "${extra[0]}"`);
  return first;
}

export function loadTrace(io: CliIo, path: string): Trace {
  return parseTrace(readTextFile(io, path, 'a trace'));
}

/** Replays a loaded trace with its property's invariants; throws on a name we do not know. */
export function replayLoaded(registry: Registry, trace: Trace): ReplayResult {
  const property =
    trace.property === undefined ? undefined : propertyNamed(registry, trace.property);
  if (trace.property !== undefined && property === undefined) {
    const known = [...registry.properties, ...registry.extraProperties].map((p) => p.name);
    throw new TraceError([
      {
        path: 'property',
        message: `unknown property ${JSON.stringify(trace.property)} (properties: ${known.join(', ')})`,
      },
    ]);
  }
  return replayTrace(trace, {
    drivers: registry.drivers,
    ...(property?.stepInvariants === undefined ? {} : { stepInvariants: property.stepInvariants }),
    ...(property?.quiescenceInvariants === undefined
      ? {}
      : { quiescenceInvariants: property.quiescenceInvariants }),
    ...(property === undefined ? {} : { drainStepsMax: property.drainStepsMax }),
  });
}
