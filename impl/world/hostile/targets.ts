// Where an attack can land now: each returns the ring it would hit (a frontend ring's position
// in the device, or a backend ring's number), or undefined when it has nothing to hit — then the
// attack is not enabled. A spec's ring is taken modulo the rings there are (fast-check's "by
// position modulo what is available"), so a shrunk spec still names a ring.
import { IN_CALLBACK } from '../../../model/events.ts';
import { BE } from '../../../model/xenstore-keys.ts';
import { BACKEND_DOMID, backendPath } from '../../../model/xenstore-paths.ts';
import { assert } from '../../assert.ts';
import { ringIdxDistance } from '../../xen/ring-index.ts';
import { freeRequests, rspProd } from '../../xen/shared-ring.ts';
import type { World } from '../world.ts';
import { queriedUnmapped, replayable } from './backend-writes.ts';
import { unparsedIndirect } from './frontend-writes.ts';
import type { AttackSpec, HostileSide } from './plan.ts';
import { firstBusyBackRing } from './rings.ts';

/** `spec.ring` modulo the `count` rings there are, or undefined when there are none. */
function pick(spec: AttackSpec, count: number): number | undefined {
  assert(Number.isInteger(count) && count >= 0, 'a ring count');
  return count === 0 ? undefined : spec.ring % count;
}

/** Any frontend ring. */
export function anyFrontRing(world: World, spec: AttackSpec): number | undefined {
  const count = world.front.device.rings.length;
  const ring = pick(spec, count);
  assert(ring === undefined || ring < count, 'a position in the device’s rings');
  return ring;
}

/** Any frontend ring, while connected (blkfront reads responses only then). */
export function connectedFrontRing(world: World, spec: AttackSpec): number | undefined {
  if (world.front.device.connection !== 'connected') return undefined;
  const ring = anyFrontRing(world, spec);
  assert(ring === undefined || world.front.device.rings[ring] !== undefined, 'an existing ring');
  return ring;
}

/** A frontend ring with a free slot: the guest publishes through its own producer index. */
export function frontRingWithFreeSlot(world: World, spec: AttackSpec): number | undefined {
  const ring = anyFrontRing(world, spec);
  if (ring === undefined) return undefined;
  const rinfo = world.front.device.rings[ring];
  assert(rinfo !== undefined, 'picked among the device’s rings');
  return freeRequests(rinfo.front) > 0 ? ring : undefined;
}

/** Any backend ring position, used as a ring number (after a disconnect the two may differ). */
export function anyBackRing(world: World, spec: AttackSpec): number | undefined {
  const count = world.host.back.rings.length;
  const ring = pick(spec, count);
  assert(ring === undefined || ring < count, 'below the number of backend rings');
  return ring;
}

/** The first busy backend ring from the spec's on: one with a request in flight. */
export function busyBackRing(world: World, spec: AttackSpec): number | undefined {
  const ring = firstBusyBackRing(world.host.back.rings, spec.ring);
  assert(
    ring === undefined || world.host.back.rings.some((r) => r.index === ring),
    'a connected ring',
  );
  return ring;
}

/** A busy backend ring, while the frontend is connected (it reads the responses then). */
export function connectedBusyBackRing(world: World, spec: AttackSpec): number | undefined {
  const connected = world.front.device.connection === 'connected';
  const ring = connected ? busyBackRing(world, spec) : undefined;
  assert(ring === undefined || connected, 'only while connected');
  return ring;
}

/** A backend ring whose answered slots still hold a response nothing waits for. */
export function replayableBackRing(world: World, spec: AttackSpec): number | undefined {
  if (world.front.device.connection !== 'connected' || !world.host.workersStarted) return undefined;
  const ring = anyBackRing(world, spec);
  if (ring === undefined || replayable(world, ring, spec.value) === undefined) return undefined;
  assert(world.front.device.rings[ring] !== undefined, 'a frontend ring of that number reads it');
  return ring;
}

/** Before blkfront read the backend's features (talk_to_blkback): a lie still matters. */
/** The backend's directory is there to write (its device not unregistered). */
export function backendDirPresent(world: World): number | undefined {
  const back = world.host.back;
  assert(world.host.index >= 0, 'a host of the plan');
  return back.removed ? undefined : 0;
}

/**
 * A paced adversary's moment (plan.paced): the honest driver of the other side is bound, has
 * fired every watch event queued for it, and is in no callback or transaction: it has reacted
 * to everything written so far.
 */
export function honestSideSettled(world: World, hostile: HostileSide): boolean {
  const honest = hostile === 'blkback' ? world.front : world.host.back;
  const domid = hostile === 'blkback' ? world.guestDomid : BACKEND_DOMID;
  return (
    honest.snapshot.context.bound &&
    !honest.snapshot.hasTag(IN_CALLBACK) &&
    honest.tx === undefined &&
    world.xs.pendingWatchCount(domid) === 0
  );
}

