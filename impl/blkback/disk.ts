// The backing disk: 512-byte sectors held sparsely in 4 KiB chunks, as the vbd blkback opened.
// Sparse because a property run touches a few hundred sectors of a disk that must look large;
// a chunk never written reads as zeros. Flushes have nothing to write back; discard leaves the
// range unspecified (zeroed here).
//
// Forks of a world share the chunks copy-on-write: a fork copies the index and marks every chunk
// shared on both sides, and the first write to a shared chunk copies it (the explorer forks before
// every transition; most transitions write no sector, and one that does copies 4 KiB, not the disk).
import { assert } from '../assert.ts';
import { FORK_SELF, type ForksSelf, HASH_SELF, Hasher, HashSum, type HashesSelf } from '../hash.ts';

const CHUNK_SECTORS = 8;
const CHUNK_BYTES = CHUNK_SECTORS * 512;

export class Disk implements ForksSelf, HashesSelf {
  readonly sectorCount: number;
  readonly readOnly: boolean;
  private chunks = new Map<number, Uint8Array>();
  /** Chunks this disk alone holds (written since the last fork): written in place. */
  private owned = new Set<number>();
  /** Bumped by every change of the contents: the cached hash is of `hashedVersion`. */
  private version = 0;
  private hashedVersion = -1;
  private hashA = 0;
  private hashB = 0;

  constructor(sectorCount: number, readOnly: boolean) {
    assert(
      Number.isSafeInteger(sectorCount) && sectorCount >= 0,
      'disk of %s sectors',
      sectorCount,
    );
    this.sectorCount = sectorCount;
    this.readOnly = readOnly;
  }

  /** True when [sector, sector + count) lies on the disk (vbd_translate's range check). */
  inRange(sector: number, count: number): boolean {
    return (
      Number.isInteger(sector) && sector >= 0 && count >= 0 && sector + count <= this.sectorCount
    );
  }

  // vbd_translate checked the range on the backend's private copy of the request; reaching the
  // disk outside it means the backend used something else (a double fetch): our bug, asserted.
  write(sector: number, from: Uint8Array): void {
    assert(
      this.inRange(sector, from.length / 512),
      'disk write of %s sectors at %s beyond the disk',
      from.length / 512,
      sector,
    );
    this.version += 1;
    this.eachChunk(sector, from.length, (index, offset, done, n) => {
      this.writable(index).set(from.subarray(done, done + n), offset);
    });
  }

  /** The chunk to write in place: a fresh one, or a private copy of one a fork shares. */
  private writable(index: number): Uint8Array {
    const chunk = this.chunks.get(index);
    if (chunk !== undefined && this.owned.has(index)) return chunk;
    const mine = chunk === undefined ? new Uint8Array(CHUNK_BYTES) : chunk.slice();
    this.chunks.set(index, mine);
    this.owned.add(index);
    assert(mine !== chunk && mine.length === CHUNK_BYTES, 'disk chunk %s copied on write', index);
    return mine;
  }

  read(sector: number, into: Uint8Array): void {
    assert(
      this.inRange(sector, into.length / 512),
      'disk read of %s sectors at %s beyond the disk',
      into.length / 512,
      sector,
    );
    this.eachChunk(sector, into.length, (index, offset, done, n) => {
      const chunk = this.chunks.get(index);
      if (chunk === undefined) into.fill(0, done, done + n);
      else into.set(chunk.subarray(offset, offset + n), done);
    });
  }

  /** Walks `length` bytes from `sector` chunk by chunk: (chunk index, offset in it, bytes done, bytes here). */
  private eachChunk(
    sector: number,
    length: number,
    visit: (index: number, offset: number, done: number, n: number) => void,
  ): void {
    assert(length % 512 === 0, 'disk access of %s bytes, not whole sectors', length);
    let done = 0;
    while (done < length) {
      const byte = sector * 512 + done;
      const index = Math.floor(byte / CHUNK_BYTES);
      const offset = byte - index * CHUNK_BYTES;
      const n = Math.min(CHUNK_BYTES - offset, length - done);
      visit(index, offset, done, n);
      done += n;
    }
    assert(done === length, 'disk access walked %s of %s bytes', done, length);
  }

  /** Whole chunks are dropped (they read as zeros again), partial ones zeroed. */
  discard(sector: number, count: number): void {
    assert(
      this.inRange(sector, count),
      'discard of %s sectors at %s beyond the disk',
      count,
      sector,
    );
    this.version += 1;
    const end = sector + count;
    for (let s = sector; s < end; ) {
      const index = Math.floor(s / CHUNK_SECTORS);
      const chunkEnd = Math.min(end, (index + 1) * CHUNK_SECTORS);
      if (this.chunks.has(index)) {
        if (s === index * CHUNK_SECTORS && chunkEnd === (index + 1) * CHUNK_SECTORS)
          this.chunks.delete(index);
        else
          this.writable(index).fill(
            0,
            (s - index * CHUNK_SECTORS) * 512,
            (chunkEnd - index * CHUNK_SECTORS) * 512,
          );
      }
      s = chunkEnd;
    }
  }

  /** The bytes of `count` sectors at `sector` (a copy), for tests and traces. */
  snapshot(sector: number, count: number): Uint8Array {
    assert(Number.isInteger(count) && count >= 0, 'snapshot of %s sectors', count);
    const out = new Uint8Array(count * 512);
    this.read(sector, out);
    return out;
  }

  /** A copy that shares every chunk; from now on neither side writes a chunk in place. */
  [FORK_SELF](): Disk {
    const copy = Object.create(Disk.prototype) as Disk;
    Object.assign(copy, this);
    copy.chunks = new Map(this.chunks);
    copy.owned = new Set();
    this.owned = new Set();
    assert(copy.chunks.size === this.chunks.size, 'disk fork: %s chunks', copy.chunks.size);
    return copy;
  }

  /**
   * The contents as reads see them: a chunk of zeros hashes as no chunk (both read as zeros),
   * chunks in any order. Cached until the next write or discard.
   */
  [HASH_SELF](h: Hasher, fresh: boolean): void {
    if (fresh || this.hashedVersion !== this.version) {
      const sum = new HashSum();
      for (const [index, chunk] of this.chunks) {
        if (isZero(chunk)) continue;
        const one = new Hasher();
        one.mixNumber(index);
        one.mixBytes(chunk);
        sum.add(one);
      }
      const whole = new Hasher();
      whole.mixNumber(this.sectorCount);
      whole.mix(this.readOnly ? 1 : 0);
      sum.into(whole);
      this.hashA = whole.a;
      this.hashB = whole.b;
      this.hashedVersion = this.version;
    }
    assert(this.hashedVersion === this.version, 'disk hash cached for version %s', this.version);
    h.mix(this.hashA);
    h.mix(this.hashB);
  }
}

function isZero(chunk: Uint8Array): boolean {
  assert(chunk.byteLength === CHUNK_BYTES, 'a disk chunk of %s bytes', chunk.byteLength);
  const words = new Int32Array(chunk.buffer, chunk.byteOffset, chunk.byteLength / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}
