// Invariant 16: at quiescence nothing is left unconsumed on any ring. If the fair drain stops with
// a request the backend never took, or a response the frontend never processed, someone went to
// sleep without seeing the other side's push.
import { reqProd, rspProd } from '../../impl/xen/shared-ring.ts';
import { ringIdxDistance } from '../../impl/xen/ring-index.ts';
import { guestRuns } from '../../impl/world/world.ts';
import { stateless } from './invariant.ts';
import { honestRun } from './runs.ts';
import type { Violation } from './violation.ts';

export const lostWakeup = stateless({
  code: 'lost-wakeup',
  phase: 'quiescence',
  when: honestRun,
  summary: 'at quiescence no ring holds an unconsumed request or response',
  check(world) {
    const out: Violation[] = [];
    for (const ring of world.host.back.rings) {
      const left = ringIdxDistance(ring.back.reqCons, reqProd(ring.back.sring));
      if (!ring.halted && left > 0) {
        out.push({
          code: 'lost-wakeup',
          step: world.stepCount,
          ring: ring.index,
          message: `backend ring thread sleeps with ${left} unconsumed requests (req_prod ${reqProd(ring.back.sring)}, req_cons ${ring.back.reqCons}, req_event ${ring.back.sring.view.getUint32(4, true)})`,
        });
      }
    }
    const dev = world.front.device;
    if (dev.connection !== 'connected' || !guestRuns(world)) return out;
    for (const rinfo of dev.rings) {
      const left = ringIdxDistance(rinfo.front.rspCons, rspProd(rinfo.front.sring));
      if (left > 0) {
        out.push({
          code: 'lost-wakeup',
          step: world.stepCount,
          ring: rinfo.index,
          message: `frontend ring idles with ${left} unprocessed responses (rsp_prod ${rspProd(rinfo.front.sring)}, rsp_cons ${rinfo.front.rspCons})`,
        });
      }
    }
    return out;
  },
});
