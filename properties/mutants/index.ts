// Known-bad variants of the drivers, by name. Each replaces one driver routine (impl/ has no
// mutant flags) and is caught by the invariant named in its entry. Traces store the name.
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { ViolationCode } from '../invariants/violation.ts';
import { COLLECT_AFTER_FREE_NAME, collectAfterFree } from './collect-after-free.ts';

export interface Mutant {
  readonly drivers: Drivers;
  /** The invariant expected to catch it (the teeth test checks the first report line). */
  readonly caughtBy: ViolationCode;
  readonly summary: string;
}

export const MUTANTS: ReadonlyMap<string, Mutant> = new Map([
  [COLLECT_AFTER_FREE_NAME, collectAfterFree],
]);

export function driversByName(name: string): Drivers | undefined {
  if (name === HONEST_DRIVERS.name) return HONEST_DRIVERS;
  return MUTANTS.get(name)?.drivers;
}
