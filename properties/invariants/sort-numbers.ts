// Sorting the short lists of numbers the step checkers build at every step (ring places, request
// ids a ring holds): Array.prototype.sort copies its array into a buffer of its own on each call,
// which was about a tenth of what a checked step allocated; an insertion sort allocates nothing.

/** Lists longer than this go to the built-in sort (an insertion sort is quadratic). */
const INSERTION_MAX = 32;

/** Sorts `items` ascending, in place. */
export function sortNumbers(items: number[]): void {
  if (items.length > INSERTION_MAX) items.sort((a, b) => a - b);
  else insertionSort(items, items.length);
}

/** Sorts `items` ascending and drops repeats, in place. */
export function sortDistinct(items: number[]): void {
  sortNumbers(items);
  items.length = dropRepeats(items, items.length);
}

/**
 * The first `count` entries of a scratch buffer sorted ascending without repeats; returns how
 * many are left. (A reused plain array emptied by `length = 0` gives up its storage, so the next
 * push allocates again: scratch lists are typed arrays with a count.)
 */
export function sortDistinctPrefix(items: Int32Array, count: number): number {
  if (count > INSERTION_MAX) items.subarray(0, count).sort();
  else insertionSort(items, count);
  return dropRepeats(items, count);
}

function insertionSort(items: number[] | Int32Array, count: number): void {
  for (let i = 1; i < count; i++) {
    const item = items[i]!;
    let j = i - 1;
    for (; j >= 0 && items[j]! > item; j--) items[j + 1] = items[j]!;
    items[j + 1] = item;
  }
}

function dropRepeats(items: number[] | Int32Array, count: number): number {
  let kept = count === 0 ? 0 : 1;
  for (let i = 1; i < count; i++) if (items[i] !== items[kept - 1]) items[kept++] = items[i]!;
  return kept;
}
