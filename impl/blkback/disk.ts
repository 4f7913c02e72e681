// The backing disk: 512-byte sectors held sparsely in 4 KiB chunks, as the vbd blkback opened.
// Sparse because a property run touches a few hundred sectors of a disk that must look large;
// a chunk never written reads as zeros. Flushes have nothing to write back; discard leaves the
// range unspecified (zeroed here).
import { assert } from '../assert.ts';

const CHUNK_SECTORS = 8;
const CHUNK_BYTES = CHUNK_SECTORS * 512;

export class Disk {
  readonly sectorCount: number;
  readonly readOnly: boolean;
  private readonly chunks = new Map<number, Uint8Array>();

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
    this.eachChunk(sector, from.length, (index, offset, done, n) => {
      let chunk = this.chunks.get(index);
      if (chunk === undefined) {
        chunk = new Uint8Array(CHUNK_BYTES);
        this.chunks.set(index, chunk);
      }
      chunk.set(from.subarray(done, done + n), offset);
    });
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
    const end = sector + count;
    for (let s = sector; s < end; ) {
      const index = Math.floor(s / CHUNK_SECTORS);
      const chunkEnd = Math.min(end, (index + 1) * CHUNK_SECTORS);
      const chunk = this.chunks.get(index);
      if (chunk !== undefined) {
        if (s === index * CHUNK_SECTORS && chunkEnd === (index + 1) * CHUNK_SECTORS)
          this.chunks.delete(index);
        else
          chunk.fill(
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
}
