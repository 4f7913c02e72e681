// The --drivers option of check and replay: a registered variant by name (honest, the known-bad
// variants, the candidates), or a user's variant from a file (cli/drivers-file.ts).
import type { Drivers } from '../impl/world/drivers.ts';
import type { CliIo, OptionSpec } from './command.ts';
import type { DriversFile } from '../properties/counterexample.ts';
import { isDriversFile, loadDriversFile } from './drivers-file.ts';
import { badValue } from './errors.ts';
import type { Registry } from './registry.ts';

export interface SelectedDrivers {
  readonly drivers: Drivers;
  /** Set when the variant came from a file: what its traces record. */
  readonly file: DriversFile | undefined;
  /** How a printed rerun command names it: the file's path, or the variant's name. */
  readonly arg: string;
  /** A file's variant bundled into one module (for `check --jobs` worker threads). */
  readonly bundle?: string;
}

export async function selectDrivers(
  registry: Registry,
  value: string | undefined,
  io: CliIo,
): Promise<SelectedDrivers> {
  const name = value ?? 'honest';
  if (isDriversFile(name)) {
    const loaded = await loadDriversFile(name, registry.driverNames);
    for (const note of loaded.notes) io.stderr(`${note}\n`);
    return { drivers: loaded.drivers, file: loaded.file, arg: name, bundle: loaded.code };
  }
  const drivers = registry.drivers(name);
  if (drivers === undefined)
    throw badValue(
      'drivers',
      `unknown driver variant "${name}" (variants: ${registry.driverNames.join(', ')}; or a file: --drivers ./my-driver.ts)`,
    );
  return { drivers, file: undefined, arg: name };
}

/** The `--drivers` option, worded once for every command that takes a driver variant. */
export const DRIVERS_OPTION: OptionSpec = {
  name: 'drivers',
  kind: 'string',
  placeholder: 'variant|file',
  summary: 'honest (default), a registered variant, or a .ts/.js file exporting yours',
};
