import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isRingSize,
  type RingIdx,
  RING_IDX_MODULUS,
  ringIdx,
  ringIdxAdd,
  ringIdxDistance,
  slotOf,
} from './ring-index.ts';

function distanceInvertsAdd(distance: (from: RingIdx, to: RingIdx) => number) {
  return fc.property(fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), (start, step) => {
    const a = ringIdx(start);
    return distance(a, ringIdxAdd(a, step)) === step;
  });
}

describe('RING_IDX arithmetic', () => {
  it('wraps like a C unsigned int', () => {
    expect(ringIdx(-1)).toBe(0xffff_ffff);
    expect(ringIdx(RING_IDX_MODULUS + 5)).toBe(5);
    expect(ringIdxAdd(ringIdx(0xffff_ffff), 1)).toBe(0);
    expect(ringIdxAdd(ringIdx(0), -1)).toBe(0xffff_ffff);
  });

  it('measures distance across the 2^32 wrap', () => {
    expect(ringIdxDistance(ringIdx(0xffff_fffe), ringIdx(3))).toBe(5);
    expect(ringIdxDistance(ringIdx(3), ringIdx(3))).toBe(0);
    expect(ringIdxDistance(ringIdx(4), ringIdx(3))).toBe(0xffff_ffff);
  });

  it('masks slots with size - 1', () => {
    expect(slotOf(ringIdx(0xffff_ffff), 32)).toBe(31);
    expect(slotOf(ringIdxAdd(ringIdx(0xffff_ffff), 1), 32)).toBe(0);
    expect(slotOf(ringIdx(517), 512)).toBe(5);
  });

  it('accepts only powers of two as ring sizes', () => {
    expect([1, 32, 512, 2 ** 31].every(isRingSize)).toBe(true);
    expect([0, 3, 48, 2 ** 32, 1.5].some(isRingSize)).toBe(false);
  });

  it('distance inverts add for every start and step (property)', () => {
    fc.assert(distanceInvertsAdd(ringIdxDistance), { numRuns: 300 });
  });

  it('teeth: a distance without the uint32 wrap fails the property', () => {
    const noWrap = (from: RingIdx, to: RingIdx): number => to - from;
    expect(fc.check(distanceInvertsAdd(noWrap), { numRuns: 300 }).failed).toBe(true);
  });
});
