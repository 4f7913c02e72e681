// Each domain's pseudo-physical memory as real bytes, so that a ring page or a granted data page
// is one buffer seen by both ends (the backend's mapping aliases the frontend's page, as a grant
// map does on real hardware). Frames are never reused: a page freed while the peer still holds a
// mapping stays a dead buffer, and an invariant (not a crash) reports the use after free.
import { assert } from '../assert.ts';

export const PAGE_SIZE = 4096;

export type DomId = number;
export type Frame = number;

/** One allocPages() call: a contiguous run of frames, `byteOffset` into a shared slab buffer. */
interface Run {
  readonly first: Frame;
  readonly count: number;
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
}

/**
 * Small runs are carved from slabs of this many pages: one ArrayBuffer per request buffer cost
 * more than the request's step (a backing store and its GC bookkeeping per buffer). Carved space
 * is never handed out twice, so a freed run's bytes stay dead, as with a buffer of its own.
 */
const SLAB_PAGES = 32;

/** Frame numbers start above 0 so that 0 never looks like a valid frame in a trace. */
const FRAME_FIRST: Frame = 1;

export class DomainMemory {
  readonly domid: DomId;
  private frameNext: Frame = FRAME_FIRST;
  private allocated = 0;
  // Indexed by frame - FRAME_FIRST; undefined once freed. Frames are never reused, so dense.
  // Page views are made on first use: most pages of a request buffer are only copied as a run.
  private readonly pages: (Uint8Array | undefined)[] = [];
  private readonly runs: (Run | undefined)[] = [];
  private slab: ArrayBuffer | undefined;
  private slabUsed = SLAB_PAGES;

  constructor(domid: DomId) {
    assert(Number.isInteger(domid) && domid >= 0, 'domid must be a non-negative integer');
    this.domid = domid;
  }

  get allocatedCount(): number {
    return this.allocated;
  }

  /** A contiguous run of zeroed pages (alloc_pages with __GFP_ZERO, as blkfront's rings use). */
  allocPages(count: number): Frame {
    assert(Number.isInteger(count) && count >= 1, 'allocPages: count must be >= 1');
    const first = this.frameNext;
    let run: Run;
    if (count > SLAB_PAGES / 2) {
      run = { first, count, buffer: new ArrayBuffer(count * PAGE_SIZE), byteOffset: 0 };
    } else {
      if (this.slab === undefined || this.slabUsed + count > SLAB_PAGES) {
        this.slab = new ArrayBuffer(SLAB_PAGES * PAGE_SIZE);
        this.slabUsed = 0;
      }
      run = { first, count, buffer: this.slab, byteOffset: this.slabUsed * PAGE_SIZE };
      this.slabUsed += count;
    }
    for (let i = 0; i < count; i++) this.runs[first - FRAME_FIRST + i] = run;
    this.frameNext = first + count;
    this.allocated += count;
    assert(this.isAllocated(first) && this.isAllocated(first + count - 1), 'allocPages: run');
    return first;
  }

  freePages(first: Frame, count: number): void {
    assert(Number.isInteger(count) && count >= 1, 'freePages: count must be >= 1');
    for (let i = 0; i < count; i++) {
      assert(this.isAllocated(first + i), 'freePages: frame %s is not allocated', first + i);
    }
    for (let i = 0; i < count; i++) {
      this.pages[first - FRAME_FIRST + i] = undefined;
      this.runs[first - FRAME_FIRST + i] = undefined;
    }
    this.allocated -= count;
    assert(this.allocated >= 0, 'freePages: allocated count underflow');
  }

  /** The 4096-byte page; asking for a frame we never allocated (or freed) is our bug. */
  page(frame: Frame): Uint8Array {
    const cached = this.pages[frame - FRAME_FIRST];
    if (cached !== undefined) return cached;
    const run = this.runs[frame - FRAME_FIRST];
    assert(run !== undefined, 'page: frame %s of domain %s is not allocated', frame, this.domid);
    const at = run.byteOffset + (frame - run.first) * PAGE_SIZE;
    const page = new Uint8Array(run.buffer, at, PAGE_SIZE);
    this.pages[frame - FRAME_FIRST] = page;
    return page;
  }

  /** A DataView over `count` pages that came from one allocPages() run; undefined otherwise. */
  view(first: Frame, count: number): DataView | undefined {
    assert(Number.isInteger(count) && count >= 1, 'view: count must be >= 1');
    const run = this.runs[first - FRAME_FIRST];
    if (run === undefined) return undefined;
    if (first + count > run.first + run.count) return undefined;
    for (let i = 1; i < count; i++) {
      if (this.runs[first - FRAME_FIRST + i] !== run) return undefined;
    }
    const at = run.byteOffset + (first - run.first) * PAGE_SIZE;
    return new DataView(run.buffer, at, count * PAGE_SIZE);
  }

  isAllocated(frame: Frame): boolean {
    return Number.isInteger(frame) && this.runs[frame - FRAME_FIRST] !== undefined;
  }
}
