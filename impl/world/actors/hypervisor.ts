// The hypervisor's one action: a pending event channel reaches its handler (evtchn_2l's upcall).
// Sends before delivery coalesce into one pending bit, which is the race this granularity keeps.
import { BACKEND_DOMID } from '../../../model/xenstore-paths.ts';
import { assert } from '../../assert.ts';
import { wake } from '../../blkback/ring-worker.ts';
import type { Action } from '../action.ts';
import type { ActionOf, ActorModule } from '../kinds.ts';
import { guestRuns, type World } from '../world.ts';
import { backRing } from './blkback.ts';

function deliverEvent(world: World, action: ActionOf<'hypervisor', 'deliverEvent'>): void {
  if (action.side === 'blkback') {
    const ring = backRing(world, action.ring);
    const delivered = world.evtchn.deliver(BACKEND_DOMID, ring.port);
    assert(delivered, 'backend ring %s: event delivered while not pending', action.ring);
    // lateeoi_ack_dynirq: masked until the ring thread's xen_irq_lateeoi (XSA-332).
    world.evtchn.mask(BACKEND_DOMID, ring.port);
    // xen_blkif_be_int: wake the ring thread.
    wake(ring);
    return;
  }
  const rinfo = world.front.device.rings[action.ring];
  assert(rinfo !== undefined, 'frontend ring %s exists', action.ring);
  assert(guestRuns(world), 'frontend ring %s: an upcall into a frozen guest', action.ring);
  const delivered = world.evtchn.deliver(world.guestDomid, rinfo.port);
  assert(delivered, 'frontend ring %s: event delivered while not pending', action.ring);
  // Late EOI (XSA-391): the channel stays masked until the handler ends.
  world.evtchn.mask(world.guestDomid, rinfo.port);
  rinfo.irq = 'responses';
  rinfo.eoiSpurious = true; // blkif_interrupt: eoiflag = XEN_EOI_FLAG_SPURIOUS
}

/** xen_irq_lateeoi_worker: the delay of a late EOI after spurious events is over. */
function lateEoiExpired(world: World, action: ActionOf<'hypervisor', 'lateEoiExpired'>): void {
  if (action.side === 'blkback') {
    // The backend domain's events core: the same xen_irq_lateeoi_worker, for a ring thread's EOI.
    world.evtchn.lateEoiExpired(BACKEND_DOMID, backRing(world, action.ring).port);
    return;
  }
  const rinfo = world.front.device.rings[action.ring];
  assert(rinfo !== undefined, 'frontend ring %s exists', action.ring);
  world.evtchn.lateEoiExpired(world.guestDomid, rinfo.port);
}

export const HYPERVISOR: ActorModule<'hypervisor'> = {
  actor: 'hypervisor',
  kinds: {
    deliverEvent: {
      perform: deliverEvent,
      describe: (a) => `hypervisor delivers the event of ${a.side} ring ${a.ring}`,
      faultStart: false,
    },
    lateEoiExpired: {
      perform: lateEoiExpired,
      describe: (a) => `${a.side} ring ${a.ring}: the delayed late EOI unmasks the channel`,
      faultStart: false,
    },
  },
};

/**
 * Every delayed late EOI whose timer can fire and every pending, unmasked channel: the backend's
 * rings first, then the guest's (while it runs).
 */
export function deliverEnabled(world: World, out: Action[]): void {
  const evtchn = world.evtchn;
  const cache = world.actionCache;
  // Most steps leave no event pending: one count per domain spares a look at every port.
  if (evtchn.anyEoiDelayed(BACKEND_DOMID)) {
    for (const ring of world.host.back.rings)
      if (evtchn.isEoiDelayed(BACKEND_DOMID, ring.port))
        out.push(cache.ring('blkback', 'lateEoiExpired', ring.index));
  }
  if (evtchn.anyPending(BACKEND_DOMID)) {
    for (const ring of world.host.back.rings)
      if (evtchn.isDeliverable(BACKEND_DOMID, ring.port))
        out.push(cache.ring('blkback', 'deliverEvent', ring.index));
  }
  const guest = world.guestDomid;
  if (guestRuns(world) && evtchn.anyEoiDelayed(guest)) lateEoiEnabled(world, out);
  if (!guestRuns(world) || !evtchn.anyPending(guest)) return;
  for (const rinfo of world.front.device.rings)
    if (evtchn.isDeliverable(guest, rinfo.port))
      out.push(cache.ring('blkfront', 'deliverEvent', rinfo.index));
}

/** A late EOI the guest kernel delayed (spurious events in a row): its timer can fire. */
function lateEoiEnabled(world: World, out: Action[]): void {
  assert(guestRuns(world), 'the guest kernel runs its lateeoi worker only while it runs');
  for (const rinfo of world.front.device.rings)
    if (world.evtchn.isEoiDelayed(world.guestDomid, rinfo.port))
      out.push(world.actionCache.ring('blkfront', 'lateEoiExpired', rinfo.index));
}
