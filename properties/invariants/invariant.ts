import type { Action } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import { newRunScope, type RunScope } from './ring-changes.ts';
import type { Violation, ViolationCode } from './violation.ts';

/** Checked after every step (safety) or once the fair drain reached quiescence (liveness). */
export type InvariantPhase = 'step' | 'quiescence';

/**
 * One run's checker: whatever it remembers between steps (cursors into the world's logs, what it
 * already judged) is its own plain data, so a run's whole state is the world, the ledger and its
 * checkers — nothing hides in module scope, and a fork of the run can copy all three.
 */
export interface InvariantChecker {
  /**
   * `action` is the step just taken, so that a step checker may look only at what that step can
   * have changed (its ring, the grants and keys it moved); without it, everything is checked
   * (at quiescence, and in the full-check mode tests use to show both verdicts agree).
   */
  check(world: World, ledger: Ledger, action?: Action): readonly Violation[];
}

export interface Invariant {
  readonly code: ViolationCode;
  readonly phase: InvariantPhase;
  /** One line for reports and docs. */
  readonly summary: string;
  /**
   * Which runs it judges (absent: every run). Hostile-only and honest-only invariants are this
   * filter over the one registry: with a hostile peer, checks that trust that peer do not apply.
   */
  readonly when?: (config: WorldConfig) => boolean;
  /**
   * It judges what the step's action did (ring-isolation: which ring acted), so a check without
   * an action judges nothing: not a narrowing to what the step touched, which every other step
   * checker's full check must agree with.
   */
  readonly judgesAction?: boolean;
  /**
   * A fresh checker for one run, created by the runner before the first step. `scope` is what
   * the run's step checkers share (the step's ring changes, compared once); absent, the checker
   * makes its own.
   */
  start(config: WorldConfig, scope?: RunScope): InvariantChecker;
}

type CheckFn = (world: World, ledger: Ledger) => readonly Violation[];

/** An invariant with nothing to remember between steps: every run shares one checker. */
export function stateless(def: {
  readonly code: ViolationCode;
  readonly phase: InvariantPhase;
  readonly summary: string;
  readonly when?: (config: WorldConfig) => boolean;
  readonly check: CheckFn;
}): Invariant & { readonly check: CheckFn } {
  const checker: InvariantChecker = { check: def.check };
  return { ...def, start: () => checker };
}

/** The invariants of `list` that judge runs of `config`, each with a fresh checker. */
export function startCheckers(
  list: readonly Invariant[],
  config: WorldConfig,
): readonly InvariantChecker[] {
  const out: InvariantChecker[] = [];
  const scope = newRunScope();
  for (const invariant of list)
    if (invariant.when === undefined || invariant.when(config))
      out.push(invariant.start(config, scope));
  return out;
}
