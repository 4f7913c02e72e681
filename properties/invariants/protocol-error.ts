// With both peers honest, neither driver ever has a protocol violation of the other to report.
// A report here means the two honest sides disagree about the protocol (an ABI mismatch, an id
// or operation mix-up, a grant kept mapped): exactly the bugs that otherwise hide behind a
// frontend that marked its device broken and stopped completing requests.
import type { World } from '../../impl/world/world.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { honestRun } from './runs.ts';
import { NO_VIOLATIONS, type Violation } from './violation.ts';

/** Reports are a log: a run's checker remembers how many it has judged. */
class ReportChecker implements InvariantChecker {
  private seen = 0;

  check(world: World): readonly Violation[] {
    const from = this.seen;
    if (world.reports.length === from) return NO_VIOLATIONS;
    this.seen = world.reports.length;
    const r = world.reports[from]!;
    return [
      {
        code: 'protocol-error',
        step: world.stepCount,
        ...(r.ring !== undefined ? { ring: r.ring } : {}),
        ...(r.requestId !== undefined ? { requestId: r.requestId } : {}),
        ...(r.gref !== undefined ? { gref: r.gref } : {}),
        message: `${r.side} reported ${r.code} against an honest peer: ${r.message}`,
      },
    ];
  }
}

export const protocolError: Invariant = {
  code: 'protocol-error',
  phase: 'step',
  summary: 'with honest peers, no driver reports a protocol violation of the other side',
  when: honestRun,
  start: () => new ReportChecker(),
};
