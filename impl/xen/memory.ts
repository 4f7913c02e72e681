// Each domain's pseudo-physical memory as real bytes, so that a ring page or a granted data page
// is one buffer seen by both ends (the backend's mapping aliases the frontend's page, as a grant
// map does on real hardware). Frames are never reused: a page freed while a grant of it is still
// in the table stays a dead buffer the grantee can still map and use (the grant pins the frame),
// and an invariant (not a crash) reports the use after free.
//
// Forks share slabs copy-on-access: every byte of a slab is reached through page() or view(), so
// a slab no view outside this memory holds (request buffers, bounce pages not granted now) is
// shared by a fork and its original, and whichever side asks for a page of it first gets its own
// copy. A slab some view outside holds (a ring, a grant mapping) is copied by the world's fork
// with that view (the view keeps aliasing its copy).
import { assert } from '../assert.ts';
import {
  FORK_SELF,
  type Forking,
  type ForksSelf,
  HASH_PAGE_BYTES,
  HASH_SELF,
  type Hasher,
  type HashesSelf,
  PageHashes,
  type PartWalk,
} from '../hash.ts';

export const PAGE_SIZE = HASH_PAGE_BYTES;

export type DomId = number;
export type Frame = number;

/** One buffer that runs are carved from (or a large run's own). */
interface Slab {
  buffer: ArrayBuffer;
  /** Shared with a fork: no view of it exists, and its bytes cannot change until unshared. */
  shared: boolean;
  /** Its pages' hashes, kept while the slab is shared (its bytes are fixed then). */
  hashes: PageHashes | undefined;
  /** Frames of this memory whose run is carved from it, allocated or dead (still granted). */
  held: number;
}

/** One allocPages() call: a contiguous run of frames, `byteOffset` into its slab's buffer. */
interface Run {
  readonly first: Frame;
  readonly count: number;
  readonly slab: Slab;
  readonly byteOffset: number;
  /** Freed by the domain while some grant still pins it: only grantedPage() reaches it. */
  readonly dead: boolean;
}

/**
 * Buffers of slabs no frame of any memory holds any more, by byte length, that the next slab of
 * that size takes instead of a new ArrayBuffer (whose backing store costs ten times the memset of
 * its bytes). One pool for every world of this thread: a campaign's runs each start a world, and
 * one run frees fewer buffers than it allocates. Only bytes are recycled, never frame numbers
 * (what a use after free reaches is unchanged), and a pooled buffer is overwritten whole before
 * use, so nothing of one world reaches another: like the machines' memo, it is a cache that holds
 * no run state, and emptying it changes no result, only the time.
 */
class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  /** A pooled buffer of `byteLength` bytes, holding whatever its last slab left; or undefined. */
  take(byteLength: number): ArrayBuffer | undefined {
    const buffer = this.free.get(byteLength)?.pop();
    if (buffer !== undefined) this.bytes -= byteLength;
    assert(this.bytes >= 0, 'buffer pool: %s bytes', this.bytes);
    return buffer;
  }

  /** A buffer no slab holds any more; dropped (to the GC) once the pool is full. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    assert(size > 0 && size % PAGE_SIZE === 0, 'buffer pool: a buffer of %s bytes', size);
    if (this.bytes + size > this.bytesMax) return;
    const free = this.free.get(size);
    if (free === undefined) this.free.set(size, [buffer]);
    else free.push(buffer);
    this.bytes += size;
  }
}

const POOL = new BufferPool(32 * 1024 * 1024);

/**
 * Small runs are carved from slabs of this many pages: one ArrayBuffer per request buffer cost
 * more than the request's step (a backing store and its GC bookkeeping per buffer). Carved space
 * is not handed out twice while any frame of its slab is held (allocated, or freed but granted);
 * a slab no frame holds goes back to the pool whole. Eight,
 * not more: a fork copies a whole slab when a ring or a grant mapping views any page of it (32
 * pages made a fork of the small explore configuration 68 instead of 54 µs, for no measurable
 * gain in a replay's time). A world the explorer forks at every transition takes one page per
 * slab (FORKED_SLAB_PAGES): there the copies dominate, and its layers hold thousands of worlds
 * (the small exploration: 10% less CPU than with eight).
 */
