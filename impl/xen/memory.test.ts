import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import { DomainMemory, PAGE_SIZE } from './memory.ts';

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
});
