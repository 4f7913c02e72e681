// blkfront's actions (drivers/block/xen-blkfront.c): its probe and transaction commit on the
// xenbus side, and per ring blk-mq's dispatch into blkif_queue_rq, the interrupt handler and
// its final check. The data-plane routines themselves are the Drivers table's (drivers.ts).
import { IN_CALLBACK } from '../../../model/events.ts';
import { XenbusState } from '../../../model/xenbus-state.ts';
import { frontendPath } from '../../../model/xenstore-paths.ts';
import { assert, unreachable } from '../../assert.ts';
import type { RingInfo } from '../../blkfront/ring-info.ts';
import { ringFull } from '../../xen/shared-ring.ts';
import type { Action } from '../action.ts';
import type { ActionOf, ActorModule } from '../kinds.ts';
import { guestRuns, type World } from '../world.ts';
import { commit, probe, readState } from '../xenbus.ts';

const PROBE: Action = { actor: 'blkfront', kind: 'probe' };
const COMMIT: Action = { actor: 'blkfront', kind: 'commitTransaction' };
const PURGE: Action = { actor: 'blkfront', kind: 'purgePersistent' };

function frontRing(world: World, index: number): RingInfo {
  const rinfo = world.front.device.rings[index];
  assert(rinfo !== undefined, 'frontend ring %s exists', index);
  return rinfo;
}

/**
 * blk-mq dispatches the head of a hardware queue to blkif_queue_rq, which holds the ring lock:
 * build, publish and notify are atomic with respect to the same ring's interrupt handler, not
 * with respect to the backend.
 */
function queueRequest(world: World, action: ActionOf<'blkfront', 'queueRequest'>): void {
  const dev = world.front.device;
  const rinfo = frontRing(world, action.ring);
  const request = rinfo.dispatch[0];
  assert(request !== undefined, 'blk-mq dispatches the head of a non-empty queue');
  assert(!rinfo.stopped, 'ring %s: blk-mq dispatches to a stopped queue', action.ring);
  const queued = rinfo.dispatch.length;
  const result = world.drivers.blkfront.queueRequest(dev, rinfo, request, world.front.env);
  if (result.kind === 'busy') {
    // BLK_STS_DEV_RESOURCE: the hardware queue stops until a completion restarts it.
    rinfo.stopped = true;
    return;
  }
  rinfo.dispatch.shift();
  assert(rinfo.dispatch.length === queued - 1, 'ring %s: dispatch took more than one', action.ring);
  if (result.kind === 'failed') world.front.env.complete(request, 'error');
  else
    world.observe?.({
      kind: 'request',
      ring: action.ring,
      id: result.id,
      what: `queued request ${request.tag}`,
    });
}

/**
 * blkif_interrupt up to the rsp_prod it read; the backend may push more meanwhile. The same
 * routine takes the end-access half of a split completion first (endForeignAccess).
 */
function processResponses(
  world: World,
  action: ActionOf<'blkfront', 'processResponses' | 'endForeignAccess'>,
): void {
  const rinfo = frontRing(world, action.ring);
  assert(rinfo.irq === 'responses', 'the handler runs after a delivered event');
  assert(
    (action.kind === 'endForeignAccess') === (rinfo.revoking !== undefined),
    'ring %s: end access exactly when a completion is split',
    action.ring,
  );
  const result = world.drivers.blkfront.processResponses(
    world.front.device,
    rinfo,
    world.front.env,
  );
  switch (result) {
    case 'finalCheck':
      rinfo.irq = 'finalCheck';
      return;
    case 'revoking':
      // A completion queried its grants; their end is the handler's next step on this ring.
      assert(rinfo.revoking !== undefined, 'ring %s: revoking without a completion', action.ring);
      return;
    case 'holding':
      // A copied response waits for its processing: the handler's next step on this ring.
      assert(rinfo.held !== undefined, 'ring %s: holding without a copy', action.ring);
      return;
    case 'error':
      // Linux: no EOI after a protocol violation, so the channel stays masked.
      rinfo.irq = 'idle';
      return;
    case 'ignored':
    case 'idle':
      endInterrupt(world, rinfo);
      return;
    default:
      unreachable(result, 'blkif_interrupt ended in an unknown way');
  }
}

/** RING_FINAL_CHECK_FOR_RESPONSES: races with the backend's push-and-check. */
function finalCheck(world: World, action: ActionOf<'blkfront', 'finalCheck'>): void {
  const rinfo = frontRing(world, action.ring);
  assert(rinfo.irq === 'finalCheck', 'the final check follows the response loop');
  if (world.drivers.blkfront.finalCheck(world.front.device, rinfo, world.front.env))
    rinfo.irq = 'responses';
  else endInterrupt(world, rinfo);
  assert(rinfo.irq !== 'finalCheck', 'ring %s: the final check ran again', action.ring);
}