const SLAB_PAGES = 8;
export const FORKED_SLAB_PAGES = 1;

/** Frames whose pin counts a fresh memory holds before it grows the column. */
const PINS_FIRST = 64;

/** Frame numbers start above 0 so that 0 never looks like a valid frame in a trace. */
const FRAME_FIRST: Frame = 1;

export class DomainMemory implements ForksSelf, HashesSelf {
  readonly domid: DomId;
  private frameNext: Frame = FRAME_FIRST;
  private allocated = 0;
  // Indexed by frame - FRAME_FIRST; undefined once freed. Frames are never reused, so dense.
  // Page views are made on first use: most pages of a request buffer are only copied as a run.
  private pages: (Uint8Array | undefined)[] = [];
  private runs: (Run | undefined)[] = [];
  private slab: Slab | undefined;
  private slabUsed: number;
  /**
   * Request buffers (allocRecycledPages) are carved from slabs of their own: they are freed at
   * completion, so their slabs empty and are pooled, where a slab shared with pages the drivers
   * keep (bounce pages, rings) stays held until the world ends.
   */
  private dataSlab: Slab | undefined;
  private dataSlabUsed: number;
  /**
   * Grants of each frame in the domain's grant table (gnttab_grant_foreign_access holds the page
   * until the access ends), indexed like `runs`, grown on demand; shared with a fork until either
   * side changes it.
   */
  private pins = new Uint16Array(PINS_FIRST);
  private pinsShared = false;

  /** `slabPages`: pages per slab (SLAB_PAGES, or FORKED_SLAB_PAGES for a world forked often). */
  constructor(
    domid: DomId,
    private readonly slabPages: number = SLAB_PAGES,
  ) {
    assert(Number.isInteger(domid) && domid >= 0, 'domid must be a non-negative integer');
    assert(Number.isInteger(slabPages) && slabPages >= 1, 'slabs of %s pages', slabPages);
    this.domid = domid;
    this.slabUsed = slabPages;
    this.dataSlabUsed = slabPages;
  }

  get allocatedCount(): number {
    return this.allocated;
  }

  /** A contiguous run of zeroed pages (alloc_pages with __GFP_ZERO, as blkfront's rings use). */
  allocPages(count: number): Frame {
    return this.allocRun(count, true);
  }

  /** `zeroed` false: the caller overwrites every byte (a recycled buffer's old bytes may stay). */
  private allocRun(count: number, zeroed: boolean): Frame {
    assert(Number.isInteger(count) && count >= 1, 'allocPages: count must be >= 1');
    const first = this.frameNext;
    let run: Run;
    if (count > this.slabPages / 2) {
      run = { first, count, slab: this.newSlab(count, zeroed), byteOffset: 0, dead: false };
    } else if (zeroed) {
      if (this.slab === undefined || this.slabUsed + count > this.slabPages) {
        const retired = this.slab;
        this.slab = this.newSlab(this.slabPages, true);
        this.slabUsed = 0;
        if (retired !== undefined && retired.held === 0) this.release(retired);
      }
      run = { first, count, slab: this.slab, byteOffset: this.slabUsed * PAGE_SIZE, dead: false };
      this.slabUsed += count;
    } else {
      if (this.dataSlab === undefined || this.dataSlabUsed + count > this.slabPages) {
        const retired = this.dataSlab;
        this.dataSlab = this.newSlab(this.slabPages, false);
        this.dataSlabUsed = 0;
        if (retired !== undefined && retired.held === 0) this.release(retired);
      }
      const byteOffset = this.dataSlabUsed * PAGE_SIZE;
      run = { first, count, slab: this.dataSlab, byteOffset, dead: false };
      this.dataSlabUsed += count;
    }
    run.slab.held += count;
    assert(run.slab.held * PAGE_SIZE <= run.slab.buffer.byteLength, 'slab held past its pages');
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
    let dead: Run | undefined;
    for (let i = 0; i < count; i++) {
      const at = first - FRAME_FIRST + i;
      this.pages[at] = undefined;
      // A frame still granted stays reachable to the grantee: the real page is not reused
      // while Xen's grant entry refers to it, whatever the guest's allocator believes.
      if (at < this.pins.length && this.pins[at] !== 0) {
        const run = this.runs[at]!;
        if (dead === undefined || dead.first !== run.first) dead = { ...run, dead: true };
        this.runs[at] = dead;
      } else this.drop(at);
    }
    this.allocated -= count;
    assert(this.allocated >= 0, 'freePages: allocated count underflow');
  }

