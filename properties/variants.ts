// Every registered driver variant by name: the honest drivers, the known-bad variants
// (properties/mutants, each with the violation it must cause) and the candidates
// (properties/candidates, expected to pass). `--drivers <name>` and replay look names up here.
import { type Drivers, HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { CANDIDATES } from './candidates/index.ts';
import { MUTANTS } from './mutants/index.ts';

export const VARIANT_NAMES: readonly string[] = [
  HONEST_DRIVERS.name,
  ...MUTANTS.keys(),
  ...CANDIDATES.keys(),
];

export function variantByName(name: string): Drivers | undefined {
  if (name === HONEST_DRIVERS.name) return HONEST_DRIVERS;
  return MUTANTS.get(name)?.drivers ?? CANDIDATES.get(name)?.drivers;
}
