// The per-ring grant list (rinfo->grants) and its conservation: entries only move between this
// ring's list and this ring's in-flight shadows, never to another ring (Bob Liu's per-ring split).
import { assert, maybe } from '../assert.ts';
import { isRingSize } from '../xen/ring-index.ts';
import type { GrantSlot, RingInfo } from './ring-info.ts';
import { INVALID_GRANT_REF } from './ring-info.ts';

/** Put an entry back: a valid reference at the head (reused first), an ended one at the tail. */
export function returnGrantSlot(rinfo: RingInfo, slot: GrantSlot): void {
  maybe(slot.ref !== INVALID_GRANT_REF);
  if (slot.ref !== INVALID_GRANT_REF) {
    rinfo.persistentSlots.push(slot);
    rinfo.persistentGntsC += 1;
    assert(
      rinfo.persistentGntsC === rinfo.persistentSlots.length,
      'ring %s: persistent_gnts_c disagrees with the list',
      rinfo.index,
    );
  } else {
    rinfo.unusedSlots.push(slot);
  }
}

/** Grant entries per ring: (G + ceil(G/512)) x ring entries, G = segments per request. */
export function grantSlotCountFor(segmentsPerRequest: number, ringSize: number): number {
  assert(Number.isInteger(segmentsPerRequest) && segmentsPerRequest >= 1, 'segments per request');
  assert(isRingSize(ringSize), 'grant entries for ring size %s', ringSize);
  return (segmentsPerRequest + Math.ceil(segmentsPerRequest / 512)) * ringSize;
}
