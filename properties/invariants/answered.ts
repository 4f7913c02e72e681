// Answered, not abandoned (docs/findings.md): with honest peers, every request a backend ring
// consumed gets exactly one response before that ring is released. Linux's xen_blkif_disconnect
// stops each ring thread (kthread_stop waits for the iteration it is in) and returns -EBUSY for a
// ring whose `inflight` count is not zero, so the ring stays until __end_block_io_op has pushed
// its last response and the final reference drop releases it. A request the frontend published
// that the thread never consumed is the frontend's to settle (blkif_free fails it, or
// blkfront_resume requeues it): it is not judged here.
//
// Judged from the ring indices (req_cons against rsp_prod_pvt and the published rsp_prod), which
// the world reads as each ring instance leaves the backend's list (world.ringEnds), and while a
// ring lives from the same indices against what the backend still holds for them. Not judged: a
// ring whose host went away (xl destroy, the source domain of a migration, a blkback restart):
// its disk I/O went with the host and no Linux backend could answer it.
import { teardownOf, type RingEnd, type World } from '../../impl/world/world.ts';
import { ringIdxDistance } from '../../impl/xen/ring-index.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { honestRun } from './runs.ts';
import type { Violation } from './violation.ts';

const CODE = 'answered';

/** An unsigned RING_IDX distance read as signed: more answered than consumed is negative. */
function signed(distance: number): number {
  return distance | 0;
}

/** The teardown under way, in the words of whoever started it. */
function teardownWords(world: World): string {
  const life = world.lifecycle;
  const forced = life.kind === 'detaching' && life.forced === true ? ', forced' : '';
  switch (teardownOf(world)) {
    case 'unplug':
      return `during xl block-detach${forced}`;
    case 'close':
      return `during the guest's close of the device${forced}`;
    default:
      return 'with no teardown under way (a reconnect)';
  }
}

const CALLER: Record<RingEnd['cause'], string> = {
  frontend_changed: 'xen_blkif_disconnect from frontend_changed',
  end_block_io_op: 'xen_blkif_disconnect after the last completion',
  xen_blkbk_remove: 'xen_blkif_disconnect from xen_blkbk_remove',
  connect_ring: "connect_ring's release after a failed map",
  'host-gone': 'the host going away',
};

/** One ring instance's end: nothing consumed left without its one response, all published. */
function judgeEnd(world: World, end: RingEnd, out: Violation[]): void {
  // The host went away with its disk I/O (abandonInflight): no backend could answer that.
  if (end.cause === 'host-gone') return;
  const owed = signed(end.unanswered);
  const what = `blkback released ring ${end.index} (instance ${end.serial}) at ${CALLER[end.cause]} ${teardownWords(world)}`;
  if (owed > 0) {
    const ids = end.owedIds.length > 0 ? ` (ids ${end.owedIds.join(', ')})` : '';
    out.push({
      code: CODE,
      step: world.stepCount,
      ring: end.index,
      ...(end.owedIds.length > 0 ? { requestId: end.owedIds[0] } : {}),
      message: `${what} with ${owed} consumed request${owed === 1 ? '' : 's'} never answered${ids}, left to blkfront to fail or requeue`,
    });
  } else if (owed < 0) {
    out.push({
      code: CODE,
      step: world.stepCount,
      ring: end.index,
      message: `${what} having answered ${-owed} more requests than it consumed`,
    });
  }
  if (end.unpublished > 0)
    out.push({
      code: CODE,
      step: world.stepCount,
      ring: end.index,
      message: `${what} with ${end.unpublished} responses made but never published (rsp_prod behind rsp_prod_pvt)`,
    });
}

/**
 * While a ring lives: what its indices say it owes (req_cons - rsp_prod_pvt) is what it still
 * holds for those requests (pending requests in flight, the barrier drain_io holds, the copy not
 * dispatched yet), so a request dropped without its response is seen at the step that drops it.
 */
function liveRings(world: World, out: Violation[]): void {
  for (const ring of world.host.back.rings) {
    const b = ring.back;
    const owed = signed(ringIdxDistance(b.rspProdPvt, b.reqCons));
    const held =
      ring.inflight.size + (ring.barrier !== undefined ? 1 : 0) + (ring.held !== undefined ? 1 : 0);
    if (owed !== held)
      out.push({
        code: CODE,
        step: world.stepCount,
        ring: ring.index,
        message: `blkback ring ${ring.index} consumed up to req_cons ${b.reqCons} and answered up to rsp_prod_pvt ${b.rspProdPvt} (${owed} owed) but holds ${held} requests in flight, draining or copied`,
      });
  }
}

class AnsweredChecker implements InvariantChecker {
  /** How far into world.ringEnds this checker has judged. */
  private seen = 0;

  check(world: World, _ledger: Ledger): readonly Violation[] {
    const out: Violation[] = [];
    const ends = world.ringEnds;
    for (; this.seen < ends.length; this.seen++) judgeEnd(world, ends[this.seen]!, out);
    liveRings(world, out);
    return out;
  }
}

export const answered: Invariant = {
  code: CODE,
  phase: 'step',
  summary:
    'every request a backend ring consumed is answered once before the ring is released (honest peers)',
  when: honestRun,
  start: () => new AnsweredChecker(),
};
