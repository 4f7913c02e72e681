// How the adversary names the rings it hits: the frontend's by position in the device, the
// backend's by ring number (a disconnect keeps only busy rings, so their positions shift).
import { assert } from '../../assert.ts';
import type { BackRingState } from '../../blkback/back-ring.ts';
import type { RingInfo } from '../../blkfront/ring-info.ts';
import type { World } from '../world.ts';

/** A backend ring by its number, or undefined when no ring of that number is connected. */
export function backRingNumbered(world: World, ring: number): BackRingState | undefined {
  assert(Number.isInteger(ring) && ring >= 0, 'a ring number');
  return world.host.back.rings.find((r) => r.index === ring);
}

/** The frontend ring an attack targeted: its target check guaranteed the ring is there. */
export function targetFrontRing(world: World, ring: number): RingInfo {
  const rinfo = world.front.device.rings[ring];
  assert(rinfo !== undefined, 'an attack on a frontend ring is enabled only while it exists');
  return rinfo;
}

/** The backend ring an attack targeted by number: its target check found it connected. */
export function targetBackRing(world: World, ring: number): BackRingState {
  const back = backRingNumbered(world, ring);
  assert(back !== undefined, 'an attack on a backend ring is enabled only while it is connected');
  return back;
}

/** From `start` on (cyclically), the number of the first backend ring with a request in flight. */
export function firstBusyBackRing(
  rings: readonly BackRingState[],
  start: number,
): number | undefined {
  assert(Number.isInteger(start) && start >= 0, 'a spec ring selector is a natural number');
  for (let k = 0; k < rings.length; k++) {
    const ring = rings[(start + k) % rings.length]!;
    if (ring.inflight.size > 0) return ring.index;
  }
  return undefined;
}
