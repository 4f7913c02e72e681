// RING_IDX of xen/include/public/io/ring.h: an unsigned 32-bit counter that runs freely and
// wraps. Producer and consumer indices are never masked; only the slot is (`slotOf`). Every
// difference is taken modulo 2^32, so the arithmetic stays right across the wrap, which a guest
// reaches after 2^32 requests on one ring (mirage's shared-memory-ring used native ints and
// would not). Numbers here are JS doubles holding uint32 values; `>>> 0` is the wrap.
import { assert } from '../assert.ts';

export type RingIdx = number & { readonly __brand: 'RingIdx' };
export type SlotIndex = number & { readonly __brand: 'SlotIndex' };

/** 2^32: the modulus of RING_IDX arithmetic. */
export const RING_IDX_MODULUS = 0x1_0000_0000;

/** Any number to RING_IDX, keeping its low 32 bits (C's conversion to unsigned int). */
export function ringIdx(n: number): RingIdx {
  assert(Number.isInteger(n), 'RING_IDX of %s, which is no integer', n);
  return (n >>> 0) as RingIdx;
}

/** a + n modulo 2^32; n may be negative. */
export function ringIdxAdd(a: RingIdx, n: number): RingIdx {
  // A fractional step would wrap to a different index than ring.h's unsigned arithmetic.
  assert(Number.isInteger(n), 'RING_IDX %s advanced by %s, which is no integer', a, n);
  return ((a + n) >>> 0) as RingIdx;
}

/** (to - from) modulo 2^32: how many steps `from` must advance to reach `to`. */
export function ringIdxDistance(from: RingIdx, to: RingIdx): number {
  return (to - from) >>> 0;
}

/** Slot of an index in a ring of `size` entries (a power of two): idx & (size - 1). */
export function slotOf(idx: RingIdx, size: number): SlotIndex {
  // The mask is the slot only for a power of two: any other size would alias two slots.
  assert(size > 0 && (size & (size - 1)) === 0, 'slot of %s in a ring of %s entries', idx, size);
  return (idx & (size - 1)) as SlotIndex;
}

/** True when `size` is a power of two in [1, 2^31]: the only ring sizes ring.h can produce. */
export function isRingSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 && size <= 0x8000_0000 && (size & (size - 1)) === 0;
}
