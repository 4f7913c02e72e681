// An explorer's counterexample as a normal trace: its path is run once more through runSchedule
// itself (the scheduled phase takes the path's actions, then the fair drain), with recording on.
// So the trace is exactly what `blkif replay` re-runs, and its violation is the one replay finds:
// the words of `blkif check`. A liveness finding's path ends in a stuck state; the drain then
// runs into its bound there, as it would under check.
import { type Action, describeAction, sameAction } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { Drivers } from '../../impl/world/drivers.ts';
import { assert } from '../../impl/assert.ts';
import { type Trace, traceOf } from '../counterexample.ts';
import type { Invariant } from '../invariants/invariant.ts';
import type { Violation } from '../invariants/violation.ts';
import { runSchedule } from '../run.ts';
import type { Chooser } from '../strategies/chooser.ts';

/** Picks the path's actions in order, then hands over to the drain. */
class PathChooser implements Chooser {
  private next = 0;
  constructor(private readonly path: readonly Action[]) {}
  choose(_count: number, actions?: readonly Action[]): number | 'drain' {
    const action = this.path[this.next];
    if (action === undefined) return 'drain';
    assert(actions !== undefined, 'explore: the runner passes the enabled actions');
    const index = actions.findIndex((a) => sameAction(a, action));
    assert(index >= 0, 'explore: a path action is enabled where the search took it');
    this.next += 1;
    return index;
  }
}

export interface PathTraceOptions {
  readonly config: WorldConfig;
  readonly drivers: Drivers;
  readonly path: readonly Action[];
  readonly drainStepsMax: number;
  readonly stepInvariants?: readonly Invariant[];
  readonly quiescenceInvariants?: readonly Invariant[];
}

/** The recorded run of `path` then the fair drain, and the violation it ends in. */
export function traceOfPath(options: PathTraceOptions): {
  readonly trace: Trace;
  readonly violation: Violation | undefined;
} {
  const run = runSchedule({
    config: options.config,
    drivers: options.drivers,
    chooser: new PathChooser(options.path),
    stepsMax: options.path.length,
    drainStepsMax: options.drainStepsMax,
    record: true,
    ...(options.stepInvariants === undefined ? {} : { stepInvariants: options.stepInvariants }),
    ...(options.quiescenceInvariants === undefined
      ? {}
      : { quiescenceInvariants: options.quiescenceInvariants }),
  });
  assert(run.steps <= options.path.length, 'explore: the scheduled phase is the path');
  const trace = traceOf(run, options.config, options.drivers.name, {
    property: undefined,
    seed: undefined,
    path: undefined,
  });
  return { trace, violation: run.violation };
}

/** The path in one line per action (tests and reports). */
export function describePath(path: readonly Action[]): string[] {
  return path.map(describeAction);
}
