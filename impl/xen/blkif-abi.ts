// blkif requests and responses as they sit in a ring slot (xen/include/public/io/blkif.h),
// little-endian, for the two layouts a backend must read: x86_64 (also arm) and x86_32.
// The only differences: u64 fields are 8-aligned on x86_64 and 4-aligned on i386, so id and
// everything after it move up by 4 bytes, and struct sizes round to 8 vs 4.
//
// copyRequest is RING_COPY_REQUEST plus Linux blkback's blkif_get_x86_{32,64}_req: every field
// of the slot is read exactly once (the frontend may rewrite the slot at any time, XSA-155), and
// the counts read are bounded before they size any further read. Garbage is reported as a
// DecodeError carrying the id and op the error response must echo; decoding never throws.
//
// u64 fields (id, sector_number, nr_sectors) are JS numbers, read as lo + hi * 2^32: exact
// below 2^53. Larger values (which no Linux frontend produces: its ids are < ring size) come
// back rounded to the nearest double, so a backend echoing them would echo a nearby id.

import { assert } from '../assert.ts';

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
export const BLKIF_OP_WRITE_BARRIER = 2;
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
export const BLKIF_OP_RESERVED_1 = 4;
export const BLKIF_OP_DISCARD = 5;
export const BLKIF_OP_INDIRECT = 6;

export const BLKIF_RSP_OKAY = 0;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_EOPNOTSUPP = -2;

export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;
/** struct blkif_request_segment entries in one 4 KiB indirect page (Linux's name). */
export const SEGS_PER_INDIRECT_FRAME = 512;
export const BLKIF_DISCARD_SECURE = 1;
/** Protocol ceiling for an indirect request: 8 pages of 512 descriptors. */
export const BLKIF_INDIRECT_SEGMENT_COUNT_MAX =
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * SEGS_PER_INDIRECT_FRAME;
/** sizeof(struct blkif_request_segment): gref u32 @0, first_sect u8 @4, last_sect u8 @5. */
export const BLKIF_SEGMENT_SIZE = 8;

export interface BlkifSegment {
  gref: number;
  firstSect: number;
  lastSect: number;
}

export type BlkifRequest =
  | {
      kind: 'rw';
      operation: 0 | 1 | 2 | 3;
      nrSegments: number;
      handle: number;
      id: number;
      sectorNumber: number;
      segments: BlkifSegment[];
    }
  | {
      kind: 'discard';
      operation: 5;
      flag: number;
      handle: number;
      id: number;
      sectorNumber: number;
      nrSectors: number;
    }
  | {
      kind: 'indirect';
      operation: 6;
      indirectOp: number;
      nrSegments: number;
      handle: number;
      id: number;
      sectorNumber: number;
      indirectGrefs: number[];
    }
  | { kind: 'unknown'; operation: number; id: number };

export interface BlkifResponse {
  id: number;
  operation: number;
  status: number;
}

export type DecodeErrorCode = 'too-many-segments' | 'bad-indirect-count';

/** A request the backend must refuse. `id` and `operation` are what its BLKIF_RSP_ERROR
 *  response echoes (for INDIRECT the inner op, as Linux blkback's make_response does). */
export interface DecodeError {
  code: DecodeErrorCode;
  message: string;
  id: number;
  operation: number;
}

export type CopyRequestResult =
  | { ok: true; value: BlkifRequest }
  | { ok: false; error: DecodeError };

/** Byte offsets of one ABI, checked against gcc's offsetof by xen-headers.test.ts. */
export interface BlkifLayout {
  readonly entrySize: number;
  readonly requestSize: number;
  readonly responseSize: number;
  readonly idOffset: number;
  readonly sectorNumberOffset: number;
  readonly segOffset: number;
  readonly discardNrSectorsOffset: number;
  readonly discardSize: number;
  readonly indirectHandleOffset: number;
  readonly indirectGrefsOffset: number;
  readonly indirectSize: number;
  readonly responseIdOffset: number;
  readonly responseOperationOffset: number;
  readonly responseStatusOffset: number;
}

