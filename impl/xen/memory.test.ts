import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { deepCopy } from '../world/fork.ts';
import { DomainMemory, findWord, PAGE_SIZE, privateWord } from './memory.ts';

/** The buffer behind a run of `count` pages at `first`. */
const bufferOf = (memory: DomainMemory, first: number, count: number): ArrayBufferLike =>
  memory.view(first, count)!.buffer;

const allWords = (memory: DomainMemory, first: number, count: number, word: number): boolean =>
  new Uint32Array(bufferOf(memory, first, count), 0, (count * PAGE_SIZE) / 4).every(
    (w) => w === word,
  );

/**
 * A fork shares a run's slab, the original frees the run and allocates one of the same size: the
 * fork's bytes must be what they were (the shared buffer was not handed out again).
 */
function forkKeepsSharedBytes(): boolean {
  const held = { memory: new DomainMemory(2) };
  const first = held.memory.allocPages(8);
  held.memory.view(first, 8)!.setUint32(100, 0xfeedf00d, true);
  const fork = deepCopy(held, []);
  held.memory.freePages(first, 8);
  const again = held.memory.allocPages(8);
  held.memory.view(again, 8)!.setUint32(100, 0x0badcafe, true);
  return fork.memory.view(first, 8)!.getUint32(100, true) === 0xfeedf00d;
}

describe('DomainMemory', () => {
  it('allocates zeroed contiguous runs and never reuses a frame', () => {
    const memory = new DomainMemory(1);
    const first = memory.allocPages(4);
    expect(memory.allocatedCount).toBe(4);
    for (let i = 0; i < 4; i++) {
      expect(memory.page(first + i).length).toBe(PAGE_SIZE);
      expect(memory.page(first + i).every((byte) => byte === 0)).toBe(true);
    }
    memory.freePages(first, 4);
    expect(memory.isAllocated(first)).toBe(false);
    const next = memory.allocPages(1);
    expect(next).toBe(first + 4);
    expect(memory.allocatedCount).toBe(1);
  });

  it('pages of one run share bytes with the run view', () => {
    const memory = new DomainMemory(0);
    const first = memory.allocPages(2);
    const view = memory.view(first, 2);
    expect(view?.byteLength).toBe(2 * PAGE_SIZE);
    view?.setUint32(PAGE_SIZE + 8, 0xdeadbeef, true);
    expect(
      new DataView(memory.page(first + 1).buffer, memory.page(first + 1).byteOffset).getUint32(
        8,
        true,
      ),
    ).toBe(0xdeadbeef);
    expect(memory.view(first + 1, 1)?.getUint32(8, true)).toBe(0xdeadbeef);
  });

  it('view is undefined across two runs, past a run, or over freed frames', () => {
    const memory = new DomainMemory(0);
    const a = memory.allocPages(1);
    const b = memory.allocPages(1);
    expect(b).toBe(a + 1);
    expect(memory.view(a, 2)).toBeUndefined();
    expect(memory.view(b, 2)).toBeUndefined();
    memory.freePages(a, 1);
    expect(memory.view(a, 1)).toBeUndefined();
  });

  it('asserts on our own bugs: page of a free frame, double free', () => {
    const memory = new DomainMemory(0);
    const frame = memory.allocPages(1);
    memory.freePages(frame, 1);
    expect(() => memory.page(frame)).toThrow(AssertionError);
    expect(() => memory.freePages(frame, 1)).toThrow(AssertionError);
    expect(() => memory.page(999)).toThrow(AssertionError);
  });

  it('hands a freed buffer to the next run of its size: zeroed, or filled whole, frames fresh', () => {
    const memory = new DomainMemory(3);
    const first = memory.allocRecycledPages(8);
    const buffer = bufferOf(memory, first, 8);
    expect(allWords(memory, first, 8, privateWord(3))).toBe(true);
    memory.freePages(first, 8);
    const zeroed = memory.allocPages(8);
    expect(zeroed).toBe(first + 8);
    expect(bufferOf(memory, zeroed, 8)).toBe(buffer);
    expect(allWords(memory, zeroed, 8, 0)).toBe(true);
    memory.view(zeroed, 8)!.setUint32(40, 0x12345678, true);
    memory.freePages(zeroed, 8);
    const filled = memory.allocRecycledPages(8);
    expect(bufferOf(memory, filled, 8)).toBe(buffer);
    expect(allWords(memory, filled, 8, privateWord(3))).toBe(true);
  });

  it("keeps a freed frame's bytes while a grant pins it, and recycles them once unpinned", () => {
    const memory = new DomainMemory(3);
    const first = memory.allocPages(8);
    const buffer = bufferOf(memory, first, 8);
    memory.page(first)[7] = 0xab;
    memory.pin(first);
    memory.freePages(first, 8);
    const other = memory.allocPages(8);
    const otherBuffer = bufferOf(memory, other, 8);
    expect(otherBuffer).not.toBe(buffer);
    expect(memory.grantedPage(first)[7]).toBe(0xab);
    memory.unpin(first);
    memory.freePages(other, 8);
    const after = memory.allocPages(8);
    expect([buffer, otherBuffer]).toContain(bufferOf(memory, after, 8));
    expect(allWords(memory, after, 8, 0)).toBe(true);
  });

  it('never hands out a buffer a fork still shares', () => {
    expect(forkKeepsSharedBytes()).toBe(true);
  });

  it('teeth: a pool that takes a slab shared with a fork is caught', () => {
    type Releasing = { release: (slab: { shared: boolean }) => void };
    const proto = DomainMemory.prototype as unknown as Releasing;
    const real = proto.release;
    proto.release = function (this: Releasing, slab) {
      real.call(this, { ...slab, shared: false });
    };
    try {
      expect(forkKeepsSharedBytes()).toBe(false);
    } finally {
      proto.release = real;
    }
  });

  it('findWord finds the first aligned word, by indexOf on pages and by loop on slots alike', () => {
    const WORD = 0x5ec2e701;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 64 }),
        fc.integer({ min: 0, max: 4400 }),
        fc.array(fc.integer({ min: 0, max: 8400 }), { maxLength: 3 }),
        (shift, atWords, size, places) => {
          const buffer = new ArrayBuffer(8 + 64 * 4 + 8400 + 8);
          const view = new DataView(buffer, shift, buffer.byteLength - 8);
          const at = atWords * 4;
          for (const place of places)
            if (place + 4 <= view.byteLength) view.setUint32(place, WORD, true);
          let expected = -1;
          for (let i = at; i + 4 <= at + size; i += 4) {
            if (view.getUint32(i, true) === WORD) {
              expected = i - at;
              break;
            }
          }
          expect(findWord(view, at, size, WORD)).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });
});
