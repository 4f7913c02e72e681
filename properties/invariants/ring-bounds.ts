// Invariants 11-13 of the reference: per ring, the private indices stay within one ring of each
// other and consumers never pass the producer index they read, across the 2^32 wrap.
import { reqProd, rspProd } from '../../impl/xen/shared-ring.ts';
import { ringIdxDistance } from '../../impl/xen/ring-index.ts';
import { stateless } from './invariant.ts';
import { honestRun } from './runs.ts';
import type { Violation } from './violation.ts';

export const ringBounds = stateless({
  code: 'ring-bounds',
  phase: 'step',
  when: honestRun,
  summary: 'never more outstanding than the ring holds; consumers never pass producers',
  check(world) {
    const out: Violation[] = [];
    const step = world.stepCount;
    const dev = world.front.device;
    // A frontend that marked the device broken stops trusting (and using) the ring.
    if (dev.connection !== 'error') {
      for (const rinfo of dev.rings) {
        const f = rinfo.front;
        const outstanding = ringIdxDistance(f.rspCons, f.reqProdPvt);
        if (outstanding > f.size) {
          out.push({
            code: 'ring-bounds',
            step,
            ring: rinfo.index,
            message: `frontend has ${outstanding} requests outstanding (req_prod_pvt ${f.reqProdPvt}, rsp_cons ${f.rspCons}) on a ${f.size}-slot ring`,
          });
        }
        const published = reqProd(f.sring);
        if (published !== f.reqProdPvt && rinfo.irq === 'idle') {
          // Which way it is off tells a reviewer the bug: unpublished requests, or a req_prod
          // naming slots the frontend never filled (across the wrap, the nearer direction).
          const behind = ringIdxDistance(published, f.reqProdPvt) <= f.size;
          out.push({
            code: 'ring-bounds',
            step,
            ring: rinfo.index,
            message: behind
              ? `frontend left req_prod ${published} behind req_prod_pvt ${f.reqProdPvt}: requests built but never published`
              : `frontend published req_prod ${published} ahead of req_prod_pvt ${f.reqProdPvt}: slots published that hold no request`,
          });
        }
      }
    }
    for (const ring of world.host.back.rings) {
      const b = ring.back;
      if (ring.halted) continue;
      const prod = reqProd(b.sring);
      if (ringIdxDistance(b.rspProdPvt, b.reqCons) > b.size) {
        out.push({
          code: 'ring-bounds',
          step,
          ring: ring.index,
          message: `backend consumed ${ringIdxDistance(b.rspProdPvt, b.reqCons)} requests it has no response slot for (req_cons ${b.reqCons}, rsp_prod_pvt ${b.rspProdPvt})`,
        });
      }
      if (ringIdxDistance(b.reqCons, prod) > b.size) {
        out.push({
          code: 'ring-bounds',
          step,
          ring: ring.index,
          message: `backend req_cons ${b.reqCons} passed the frontend's req_prod ${prod}`,
        });
      }
      if (ringIdxDistance(b.rspProdPvt, rspProd(b.sring)) !== 0) {
        out.push({
          code: 'ring-bounds',
          step,
          ring: ring.index,
          message: `backend rsp_prod ${rspProd(b.sring)} differs from rsp_prod_pvt ${b.rspProdPvt} after a step`,
        });
      }
    }
    return out;
  },
});