export interface BlkifAbi {
  readonly name: 'x86_64-abi' | 'x86_32-abi';
  readonly entrySize: number;
  readonly requestSize: number;
  readonly responseSize: number;
  readonly layout: BlkifLayout;
  writeRequest(view: DataView, offset: number, req: BlkifRequest): void;
  copyRequest(view: DataView, offset: number): CopyRequestResult;
  writeResponse(view: DataView, offset: number, rsp: BlkifResponse): void;
  copyResponse(view: DataView, offset: number): BlkifResponse;
}

export const X86_64_LAYOUT: BlkifLayout = {
  entrySize: 112,
  requestSize: 112,
  responseSize: 16,
  idOffset: 8,
  sectorNumberOffset: 16,
  segOffset: 24,
  discardNrSectorsOffset: 24,
  discardSize: 32,
  indirectHandleOffset: 24,
  indirectGrefsOffset: 28,
  indirectSize: 64,
  responseIdOffset: 0,
  responseOperationOffset: 8,
  responseStatusOffset: 10,
};

export const X86_32_LAYOUT: BlkifLayout = {
  entrySize: 108,
  requestSize: 108,
  responseSize: 12,
  idOffset: 4,
  sectorNumberOffset: 12,
  segOffset: 20,
  discardNrSectorsOffset: 20,
  discardSize: 28,
  indirectHandleOffset: 20,
  indirectGrefsOffset: 24,
  indirectSize: 64, // i386 adds `uint64_t pad` to keep 64 bytes
  responseIdOffset: 0,
  responseOperationOffset: 8,
  responseStatusOffset: 10,
};

const U32_MODULUS = 0x1_0000_0000;
const U64_LIMIT = 2 ** 64;

function readU64(view: DataView, offset: number): number {
  assert(offset >= 0 && offset + 8 <= view.byteLength, 'u64 at %s past its slot', offset);
  const lo = view.getUint32(offset, true);
  const hi = view.getUint32(offset + 4, true);
  return hi * U32_MODULUS + lo;
}

function writeU64(view: DataView, offset: number, value: number): void {
  assert(Number.isInteger(value) && value >= 0, 'u64 field must be a non-negative integer');
  assert(value < U64_LIMIT, 'u64 field out of range');
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / U32_MODULUS), true);
}

function assertUint(value: number, bits: 8 | 16 | 32, what: string): void {
  // The bound as a constant per width: `2 ** bits` of a variable is a call, on every field written.
  const limit = bits === 8 ? 0x100 : bits === 16 ? 0x10000 : 0x100000000;
  assert(Number.isInteger(value) && value >= 0 && value < limit, '%s must be a u%s', what, bits);
}

/** INDIRECT_PAGES(): indirect descriptor pages needed for `nrSegments` segments. */
export function indirectPageCount(nrSegments: number): number {
  return Math.ceil(nrSegments / SEGS_PER_INDIRECT_FRAME);
}

function decodeError(code: DecodeErrorCode, message: string, id: number, operation: number) {
  assert(message.length > 0, 'a %s refusal without a reason', code);
  return { ok: false as const, error: { code, message, id, operation } };
}

class LayoutAbi implements BlkifAbi {
  readonly entrySize: number;
  readonly requestSize: number;
  readonly responseSize: number;

  constructor(
    readonly name: 'x86_64-abi' | 'x86_32-abi',
    readonly layout: BlkifLayout,
  ) {
    this.entrySize = layout.entrySize;
    this.requestSize = layout.requestSize;
    this.responseSize = layout.responseSize;
  }

