// The world's fingerprint hash (impl/world/fork.ts) and the parts that keep their own hash cached
// (xenstore, the disk) share one hasher: two 32-bit lanes (64 bits), numbers mixed as they are,
// no string built. A part that forks itself copy-on-write or hashes itself says so through the two
// symbols below; the generic walks of fork.ts call them instead of walking the part's fields.
import { assert } from './assert.ts';

/** `[FORK_SELF](fork)`: an independent copy of this part, made within the world's fork. */
export const FORK_SELF: unique symbol = Symbol('forkSelf');
/**
 * `[HASH_SELF](h, fresh, value)`: mixes this part's protocol-visible state into `h`, from its
 * cache unless `fresh` (a test compares both: a cache that misses a change is caught). `walk`
 * mixes other values of the world's graph (buffers that views elsewhere alias are hashed once,
 * and as the same object).
 */
export const HASH_SELF: unique symbol = Symbol('hashSelf');

/**
 * `[OWNED_BY_ARRAY]: true` on the prototype of a class that forks and hashes itself: its instances are
 * each held by one slot of one array and nothing else (blkfront's shadow entries). The walks
 * then take them straight from the array, without the identity map every other object goes
 * through (they were a third of a world's objects); a fresh fingerprint checks the claim.
 */
export const OWNED_BY_ARRAY: unique symbol = Symbol('ownedByArray');

export interface ForksSelf {
  [FORK_SELF](fork: Forking): object;
}

/** What a part that forks itself may ask of the world's fork. */
export interface Forking {
  /** Copies any other value of the world's graph through the fork's memo (aliases stay). */
  copy(value: unknown): unknown;
  /** The copy the fork has made of `value` so far, if any. */
  copied(value: object): unknown;
  /** Runs `finish` once the whole graph is copied (when `copied` knows every object reached). */
  after(finish: () => void): void;
}

/** Bytes are hashed by pages of this size: a page's hash is computed once per walk. */
export const HASH_PAGE_BYTES = 4096;

/** The hashes of one buffer's pages (two lanes each), filled as the pages are reached. */
export class PageHashes {
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly done: Uint8Array;

  constructor(pages: number) {
    assert(Number.isInteger(pages) && pages >= 0, 'page hashes of %s pages', pages);
    this.a = new Int32Array(pages);
    this.b = new Int32Array(pages);
    this.done = new Uint8Array(pages);
  }

  /** Mixes page `index` of `buffer` into `h`, hashing its bytes the first time. */
  mixPage(h: Hasher, buffer: ArrayBuffer, index: number): void {
    assert(index < this.done.length, 'page %s of %s hashed', index, this.done.length);
    if (this.done[index] === 0) {
      hashPage(new Int32Array(buffer, index * HASH_PAGE_BYTES, HASH_PAGE_BYTES / 4), this, index);
      this.done[index] = 1;
    }
    h.mix(this.a[index]!);
    h.mix(this.b[index]!);
  }
}

/**
 * One page's two lanes into `into.a[index]` and `into.b[index]`: each lane as four accumulators
 * over every fourth word, joined at the end. Four chains the processor runs side by side instead
 * of one multiply waiting on the last (a page was a walk's largest single cost); every word
 * still moves both lanes, by steps that are one-to-one in the accumulator.
 */
function hashPage(words: Int32Array, into: PageHashes, index: number): void {
  assert(words.length % 4 === 0, 'a page of %s words', words.length);
  let a0 = 0x811c9dc5 | 0;
  let a1 = 0x01000193;
  let a2 = 0x050c5d1f;
  let a3 = 0x1b873593;
  let b0 = 0x3c6ef372 | 0;
  let b1 = 0x5bd1e995;
  let b2 = 0x2545f491;
  let b3 = 0x68e31da4;
  for (let i = 0; i < words.length; i += 4) {
    const w0 = words[i]!;
    const w1 = words[i + 1]!;
    const w2 = words[i + 2]!;
    const w3 = words[i + 3]!;
    a0 = Math.imul(a0 ^ w0, 0x01000193);
    a1 = Math.imul(a1 ^ w1, 0x01000193);
    a2 = Math.imul(a2 ^ w2, 0x01000193);
    a3 = Math.imul(a3 ^ w3, 0x01000193);
    b0 = Math.imul((b0 + w0) | 0, 0x5bd1e995) ^ (b0 >>> 15);
    b1 = Math.imul((b1 + w1) | 0, 0x5bd1e995) ^ (b1 >>> 15);
    b2 = Math.imul((b2 + w2) | 0, 0x5bd1e995) ^ (b2 >>> 15);
    b3 = Math.imul((b3 + w3) | 0, 0x5bd1e995) ^ (b3 >>> 15);
  }
  const join = new Hasher();
  join.mix(words.length);
  join.mix(a0);
  join.mix(a1);
  join.mix(a2);
  join.mix(a3);
  into.a[index] = join.a;
  join.mix(b0);
  join.mix(b1);
  join.mix(b2);
  join.mix(b3);
  into.b[index] = join.b;
}

