// The garbage-request table: requests a hostile frontend publishes on its own ring that blkback
// must refuse (reference section 5.5), each with the status Linux answers it with — dispatch_rw_
// block_io's and xen_vbd_translate's checks, xen_blkbk_parse_indirect's, and the unknown-op
// branch of dispatch_other_io. Adding a kind of garbage is one row.
import { assert } from '../../assert.ts';
import {
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  type BlkifRequest,
  indirectPageCount,
} from '../../xen/blkif-abi.ts';

/** What a row may use to build its request. */
export interface GarbageContext {
  readonly id: number;
  readonly value: number;
  readonly handle: number;
  readonly diskSectors: number;
  readonly indirectSegmentsMax: number;
  /** A reference the guest has not granted. */
  readonly ungranted: number;
}

/** One kind of garbage: what is wrong with it, the status Linux answers, the request itself. */
export interface Garbage {
  readonly what: string;
  readonly status: number;
  readonly req: BlkifRequest;
}

type Segment = { gref: number; firstSect: number; lastSect: number };

/**
 * A plausible reference (the first past the reserved entries). Linux refuses each row that uses
 * it before mapping anything (dispatch_rw_block_io checks sectors and segments first).
 */
const SOME_GREF = 8;

function rw(
  g: GarbageContext,
  operation: 0 | 1,
  nrSegments: number,
  sector: number,
  segments: Segment[],
): BlkifRequest {
  assert(segments.length <= nrSegments, 'no more segments written than nr_segments says');
  return {
    kind: 'rw',
    operation,
    nrSegments,
    handle: g.handle,
    id: g.id,
    sectorNumber: sector,
    segments,
  };
}

function indirect(g: GarbageContext, indirectOp: number, nrSegments: number): BlkifRequest {
  const pageCount = Math.min(indirectPageCount(nrSegments), BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
  assert(pageCount >= 1, 'an indirect request carries at least one indirect page');
  return {
    kind: 'indirect',
    operation: BLKIF_OP_INDIRECT,
    indirectOp,
    nrSegments,
    handle: g.handle,
    id: g.id,
    sectorNumber: 0,
    indirectGrefs: new Array<number>(pageCount).fill(SOME_GREF),
  };
}

/**
 * The table, built for one context: requests blkback must refuse (section 5.5), each with the
 * status Linux answers it with. Built only when the adversary publishes one, so a fresh list is
 * cheap; adding a kind of garbage is one row.
 */
function garbageRows(g: GarbageContext): readonly Garbage[] {
  const rows: readonly Garbage[] = [
    {
      what: 'unknown operation',
      status: BLKIF_RSP_EOPNOTSUPP,
      req: {
        kind: 'unknown',
        operation: g.value % 2 === 0 ? BLKIF_OP_RESERVED_1 : 7 + (g.value % 200),
        id: g.id,
      },
    },
    {
      what: 'read with 0 segments',
      status: BLKIF_RSP_ERROR,
      req: rw(g, BLKIF_OP_READ, 0, 0, []),
    },
    {
      what: 'last_sect < first_sect',
      status: BLKIF_RSP_ERROR,
      req: rw(g, BLKIF_OP_WRITE, 1, 0, [{ gref: SOME_GREF, firstSect: 5, lastSect: 2 }]),
    },
    {
      what: 'last_sect beyond the page',
      status: BLKIF_RSP_ERROR,
      req: rw(g, BLKIF_OP_READ, 1, 0, [
        { gref: SOME_GREF, firstSect: 0, lastSect: 8 + (g.value % 248) },
      ]),
    },
    {
      what: 'sector beyond the disk',
      status: BLKIF_RSP_ERROR,
      req: rw(g, BLKIF_OP_READ, 1, g.diskSectors + (g.value % 100), [
        { gref: SOME_GREF, firstSect: 0, lastSect: 7 },
      ]),
    },
    {
      what: 'indirect with too many segments',
      status: BLKIF_RSP_ERROR,
      req: indirect(g, BLKIF_OP_READ, Math.min(0xffff, g.indirectSegmentsMax + 1 + (g.value % 64))),
    },
    {
      what: 'too many direct segments',
      status: BLKIF_RSP_ERROR,
      req: rw(g, BLKIF_OP_READ, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1 + (g.value % 244), 0, []),
    },
    {
      what: 'ungranted data page',
      status: BLKIF_RSP_ERROR,
      req: rw(g, BLKIF_OP_READ, 1, 0, [{ gref: g.ungranted, firstSect: 0, lastSect: 7 }]),
    },
    {
      what: 'indirect with inner op flush',
      status: BLKIF_RSP_ERROR,
      req: indirect(g, BLKIF_OP_FLUSH_DISKCACHE, 1),
    },
  ];
  assert(
    rows.every((row) => row.req.id === g.id),
    'every row carries the adversary-drawn id',
  );
  return rows;
}

/** The garbage `g.value` selects: the request, the status it must get, one line saying why. */
export function buildGarbage(g: GarbageContext): Garbage {
  const rows = garbageRows(g);
  const row = rows[g.value % rows.length];
  assert(row !== undefined, 'the value selects a row of the garbage table');
  return row;
}
