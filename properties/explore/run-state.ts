// One run of the explorer's search as a value: the world (its ledger comes with it: the guest's
// observer is part of the world's graph) and the run's step checkers. A search forks it before
// every transition, so each successor continues from exactly the checkers' memory of its own path.
import { AssertionError } from '../../impl/assert.ts';
import { assert } from '../../impl/assert.ts';
import type { Action } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { Drivers } from '../../impl/world/drivers.ts';
import { deepCopy, forkWorld } from '../../impl/world/fork.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import type { World } from '../../impl/world/world.ts';
import { type Invariant, type InvariantChecker, startCheckers } from '../invariants/invariant.ts';
import type { Violation } from '../invariants/violation.ts';
import { Ledger } from '../ledger.ts';
import { crashFinding } from '../run.ts';

export interface RunState {
  readonly world: World;
  readonly checkers: readonly InvariantChecker[];
}

/** The run's oracle: the ledger is the guest's observer, so a fork of the world carries its own. */
export function ledgerOf(world: World): Ledger {
  const ledger = world.guest.observer;
  assert(ledger instanceof Ledger, 'explore: the guest observer is the ledger');
  return ledger as Ledger;
}

export function startRun(
  config: WorldConfig,
  drivers: Drivers,
  stepInvariants: readonly Invariant[],
): RunState {
  const world = initWorld(config, drivers, new Ledger());
  return { world, checkers: startCheckers(stepInvariants, config) };
}

/**
 * An independent copy of the run. The checkers hold only plain data (cursors into the world's
 * logs, per-ring summaries): a deep copy of them continues exactly as the original would.
 */
export function forkRun(run: RunState): RunState {
  const world = forkWorld(run.world);
  const checkers = deepCopy(run.checkers, [run.world.config]);
  assert(checkers !== run.checkers || checkers.length === 0, 'explore: checkers are copied');
  return { world, checkers };
}

/**
 * One step and the step invariants after it, worded as runSchedule words them (properties/run.ts):
 * a driver assertion is a driver-crash unless the ledger saw its cause first. Returns the first
 * violation, or undefined.
 */
export function performStep(run: RunState, action: Action): Violation | undefined {
  const { world } = run;
  const ledger = ledgerOf(world);
  ledger.now = world.stepCount + 1;
  const ledgerFindings = ledger.violations.length;
  try {
    step(world, action);
  } catch (error) {
    if (!(error instanceof AssertionError)) throw error;
    return crashFinding(world, action, error, ledger.violations[ledgerFindings]);
  }
  for (const checker of run.checkers) {
    const found = checker.check(world, ledger, action);
    if (found.length > 0) return found[0];
  }
  return undefined;
}

/** The quiescence invariants on a world where the fair drain has nothing left to take. */
export function checkQuiescence(
  world: World,
  invariants: readonly Invariant[],
): Violation | undefined {
  const ledger = ledgerOf(world);
  for (const checker of startCheckers(invariants, world.config)) {
    const found = checker.check(world, ledger);
    if (found.length > 0) return found[0];
  }
  return undefined;
}