  /**
   * alloc_pages without __GFP_ZERO: a run whose every word still holds what the frame's earlier
   * user left, this domain's private data (privateWord). Frame numbers stay fresh (a freed frame
   * stays dead, so a use after free is still seen); what is recycled is the bytes, which is all a
   * peer that is granted the page can tell apart.
   */
  allocRecycledPages(count: number): Frame {
    const first = this.allocRun(count, false);
    const view = this.view(first, count);
    assert(view !== undefined, 'allocRecycledPages: run of %s pages', count);
    new Uint32Array(view.buffer, view.byteOffset, (count * PAGE_SIZE) / 4).fill(
      privateWord(this.domid),
    );
    assert(view.getUint32(0, true) === privateWord(this.domid), 'allocRecycledPages: filled');
    return first;
  }

  /** The 4096-byte page; asking for a frame we never allocated (or freed) is our bug. */
  page(frame: Frame): Uint8Array {
    const cached = this.pages[frame - FRAME_FIRST];
    if (cached !== undefined) return cached;
    const run = this.runs[frame - FRAME_FIRST];
    assert(run !== undefined, 'page: frame %s of domain %s is not allocated', frame, this.domid);
    assert(!run.dead, 'page: frame %s of domain %s was freed', frame, this.domid);
    return this.pageOf(run, frame);
  }

  /**
   * The page a grant of `frame` reaches: allocated, or freed while still granted (the dead buffer
   * a use after free writes into). Asking for a frame no grant pins after its free is our bug.
   */
  grantedPage(frame: Frame): Uint8Array {
    const cached = this.pages[frame - FRAME_FIRST];
    if (cached !== undefined) return cached;
    const run = this.runs[frame - FRAME_FIRST];
    assert(run !== undefined, 'grantedPage: frame %s of domain %s is gone', frame, this.domid);
    return this.pageOf(run, frame);
  }

  private pageOf(run: Run, frame: Frame): Uint8Array {
    if (run.slab.shared) unshare(run.slab);
    const at = run.byteOffset + (frame - run.first) * PAGE_SIZE;
    const page = new Uint8Array(run.slab.buffer, at, PAGE_SIZE);
    this.pages[frame - FRAME_FIRST] = page;
    return page;
  }

  /** A DataView over `count` pages that came from one allocPages() run; undefined otherwise. */
  view(first: Frame, count: number): DataView | undefined {
    assert(Number.isInteger(count) && count >= 1, 'view: count must be >= 1');
    const run = this.runs[first - FRAME_FIRST];
    if (run === undefined || run.dead) return undefined;
    if (first + count > run.first + run.count) return undefined;
    for (let i = 1; i < count; i++) {
      if (this.runs[first - FRAME_FIRST + i] !== run) return undefined;
    }
    if (run.slab.shared) unshare(run.slab);
    const at = run.byteOffset + (first - run.first) * PAGE_SIZE;
    return new DataView(run.slab.buffer, at, count * PAGE_SIZE);
  }

  isAllocated(frame: Frame): boolean {
    if (!Number.isInteger(frame)) return false;
    const run = this.runs[frame - FRAME_FIRST];
    return run !== undefined && !run.dead;
  }

  /** A grant of `frame` was made (gnttab_grant_foreign_access): the frame outlives its free. */
  pin(frame: Frame): void {
    assert(
      this.isAllocated(frame),
      'pin: frame %s of domain %s is not allocated',
      frame,
      this.domid,
    );
    const at = frame - FRAME_FIRST;
    this.changingPins(at);
    assert(this.pins[at]! < 0xffff, 'pin: frame %s granted 65535 times', frame);
    this.pins[at]! += 1;
  }