/** The late EOI unmasks the channel; kick_pending_request_queues restarts a stopped queue. */
function endInterrupt(world: World, rinfo: RingInfo): void {
  assert(rinfo.irq !== 'idle', 'ring %s: EOI without a handler running', rinfo.index);
  rinfo.irq = 'idle';
  // xen_irq_lateeoi(irq, eoiflag): spurious when the handler processed no response.
  world.evtchn.lateEoi(world.guestDomid, rinfo.port, rinfo.eoiSpurious);
  if (rinfo.stopped && !ringFull(rinfo.front)) rinfo.stopped = false;
}

export const BLKFRONT: ActorModule<'blkfront'> = {
  actor: 'blkfront',
  kinds: {
    // xenbus probes the driver, which binds and watches the backend's state.
    probe: {
      perform: (world) => probe(world, 'blkfront'),
      describe: () => 'blkfront probe',
      faultStart: false,
    },
    queueRequest: {
      perform: queueRequest,
      describe: (a) => `blkfront ring ${a.ring}: blkif_queue_rq`,
      faultStart: false,
    },
    processResponses: {
      perform: processResponses,
      describe: (a) => `blkfront ring ${a.ring}: blkif_interrupt processes responses`,
      faultStart: false,
    },
    // The end of access after blkif_completion's grant queries, when a completion splits them.
    endForeignAccess: {
      perform: processResponses,
      describe: (a) => `blkfront ring ${a.ring}: blkif_completion ends foreign access`,
      faultStart: false,
    },
    finalCheck: {
      perform: finalCheck,
      describe: (a) => `blkfront ring ${a.ring}: final check`,
      faultStart: false,
    },
    // blkfront_delay_work: purge_persistent_grants over every ring. Taking it stands for the
    // 10 s passing, the scheduler's choice; nothing waits for it, so the drain never does.
    purgePersistent: {
      perform: (world) => {
        world.drivers.blkfront.purgePersistentGrants(world.front.device, world.front.env);
        world.front.persistentPurgeDue = false;
      },
      describe: () => 'blkfront delayed work: purge_persistent_grants',
      faultStart: true,
    },
    // talk_to_blkback's commit: other writers may conflict until then (EAGAIN).
    commitTransaction: {
      perform: (world) => commit(world, 'blkfront'),
      describe: () => 'blkfront commits its xenstore transaction',
      faultStart: false,
    },
  },
};

/** The open transaction of talk_to_blkback can commit while the guest runs. */
export function commitEnabled(world: World, out: Action[]): void {
  if (guestRuns(world) && world.front.tx !== undefined) out.push(COMMIT);
}

/**
 * xenbus probes a fresh frontend directory (once; resume does not probe again); after a kexec,
 * only once xenbus_reset_frontend is done.
 */
export function probeEnabled(world: World, out: Action[]): void {
  if (!guestRuns(world) || world.front.probed || world.front.resetAwaits !== undefined) return;
  const state = readState(world.xs, world.guestDomid, frontendPath(world.guestDomid));
  if (state === XenbusState.Initialising) out.push(PROBE);
}

/** Per ring, one of: the handler's response loop, its final check, or a dispatch. */
export function ringWorkEnabled(world: World, out: Action[]): void {
  if (!guestRuns(world)) return;
  const dev = world.front.device;
  const cache = world.actionCache;
  for (const rinfo of dev.rings) {
    if (rinfo.revoking !== undefined)
      out.push(cache.ring('blkfront', 'endForeignAccess', rinfo.index));
    else if (rinfo.irq === 'responses')
      out.push(cache.ring('blkfront', 'processResponses', rinfo.index));
    else if (rinfo.irq === 'finalCheck')
      out.push(cache.ring('blkfront', 'finalCheck', rinfo.index));
    else if (dev.connection === 'connected' && !rinfo.stopped && rinfo.dispatch.length > 0)
      out.push(cache.ring('blkfront', 'queueRequest', rinfo.index));
  }
}

/**
 * blkfront_delay_work runs purge_persistent_grants while feature_persistent is negotiated; it is
 * offered once the backend unmapped persistent grants since its last run (else it ends nothing),
 * with some ring keeping one, and not while a ring's handler holds its lock (the model's split
 * final check or completion). A hostile guest runs no blkfront.
 */
export function purgeEnabled(world: World, out: Action[]): void {
  const dev = world.front.device;
  if (!world.front.persistentPurgeDue || !dev.features.persistent || !guestRuns(world)) return;
  if (world.config.hostile?.side === 'blkfront') return;
  let kept = false;
  for (const rinfo of dev.rings) {
    if (rinfo.irq === 'finalCheck' || rinfo.revoking !== undefined) return;
    if (rinfo.persistentGntsC > 0) kept = true;
  }
  if (kept) out.push(PURGE);
}

/** The watch thread takes the frontend's next watch event unless a callback is still running. */
export function frontendWatchPending(world: World): boolean {
  return (
    guestRuns(world) &&
    !world.front.snapshot.hasTag(IN_CALLBACK) &&
    world.xs.pendingWatchCount(world.guestDomid) > 0
  );
}
