// The backend's half of XSA-332/391, judged for a hostile frontend: blkback's ring thread binds
// its channel with a late EOI (bind_interdomain_evtchn_to_irqhandler_lateeoi), ends each pass an
// event started with xen_irq_lateeoi(ring->irq, eoi_flags), flagged spurious when the pass saw
// no request, and after RING_REQUEST_PROD_OVERFLOW (-EACCES) sends no EOI at all. Judged per
// backend ring instance (its serial: a release and a new map of the same page is a new ring
// with a new channel) from its indices and the channel's mask bit, never from the driver's flags.
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import type { World } from '../../impl/world/world.ts';
import type { Frame } from '../../impl/xen/memory.ts';
import type { RingIdx } from '../../impl/xen/ring-index.ts';
import { BACKEND_DOMID } from '../../model/xenstore-paths.ts';
import type { Violation } from './violation.ts';

/**
 * The guest frame a backend ring's page starts at: what blkback mapped through its first
 * ring-ref (read back from the grant, which blkfront cannot end while it is mapped).
 */
export function backRingFrame(world: World, ring: BackRingState): Frame | undefined {
  const ref = ring.ringRefs[0];
  return ref === undefined ? undefined : world.guestGnttab.entry(ref)?.frame;
}

/** One backend ring's passes as the judge saw them after the previous step. */
export interface BackPasses {
  /** A pass an event started is under way (its late EOI owed). */
  readonly running: boolean;
  /** req_cons at the last late EOI (or when the ring was first seen). */
  readonly eoiCons: RingIdx;
  /** Passes in a row, each ended by its EOI, that consumed no request. */
  readonly spurious: number;
}

function violation(world: World, ring: number, message: string): Violation {
  return { code: 'honest-side', step: world.stepCount, ring, message };
}

/**
 * xen_blkif_schedule: eoi_flags starts XEN_EOI_FLAG_SPURIOUS, __do_block_io_op clears it at the
 * first request it sees, and after each late EOI it is set again; xen_irq_lateeoi_locked keeps
 * the channel masked from the second spurious EOI in a row. A pass that moved no req_cons since
 * the last EOI is spurious, and right after the second in a row the channel must be masked.
 */
export function backendSpuriousThrottled(
  world: World,
  before: ReadonlyMap<number, BackPasses>,
  out: Violation[],
): Map<number, BackPasses> {
  const seen = new Map<number, BackPasses>();
  for (const ring of world.host.back.rings) {
    const key = ring.serial;
    const cons = ring.back.reqCons;
    const last = before.get(key) ?? { running: false, eoiCons: cons, spurious: 0 };
    const running = ring.eoiOwed;
    let now: BackPasses = { ...last, running };
    if (last.running && !running) {
      const spurious = cons === last.eoiCons ? last.spurious + 1 : 0;
      now = { running, eoiCons: cons, spurious };
      const masked = world.evtchn.isMasked(BACKEND_DOMID, ring.port);
      if (spurious >= 2 && !masked && !ring.halted) {
        out.push(
          violation(
            world,
            ring.index,
            `blkback ended ${spurious} passes in a row that saw no request on ring ${ring.index} and the channel was unmasked at once (no XEN_EOI_FLAG_SPURIOUS throttling)`,
          ),
        );
      }
    }
    seen.set(key, now);
  }
  return seen;
}

/**
 * __do_block_io_op's -EACCES: the thread waits for kthread_stop and skips its late EOI, so a
 * halted ring whose channel was masked (a pass an event started) stays masked: the guest's
 * further events reach no handler. `before` holds each ring's mask bit after the previous step.
 */
export function noEoiAfterHalt(
  world: World,
  before: ReadonlyMap<number, boolean>,
  out: Violation[],
): Map<number, boolean> {
  const seen = new Map<number, boolean>();
  for (const ring of world.host.back.rings) {
    const key = ring.serial;
    const masked = world.evtchn.isMasked(BACKEND_DOMID, ring.port);
    if (ring.halted && !ring.stopped && before.get(key) === true && !masked) {
      out.push(
        violation(
          world,
          ring.index,
          `blkback re-enabled the event channel of ring ${ring.index} after halting it over req_prod (a late EOI after -EACCES)`,
        ),
      );
    }
    seen.set(key, masked);
  }
  return seen;
}
