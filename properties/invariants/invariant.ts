import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import type { Violation, ViolationCode } from './violation.ts';

/** Checked after every step (safety) or once the fair drain reached quiescence (liveness). */
export type InvariantPhase = 'step' | 'quiescence';

export interface Invariant {
  readonly code: ViolationCode;
  readonly phase: InvariantPhase;
  /** One line for reports and docs. */
  readonly summary: string;
  check(world: World, ledger: Ledger): readonly Violation[];
}
