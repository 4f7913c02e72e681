import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortDistinct, sortDistinctPrefix, sortNumbers } from './sort-numbers.ts';

const lists = fc.array(fc.integer({ min: -5, max: 40 }), { maxLength: 80 });
const sorted = (items: readonly number[]) => [...items].sort((a, b) => a - b);

describe('the checkers’ small sorts', () => {
  it('sortNumbers sorts as the built-in sort does, short lists and long', () => {
    fc.assert(
      fc.property(lists, (items) => {
        const mine = [...items];
        sortNumbers(mine);
        expect(mine).toEqual(sorted(items));
      }),
    );
  });

  it('sortDistinct and sortDistinctPrefix keep each number once, ascending', () => {
    fc.assert(
      fc.property(lists, fc.nat(10), (items, spare) => {
        const want = [...new Set(sorted(items))];
        const mine = [...items];
        sortDistinct(mine);
        expect(mine).toEqual(want);
        // A scratch buffer longer than its list: only the first `count` entries are the list.
        const buffer = new Int32Array(items.length + spare).fill(-99);
        buffer.set(items);
        const kept = sortDistinctPrefix(buffer, items.length);
        expect([...buffer.subarray(0, kept)]).toEqual(want);
      }),
    );
  });
});