  /** A grant of `frame` ended: a frame freed meanwhile is gone once its last grant is. */
  unpin(frame: Frame): void {
    const at = frame - FRAME_FIRST;
    assert(at >= 0 && at < this.pins.length && this.pins[at]! > 0, 'unpin: frame %s', frame);
    this.changingPins(at);
    this.pins[at]! -= 1;
    if (this.pins[at] === 0 && this.runs[at]?.dead === true) {
      this.drop(at);
      this.pages[at] = undefined;
    }
  }

  /** Frame `at` is gone (freed, no grant left): its slab is released once no frame holds it. */
  private drop(at: number): void {
    const slab = this.runs[at]!.slab;
    this.runs[at] = undefined;
    slab.held -= 1;
    assert(slab.held >= 0, 'memory: a slab held by %s frames', slab.held);
    if (slab.held === 0 && slab !== this.slab && slab !== this.dataSlab) this.release(slab);
  }

  /**
   * A slab no frame holds: its buffer is pooled. Not one shared with a fork (the other side may
   * still read it), nor one whose pages some view still holds: a view outside this memory is a
   * ring or a grant mapping, and both pin their frames, so a slab with no frame has none.
   */
  private release(slab: Slab): void {
    assert(slab.held === 0, 'release of a slab %s frames hold', slab.held);
    if (!slab.shared) POOL.give(slab.buffer);
  }

  /** A slab of `pages`, from the pool where it can be; zeroed when `zeroed`. */
  private newSlab(pages: number, zeroed: boolean): Slab {
    assert(Number.isInteger(pages) && pages >= 1, 'a slab of %s pages', pages);
    let buffer = POOL.take(pages * PAGE_SIZE);
    if (buffer === undefined) buffer = new ArrayBuffer(pages * PAGE_SIZE);
    else if (zeroed) new Uint8Array(buffer).fill(0);
    assert(buffer.byteLength === pages * PAGE_SIZE, 'slab of %s bytes', buffer.byteLength);
    return { buffer, shared: false, hashes: undefined, held: 0 };
  }

  /** Before a change of `pins` at `at`: the memory's own column, wide enough. */
  private changingPins(at: number): void {
    if (at >= this.pins.length) {
      let capacity = this.pins.length * 2;
      while (capacity <= at) capacity *= 2;
      const wider = new Uint16Array(capacity);
      wider.set(this.pins);
      this.pins = wider;
      this.pinsShared = false;
    } else if (this.pinsShared) {
      this.pins = this.pins.slice();
      this.pinsShared = false;
    }
    assert(at < this.pins.length && !this.pinsShared, 'pins: column at %s', at);
  }

  /**
   * A copy over the same slabs. Once the world's whole graph is copied, a slab whose buffer a
   * view outside this memory holds takes the fork's copy of it; every other slab is shared, on
   * both sides, until a page of it is asked for (the views cached here of it are dropped).
   */
  [FORK_SELF](fork: Forking): DomainMemory {
    const copy = Object.create(DomainMemory.prototype) as DomainMemory;
    Object.assign(copy, this);
    const slabs = new Map<Slab, Slab>();
    const theirsOf = (slab: Slab): Slab => {
      let theirs = slabs.get(slab);
      if (theirs === undefined) {
        theirs = { ...slab };
        slabs.set(slab, theirs);
        assert(theirs.buffer === slab.buffer, 'a forked slab starts over the same buffer');
      }
      return theirs;
    };
    const runs = new Map<Run, Run>();
    copy.runs = this.runs.map((run) => {
      if (run === undefined) return undefined;
      let theirs = runs.get(run);
      if (theirs === undefined) {
        theirs = { ...run, slab: theirsOf(run.slab) };
        runs.set(run, theirs);
      }
      return theirs;
    });
    copy.slab = this.slab === undefined ? undefined : theirsOf(this.slab);
    copy.dataSlab = this.dataSlab === undefined ? undefined : theirsOf(this.dataSlab);
    copy.pages = [];
    this.pinsShared = true;
    copy.pinsShared = true;
    fork.after(() => this.finishFork(fork, copy, slabs));
    assert(copy.runs.length === this.runs.length, 'memory fork: %s frames', copy.runs.length);
    return copy;
  }

