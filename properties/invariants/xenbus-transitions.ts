// Invariant 9 and the reaction tables: every state a driver (or xenbus for it) writes to its own
// state node is a legal edge of that side as the Linux drivers take them.
import { isLegalTransition, xenbusStateName } from '../../model/xenbus-state.ts';
import type { StateWrite, World } from '../../impl/world/world.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { FindingList, type Violation } from './violation.ts';
const name = (s: number): string => `${s} (${xenbusStateName(s) ?? 'not a XenbusState'})`;

function judgeWrite(w: StateWrite, out: Violation[]): void {
  // The toolstack wrote this value under the driver (libxl's state=Closing): __xenbus_switch_state
  // compares with dev->state, not with the node, so rewriting the node's value is Linux's way.
  if (w.from === w.to && w.cached !== undefined && w.cached !== w.to) return;
  if (w.from === w.to) {
    out.push({
      code: 'illegal-xenbus-transition',
      step: w.step,
      key: `${w.side}/state`,
      message: `${w.writer} rewrote ${w.side} state ${name(w.to)} with the same value (xenbus_switch_state skips that)`,
    });
  } else if (!isLegalTransition(w.side, w.from, w.to, w.writer, w.cached)) {
    out.push({
      code: 'illegal-xenbus-transition',
      step: w.step,
      key: `${w.side}/state`,
      message: `${w.writer} moved ${w.side} state ${name(w.from)} -> ${name(w.to)}, an edge the Linux drivers never take`,
    });
  }
}

/** State writes are a log: a run's checker remembers how far it has judged it. */
class TransitionChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  private next = 0;

  /**
   * A hostile peer owns its state node (it flaps it at will, and its driver's writes start from
   * whatever it left there), so that side's edges say nothing: only the honest side's are judged.
   * Without a hostile peer both sides are.
   */
  constructor(private readonly hostileSide: StateWrite['side'] | undefined) {}

  check(world: World): readonly Violation[] {
    const out = this.findings.start();
    for (; this.next < world.stateWrites.length; this.next++) {
      const w = world.stateWrites[this.next]!;
      if (w.side === this.hostileSide) continue;
      judgeWrite(w, out);
    }
    return this.findings.take();
  }
}

export const legalXenbusTransitions: Invariant = {
  code: 'illegal-xenbus-transition',
  phase: 'step',
  summary: 'each side only takes the xenbus state edges the Linux drivers take',
  start: (config) => {
    const hostile = config.hostile?.side;
    return new TransitionChecker(
      hostile === undefined ? undefined : hostile === 'blkfront' ? 'frontend' : 'backend',
    );
  },
};
