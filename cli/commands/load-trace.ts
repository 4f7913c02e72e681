// Reading a trace file for `replay` and `render`: the file checked (cli/paths.ts), the schema
// validated (traces/schema.ts), the property and drivers it names looked up, and the actions
// replayed: a trace the model cannot run is refused by both commands alike, in one line.
import { type ReplayResult, replayTrace } from '../../traces/replay.ts';
import { parseTrace, type Trace, TraceError } from '../../traces/schema.ts';
import type { CliIo, OptionSpec } from '../command.ts';
import type { Drivers } from '../../impl/world/drivers.ts';
import { driversFileExists, loadDriversFile } from '../drivers-file.ts';
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

/** replay's and render's --drivers: where a user's variant's file is now. */
export const DRIVERS_FILE_OPTION: OptionSpec = {
  name: 'drivers',
  kind: 'string',
  placeholder: 'file',
  summary: "the variant's file, when it is no longer where the trace says",
};

/** The registry a trace replays with: its variant by name, or loaded again from the file the
 * trace records (or `override`); a changed file is a warning, a missing one a refusal. */
export async function registryFor(
  registry: Registry,
  trace: Trace,
  override: string | undefined,
  io: CliIo,
): Promise<Registry> {
  const recorded = trace.driversFile;
  if (recorded === undefined) {
    if (override !== undefined)
      throw new CliError(
        'bad-drivers-file',
        `--drivers ${override}: the trace's variant "${trace.drivers}" is a registered one, not a file`,
      );
    return registry;
  }
  const path = override ?? recorded.path;
  if (override === undefined && !driversFileExists(path))
    throw new CliError(
      'bad-drivers-file',
      `the trace's variant "${trace.drivers}" was loaded from ${path}, which is missing: give its file with --drivers <file>`,
    );
  const loaded = await loadDriversFile(path, registry.driverNames);
  for (const note of loaded.notes) io.stderr(`${note}\n`);
  if (loaded.drivers.name !== trace.drivers)
    throw new CliError(
      'bad-drivers-file',
      `${path} exports the variant "${loaded.drivers.name}", but the trace was made with "${trace.drivers}"`,
    );
  if (loaded.file.sha256 !== recorded.sha256)
    io.stderr(
      `warning: ${path} changed since the trace was recorded (sha256 ${recorded.sha256.slice(0, 12)}…, now ${loaded.file.sha256.slice(0, 12)}…): replaying the current file\n`,
    );
  const drivers: Drivers = loaded.drivers;
  return { ...registry, drivers: (name) => (name === drivers.name ? drivers : undefined) };
}