  private finishFork(fork: Forking, copy: DomainMemory, slabs: Map<Slab, Slab>): void {
    for (const [slab, theirs] of slabs) {
      const viewed = fork.copied(slab.buffer) as ArrayBuffer | undefined;
      // A shared slab has no views anywhere: the world's fork cannot have reached its buffer.
      assert(viewed === undefined || !slab.shared, 'a view of a shared slab');
      if (viewed !== undefined) theirs.buffer = viewed;
      else if (!slab.shared) {
        slab.shared = true;
        theirs.shared = true;
      }
    }
    for (let i = 0; i < this.pages.length; i++) {
      const page = this.pages[i];
      if (page === undefined) continue;
      // Views cached of a shared slab are dropped; those the world holds elsewhere keep their
      // identity in the fork's cache too.
      if (this.runs[i]?.slab.shared === true) this.pages[i] = undefined;
      else copy.pages[i] = fork.copied(page) as Uint8Array | undefined;
    }
  }

  /**
   * The frames: which are allocated, in which runs, with their bytes (through the world's walk,
   * so a buffer a ring or a grant mapping also views is hashed once). A shared slab keeps its
   * bytes' hash (they cannot change while it is shared). The page views are a cache: left out.
   */
  [HASH_SELF](h: Hasher, fresh: boolean, walk: PartWalk): void {
    assert(
      this.runs.length === this.frameNext - FRAME_FIRST,
      'memory: %s frames',
      this.runs.length,
    );
    h.mix(this.domid);
    h.mix(this.frameNext);
    h.mix(this.allocated);
    h.mix(this.slabUsed);
    h.mix(this.dataSlabUsed);
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i];
      if (run === undefined) h.mix(0);
      else if (run.first === i + FRAME_FIRST) {
        // A dead frame's bytes are still what its grantee reads; whether it is dead is state.
        h.mix(run.dead ? 2 : 3);
        const slab = run.slab;
        let cache: PageHashes | undefined;
        if (slab.shared && !fresh) {
          slab.hashes ??= new PageHashes(slab.buffer.byteLength / PAGE_SIZE);
          cache = slab.hashes;
        }
        walk.pages(slab.buffer, run.byteOffset, run.count, cache);
      } else h.mix(1);
    }
  }
}

/**
 * The word every 4-byte unit of a domain's private memory holds (no-leak's mark). No field the
 * drivers share is near it: ids, grefs, sector numbers and the guest's stamps stay far below.
 */
export function privateWord(domid: DomId): number {
  assert(Number.isInteger(domid) && domid >= 0 && domid < 0x100, 'privateWord of dom %s', domid);
  return (PRIVATE_WORD_BASE | domid) >>> 0;
}

const PRIVATE_WORD_BASE = 0x5ec2e700;

/** Below this many bytes (a ring slot) the loop is quicker than making a typed array. */
const WORDS_NATIVE_MIN = 512;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The byte offset (from `at`) of the first 4-aligned word in `size` bytes of `view` that is
 * `word`, or -1. A peer reads a word at a time; a private word cut by a field is not counted.
 */
export function findWord(view: DataView, at: number, size: number, word: number): number {
  assert(at >= 0 && at % 4 === 0 && at + size <= view.byteLength, 'findWord at %s', at);
  // A page is searched by the typed array's own indexOf, four times the speed of this loop; the
  // words are little-endian, which a Uint32Array reads as such only on a little-endian host.
  if (size >= WORDS_NATIVE_MIN && LITTLE_ENDIAN_HOST && (view.byteOffset + at) % 4 === 0) {
    const found = new Uint32Array(view.buffer, view.byteOffset + at, size >>> 2).indexOf(word);
    assert(found < size >>> 2, 'findWord: word %s of %s', found, size >>> 2);
    return found < 0 ? -1 : found * 4;
  }
  const end = at + size - 3;
  for (let i = at; i < end; i += 4) if (view.getUint32(i, true) === word) return i - at;
  return -1;
}

/** A shared slab's first page asked for: its own copy of the bytes, no longer shared. */
function unshare(slab: Slab): void {
  assert(slab.shared, 'unshare of a private slab of %s bytes', slab.buffer.byteLength);
  slab.buffer = slab.buffer.slice(0);
  slab.shared = false;
  slab.hashes = undefined;
}