/** What a part that hashes itself may ask of the world's walk. */
export interface PartWalk {
  /** Mixes any other value of the world's graph through the walk (aliases stay back-references). */
  value(value: unknown): void;
  /**
   * Mixes `count` pages of `buffer` from byte `offset` exactly as a view of them would be mixed
   * (the buffer's identity, then the pages' bytes), so that a cached and a fresh hash agree.
   * `cache`, which the caller keeps only while those bytes cannot change, holds page hashes.
   */
  pages(buffer: ArrayBuffer, offset: number, count: number, cache: PageHashes | undefined): void;
}

export interface HashesSelf {
  [HASH_SELF](h: Hasher, fresh: boolean, walk: PartWalk): void;
}

export class Hasher {
  a = 0x811c9dc5 | 0;
  b = 0x3c6ef372 | 0;

  mix(word: number): void {
    this.a = Math.imul(this.a ^ (word & 0xffff), 0x01000193);
    this.a = Math.imul(this.a ^ (word >>> 16), 0x01000193);
    this.b = Math.imul(this.b ^ word, 0x5bd1e995);
    this.b ^= this.b >>> 13;
  }

  mixString(text: string): void {
    this.mix(text.length);
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul((b + c) | 0, 0x5bd1e995) ^ (b >>> 15);
    }
    this.a = a;
    this.b = b;
    assert(a === (a | 0) && b === (b | 0), 'string hash lanes left 32 bits');
  }

  /** Two words for an int32 or a uint32 (the tag tells them apart), a string for the rest. */
  mixNumber(n: number): void {
    if ((n | 0) === n) {
      this.mix(4);
      this.mix(n);
    } else if (n >>> 0 === n) {
      this.mix(15);
      this.mix(n | 0);
    } else this.mixString(`n${n}`);
  }

  /** Bulk data (pages, disk chunks): one multiply per 32-bit word and lane, words in order. */
  mixBytes(view: ArrayBufferView): void {
    this.mix(view.byteLength);
    let a = this.a;
    let b = this.b;
    if (view.byteOffset % 4 === 0 && view.byteLength % 4 === 0) {
      const words = new Int32Array(view.buffer, view.byteOffset, view.byteLength / 4);
      assert(words.length * 4 === view.byteLength, 'hash of %s bytes as words', view.byteLength);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        a = Math.imul(a ^ w, 0x01000193);
        b = Math.imul((b + w) | 0, 0x5bd1e995) ^ (b >>> 15);
      }
    } else {
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      for (let i = 0; i < bytes.length; i++) {
        a = Math.imul(a ^ bytes[i]!, 0x01000193);
        b = Math.imul((b + bytes[i]!) | 0, 0x5bd1e995) ^ (b >>> 15);
      }
    }
    this.a = a;
    this.b = b;
  }

  /** 16 hex digits. */
  hex(): string {
    const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
    const print = hex(this.a) + hex(this.b);
    assert(print.length === 16, 'fingerprint %s is not 64 bits', print);
    return print;
  }
}

/**
 * An order-independent sum of element hashes (the elements of a set keyed by unique names: a
 * xenstore tree's nodes by path, a disk's chunks by index): no sort, and one element's change
 * moves it by that element alone.
 */
export class HashSum {
  a = 0;
  b = 0;
  count = 0;

  add(h: Hasher): void {
    // A final avalanche per element, so that sums of related hashes do not cancel.
    this.a = (this.a + finish(h.a, h.b)) | 0;
    this.b = (this.b + finish(h.b, h.a ^ 0x9e3779b9)) | 0;
    this.count += 1;
    assert(Number.isSafeInteger(this.count), 'a hash sum of %s elements', this.count);
  }

  into(h: Hasher): void {
    assert(this.count >= 0 && this.a === (this.a | 0), 'a hash sum of %s elements', this.count);
    h.mix(this.count);
    h.mix(this.a);
    h.mix(this.b);
  }
}

function finish(x: number, y: number): number {
  let z = (x ^ Math.imul(y, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d);
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b);
  return z ^ (z >>> 16);
}