export function beforeFeaturesRead(world: World): number | undefined {
  const back = world.host.back;
  return back.removed || world.front.hasDisk ? undefined : 0;
}

/** The frontend has written ring keys the backend has not read yet (connect_ring is ahead). */
export function beforeKeysRead(world: World): number | undefined {
  const back = world.host.back;
  const unread = world.front.device.rings.length > 0 && back.rings.length === 0 && !back.removed;
  return unread ? 0 : undefined;
}

/** A frontend ring whose keys the backend has not read yet. */
export function frontRingBeforeKeysRead(world: World, spec: AttackSpec): number | undefined {
  if (beforeKeysRead(world) === undefined) return undefined;
  const ring = anyFrontRing(world, spec);
  assert(ring !== undefined, 'keys are written only for rings that exist');
  return ring;
}

/**
 * blkback wrote the device keys (connect()'s transaction committed) and blkfront has not
 * gathered them yet: a deleted or garbled key is what blkfront_connect reads.
 */
export function beforeDeviceInfoRead(world: World): number | undefined {
  if (beforeFeaturesRead(world) === undefined) return undefined;
  const sectors = world.xs.read(BACKEND_DOMID, `${backendPath(world.guestDomid)}/${BE.sectors}`);
  return sectors.ok ? 0 : undefined;
}

/** A connected frontend ring with a published response it has not copied (within one ring). */
export function frontRingWithUnreadResponse(world: World, spec: AttackSpec): number | undefined {
  const ring = connectedFrontRing(world, spec);
  if (ring === undefined) return undefined;
  const front = world.front.device.rings[ring]!.front;
  const unread = ringIdxDistance(front.rspCons, rspProd(front.sring));
  return unread >= 1 && unread <= front.size ? ring : undefined;
}

/** From the spec's ring on (cyclically), a backend ring with an indirect request not parsed yet. */
export function ringWithUnparsedIndirect(world: World, spec: AttackSpec): number | undefined {
  const rings = world.host.back.rings;
  assert(Number.isInteger(spec.ring) && spec.ring >= 0, 'a spec ring selector');
  for (let k = 0; k < rings.length; k++) {
    const ring = rings[(spec.ring + k) % rings.length]!;
    if (!ring.halted && unparsedIndirect(world, ring.index).length > 0) return ring.index;
  }
  return undefined;
}

/**
 * A connected frontend ring with a published response it has not copied (within one ring), or
 * with the copy blkif_interrupt holds between RING_COPY_RESPONSE and processing it.
 */
export function frontRingWithUnreadOrHeldResponse(
  world: World,
  spec: AttackSpec,
): number | undefined {
  const unread = frontRingWithUnreadResponse(world, spec);
  if (unread !== undefined) return unread;
  const ring = connectedFrontRing(world, spec);
  if (ring === undefined) return undefined;
  const rinfo = world.front.device.rings[ring];
  assert(rinfo !== undefined, 'picked among the device’s rings');
  return rinfo.held !== undefined ? ring : undefined;
}

/** A connected frontend ring whose channel is not pending: a notify there is a new event. */
export function frontRingNotPending(world: World, spec: AttackSpec): number | undefined {
  const ring = connectedFrontRing(world, spec);
  if (ring === undefined) return undefined;
  const rinfo = world.front.device.rings[ring];
  assert(rinfo !== undefined, 'picked among the device’s rings');
  return world.evtchn.isPending(world.guestDomid, rinfo.port) ? undefined : ring;
}

/**
 * From the spec's ring on (cyclically), a frontend ring whose completion queried its grants and
 * has not ended access yet, with a queried grant still unmapped (XSA-396's window).
 */
export function frontRingRevoking(world: World, spec: AttackSpec): number | undefined {
  const rings = world.front.device.rings;
  assert(Number.isInteger(spec.ring) && spec.ring >= 0, 'a spec ring selector');
  for (let k = 0; k < rings.length; k++) {
    const at = (spec.ring + k) % rings.length;
    if (queriedUnmapped(world, rings[at]!).length > 0) return at;
  }
  return undefined;
}

/** A frontend ring whose channel's backend end is bound and not pending: a notify is a new event. */
export function frontRingPeerNotPending(world: World, spec: AttackSpec): number | undefined {
  const ring = anyFrontRing(world, spec);
  if (ring === undefined) return undefined;
  const rinfo = world.front.device.rings[ring];
  assert(rinfo !== undefined, 'picked among the device’s rings');
  const peer = world.evtchn.peerOf(world.guestDomid, rinfo.port);
  if (peer === undefined || world.evtchn.isPending(peer.dom, peer.port)) return undefined;
  return ring;
}