  /** Zero the whole request slot first: the frontend builds each request privately and copies
   *  the full struct (blkif_queue_rw_req's `*final_ring_req = *ring_req`), so no stale bytes
   *  of an earlier request survive in padding or unused segments. Counts are written as given,
   *  so a hostile peer can lie with this writer; honest callers keep them consistent. */
  writeRequest(view: DataView, offset: number, req: BlkifRequest): void {
    const l = this.layout;
    assert(offset >= 0 && offset + l.requestSize <= view.byteLength, 'request slot out of view');
    for (let i = 0; i < l.requestSize; i += 4) view.setUint32(offset + i, 0, true);
    // One writer per kind, each reading one object shape. Read in one function, the kinds'
    // shapes (and the hostile writers' variants of them) kept V8 re-optimising it after
    // "wrong map" deoptimisations, hundreds of times a campaign.
    switch (req.kind) {
      case 'rw':
        writeRw(view, offset, l, req);
        return;
      case 'discard':
        writeDiscard(view, offset, l, req);
        return;
      case 'indirect':
        writeIndirect(view, offset, l, req);
        return;
      default:
        assertUint(req.operation, 8, 'operation');
        view.setUint8(offset, req.operation);
        writeU64(view, offset + l.idOffset, req.id);
    }
  }

  copyRequest(view: DataView, offset: number): CopyRequestResult {
    assert(offset >= 0 && offset + this.requestSize <= view.byteLength, 'request slot out of view');
    const operation = view.getUint8(offset);
    switch (operation) {
      case BLKIF_OP_READ:
      case BLKIF_OP_WRITE:
      case BLKIF_OP_WRITE_BARRIER:
      case BLKIF_OP_FLUSH_DISKCACHE:
        return this.copyRw(view, offset, operation);
      case BLKIF_OP_DISCARD:
        return this.copyDiscard(view, offset);
      case BLKIF_OP_INDIRECT:
        return this.copyIndirect(view, offset);
      default:
        // RESERVED_1 and anything unknown: only id is meaningful (blkif_request_other).
        return {
          ok: true,
          value: {
            kind: 'unknown',
            operation,
            id: readU64(view, offset + this.layout.idOffset),
          },
        };
    }
  }

  private copyRw(view: DataView, offset: number, operation: 0 | 1 | 2 | 3): CopyRequestResult {
    const l = this.layout;
    const nrSegments = view.getUint8(offset + 1);
    const id = readU64(view, offset + l.idOffset);
    if (nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
      const message = `nr_segments ${nrSegments} > ${BLKIF_MAX_SEGMENTS_PER_REQUEST}`;
      return decodeError('too-many-segments', message, id, operation);
    }
    const segments: BlkifSegment[] = new Array(nrSegments);
    for (let i = 0; i < nrSegments; i++) {
      segments[i] = readSegment(view, offset + l.segOffset + i * BLKIF_SEGMENT_SIZE);
    }
    const handle = view.getUint16(offset + 2, true);
    const sectorNumber = readU64(view, offset + l.sectorNumberOffset);
    const value = {
      kind: 'rw' as const,
      operation,
      nrSegments,
      handle,
      id,
      sectorNumber,
      segments,
    };
    assert(value.segments.length === value.nrSegments, 'rw copy: segment count');
    return { ok: true, value };
  }

  private copyDiscard(view: DataView, offset: number): CopyRequestResult {
    const l = this.layout;
    return {
      ok: true,
      value: {
        kind: 'discard',
        operation: BLKIF_OP_DISCARD,
        flag: view.getUint8(offset + 1),
        handle: view.getUint16(offset + 2, true),
        id: readU64(view, offset + l.idOffset),
        sectorNumber: readU64(view, offset + l.sectorNumberOffset),
        nrSectors: readU64(view, offset + l.discardNrSectorsOffset),
      },
    };
  }

  private copyIndirect(view: DataView, offset: number): CopyRequestResult {
    const l = this.layout;
    const indirectOp = view.getUint8(offset + 1);
    const nrSegments = view.getUint16(offset + 2, true);
    const id = readU64(view, offset + l.idOffset);
    if (nrSegments > BLKIF_INDIRECT_SEGMENT_COUNT_MAX) {
      const message = `indirect nr_segments ${nrSegments} > ${BLKIF_INDIRECT_SEGMENT_COUNT_MAX}`;
      return decodeError('bad-indirect-count', message, id, indirectOp);
    }
    const pageCount = indirectPageCount(nrSegments);
    assert(pageCount <= BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, 'indirect copy: page count');
    const indirectGrefs: number[] = new Array(pageCount);
    for (let i = 0; i < pageCount; i++) {
      indirectGrefs[i] = view.getUint32(offset + l.indirectGrefsOffset + 4 * i, true);
    }
    const handle = view.getUint16(offset + l.indirectHandleOffset, true);
    const sectorNumber = readU64(view, offset + l.sectorNumberOffset);
    return {
      ok: true,
      value: {
        kind: 'indirect',
        operation: BLKIF_OP_INDIRECT,
        indirectOp,
        nrSegments,
        handle,
        id,
        sectorNumber,
        indirectGrefs,
      },
    };
  }

