// The block layer's view of one request, as blk-mq hands it to blkif_queue_rq(). It lives in
// guest memory (`buffer`), not in any shared page: the frontend decides how to grant it.
import { assert } from '../assert.ts';
import type { Frame } from '../xen/memory.ts';

export type BlockOp = 'read' | 'write' | 'flush' | 'discard';

export const SECTOR_SIZE = 512;
export const SECTORS_PER_PAGE = 8;

export interface BlockBuffer {
  readonly firstFrame: Frame;
  readonly pageCount: number;
  /** Byte offset of the data in the first page; a multiple of SECTOR_SIZE. */
  readonly offsetBytes: number;
}

export interface BlockRequest {
  /** Unique per run: the guest-edge ledger's key. */
  readonly tag: number;
  readonly op: BlockOp;
  /** In 512-byte units, as Linux (both ends) uses them. */
  readonly sector: number;
  readonly sectorCount: number;
  readonly vcpu: number;
  readonly buffer: BlockBuffer | undefined;
  readonly secure: boolean;
  /** Set when the guest's block layer split a bigger request (bio split on resubmission). */
  readonly parentTag: number | undefined;
}

/** How many 4 KiB pieces (segments) the request's data spans. */
export function segmentCountOf(request: BlockRequest): number {
  if (request.buffer === undefined) return 0;
  const bytes = request.buffer.offsetBytes + request.sectorCount * SECTOR_SIZE;
  const count = Math.ceil(bytes / 4096);
  assert(count <= request.buffer.pageCount, 'request %s: data past its buffer', request.tag);
  return count;
}

/** first_sect/last_sect of segment i, both inclusive, 0..7 within its page. */
export function segmentSectors(request: BlockRequest, i: number): { first: number; last: number } {
  const offsetSectors = (request.buffer?.offsetBytes ?? 0) / SECTOR_SIZE;
  const start = i === 0 ? offsetSectors : 0;
  const remaining = offsetSectors + request.sectorCount - i * SECTORS_PER_PAGE;
  const last = Math.min(SECTORS_PER_PAGE, remaining) - 1;
  assert(start <= last, 'request %s: segment %s is empty', request.tag, i);
  assert(last < SECTORS_PER_PAGE, 'request %s: segment %s past its page', request.tag, i);
  return { first: start, last };
}