  /** Linux blkback's make_response writes the three fields into the slot directly: since
   *  XSA-216 no private struct (with its padding) is copied onto the shared page. */
  writeResponse(view: DataView, offset: number, rsp: BlkifResponse): void {
    const l = this.layout;
    assert(offset >= 0 && offset + l.responseSize <= view.byteLength, 'response slot out of view');
    assertUint(rsp.operation, 8, 'response operation');
    assert(
      Number.isInteger(rsp.status) && rsp.status >= -0x8000 && rsp.status < 0x8000,
      'status must be an i16',
    );
    writeU64(view, offset + l.responseIdOffset, rsp.id);
    view.setUint8(offset + l.responseOperationOffset, rsp.operation);
    view.setInt16(offset + l.responseStatusOffset, rsp.status, true);
  }

  /** RING_COPY_RESPONSE: each field read once; blkfront validates the copy, never the slot. */
  copyResponse(view: DataView, offset: number): BlkifResponse {
    const l = this.layout;
    assert(offset >= 0 && offset + l.responseSize <= view.byteLength, 'response slot out of view');
    return {
      id: readU64(view, offset + l.responseIdOffset),
      operation: view.getUint8(offset + l.responseOperationOffset),
      status: view.getInt16(offset + l.responseStatusOffset, true),
    };
  }
}

type RequestOf<K extends BlkifRequest['kind']> = Extract<BlkifRequest, { kind: K }>;

/**
 * What every kind of request starts with (operation, id, sector_number) and the handle's range,
 * from numbers: the kinds' objects stay in their own writers, so no writer sees two shapes.
 */
function writeHeader(
  view: DataView,
  offset: number,
  l: BlkifLayout,
  operation: number,
  id: number,
  handle: number,
  sectorNumber: number,
): void {
  // The header lies within the slot, and the slot within the ring's view.
  assert(
    l.sectorNumberOffset + 8 <= l.requestSize && offset + l.requestSize <= view.byteLength,
    'request header past its slot at %s',
    offset,
  );
  assertUint(operation, 8, 'operation');
  view.setUint8(offset, operation);
  writeU64(view, offset + l.idOffset, id);
  assertUint(handle, 16, 'handle');
  writeU64(view, offset + l.sectorNumberOffset, sectorNumber);
}

function writeRw(view: DataView, offset: number, l: BlkifLayout, req: RequestOf<'rw'>): void {
  writeHeader(view, offset, l, req.operation, req.id, req.handle, req.sectorNumber);
  assertUint(req.nrSegments, 8, 'nr_segments');
  assert(req.segments.length <= BLKIF_MAX_SEGMENTS_PER_REQUEST, 'too many segments to write');
  const end = l.segOffset + req.segments.length * BLKIF_SEGMENT_SIZE;
  assert(end <= l.requestSize, 'segments end at %s, past the %s-byte request', end, l.requestSize);
  view.setUint8(offset + 1, req.nrSegments);
  view.setUint16(offset + 2, req.handle, true);
  for (let i = 0; i < req.segments.length; i++) {
    writeSegment(view, offset + l.segOffset + i * BLKIF_SEGMENT_SIZE, req.segments[i]!);
  }
}

function writeDiscard(
  view: DataView,
  offset: number,
  l: BlkifLayout,
  req: RequestOf<'discard'>,
): void {
  writeHeader(view, offset, l, req.operation, req.id, req.handle, req.sectorNumber);
  assertUint(req.flag, 8, 'discard flag');
  view.setUint8(offset + 1, req.flag);
  view.setUint16(offset + 2, req.handle, true);
  writeU64(view, offset + l.discardNrSectorsOffset, req.nrSectors);
  // nr_sectors sits where a rw request's segments start: it must not reach sector_number.
  assert(readU64(view, offset + l.sectorNumberOffset) === req.sectorNumber, 'discard layout');
}

function writeIndirect(
  view: DataView,
  offset: number,
  l: BlkifLayout,
  req: RequestOf<'indirect'>,
): void {
  writeHeader(view, offset, l, req.operation, req.id, req.handle, req.sectorNumber);
  assertUint(req.indirectOp, 8, 'indirect_op');
  assertUint(req.nrSegments, 16, 'indirect nr_segments');
  const grefs = req.indirectGrefs;
  assert(grefs.length <= BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, 'too many indirect pages');
  const end = l.indirectGrefsOffset + 4 * grefs.length;
  assert(end <= l.requestSize, 'indirect grefs end at %s, past the request', end);
  view.setUint8(offset + 1, req.indirectOp);
  view.setUint16(offset + 2, req.nrSegments, true);
  view.setUint16(offset + l.indirectHandleOffset, req.handle, true);
  for (let i = 0; i < grefs.length; i++) {
    assertUint(grefs[i]!, 32, 'indirect gref');
    view.setUint32(offset + l.indirectGrefsOffset + 4 * i, grefs[i]!, true);
  }
}

function writeSegment(view: DataView, offset: number, seg: BlkifSegment): void {
  assertUint(seg.gref, 32, 'gref');
  assertUint(seg.firstSect, 8, 'first_sect');
  assertUint(seg.lastSect, 8, 'last_sect');
  view.setUint32(offset, seg.gref, true);
  view.setUint8(offset + 4, seg.firstSect);
  view.setUint8(offset + 5, seg.lastSect);
  view.setUint16(offset + 6, 0, true);
}

function readSegment(view: DataView, offset: number): BlkifSegment {
  assert(offset + BLKIF_SEGMENT_SIZE <= view.byteLength, 'segment at %s past its slot', offset);
  return {
    gref: view.getUint32(offset, true),
    firstSect: view.getUint8(offset + 4),
    lastSect: view.getUint8(offset + 5),
  };
}

export const X86_64_ABI: BlkifAbi = new LayoutAbi('x86_64-abi', X86_64_LAYOUT);
export const X86_32_ABI: BlkifAbi = new LayoutAbi('x86_32-abi', X86_32_LAYOUT);

/** The FE `protocol` node's value to a layout (xen/io/protocols.h strings). arm-abi shares the
 *  x86_64 layout (u64 fields 8-aligned), so it maps to X86_64_ABI. */
export function abiByName(name: string): BlkifAbi | undefined {
  if (name === 'x86_64-abi' || name === 'arm-abi') return X86_64_ABI;
  if (name === 'x86_32-abi') return X86_32_ABI;
  return undefined;
}

/** Descriptor `i` of an indirect page (struct blkif_request_segment[512]). */
export function writeIndirectSegment(page: DataView, i: number, seg: BlkifSegment): void {
  assert(Number.isInteger(i) && i >= 0 && i < SEGS_PER_INDIRECT_FRAME, 'indirect segment index');
  assert((i + 1) * BLKIF_SEGMENT_SIZE <= page.byteLength, 'indirect page too small');
  writeSegment(page, i * BLKIF_SEGMENT_SIZE, seg);
}

/** Reads descriptor `i` once (Linux xen_blkbk_parse_indirect reads first/last_sect once each);
 *  the values are the frontend's and still need validating. */
export function readIndirectSegment(page: DataView, i: number): BlkifSegment {
  assert(Number.isInteger(i) && i >= 0 && i < SEGS_PER_INDIRECT_FRAME, 'indirect segment index');
  assert((i + 1) * BLKIF_SEGMENT_SIZE <= page.byteLength, 'indirect page too small');
  return readSegment(page, i * BLKIF_SEGMENT_SIZE);
}
