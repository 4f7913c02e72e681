// The garbage-request table: requests a hostile frontend publishes on its own ring that blkback
// must refuse (reference section 5.5), each with the status Linux answers it with — dispatch_rw_
// block_io's and xen_vbd_translate's checks, xen_blkbk_parse_indirect's, and the unknown-op
// branch of dispatch_other_io. Adding a kind of garbage is one row. Each row also names the report
// its refusal gives (which check of blkback refused it), so the honest side is judged on the
// exact defence, not on some error.
import { assert } from '../../assert.ts';
import type { BlkbackReportCode } from '../../blkfront/device.ts';
import {
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_DISCARD,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  type BlkifRequest,
  type BlkifSegment,
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
  /** The guest's grant table size: references from here on can never be granted. */
  readonly refCountMax: number;
  /**
   * The guest grants the backend one page of its own: an indirect page holding `descriptors`
   * (read-only), or with none a data page (writable). The reference, or undefined when the
   * guest's grant table is full (the row then falls back to a page blkback never maps).
   */
  grantPage(descriptors: readonly BlkifSegment[] | undefined): number | undefined;
}

/** A garbage request built: the request, the status Linux answers it with, one line why. */
export interface Garbage {
  readonly what: string;
  readonly status: number;
  /** The report blkback's refusing check files, and the grant it names (map failures). */
  readonly report: BlkbackReportCode;
  readonly gref: number | undefined;
  readonly req: BlkifRequest;
}

/** One row: what is wrong, the status, the report, and how to build it for this context. */
interface GarbageRow {
  readonly what: string;
  readonly status: number;
  readonly report: BlkbackReportCode;
  /** When the report depends on the connection (indirect segments negotiated or not). */
  reportFor?(g: GarbageContext): BlkbackReportCode;
  build(g: GarbageContext): BlkifRequest;
}

type Segment = { gref: number; firstSect: number; lastSect: number };

/**
 * A plausible reference (the first past the reserved entries). Linux refuses each row that uses
 * it before mapping anything (dispatch_rw_block_io checks sectors and segments first).
 */
const SOME_GREF = 8;
const SECTORS_PER_PAGE = 8;

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

function indirect(
  g: GarbageContext,
  indirectOp: number,
  nrSegments: number,
  page = SOME_GREF,
): BlkifRequest {
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
    indirectGrefs: new Array<number>(pageCount).fill(page),
  };
}

/** Whole-page descriptors, all through `gref` but the one at `bad`, which goes through `badRef`. */
function descriptorsWith(n: number, gref: number, bad: number, badRef: number): BlkifSegment[] {
  assert(bad >= 0 && bad < n, 'the bad descriptor is one of the request');
  const out: BlkifSegment[] = [];
  for (let i = 0; i < n; i++)
    out.push({ gref: i === bad ? badRef : gref, firstSect: 0, lastSect: 7 });
  return out;
}

/** Requests blkback must refuse (section 5.5), each with the status Linux answers it with. */
const GARBAGE: readonly GarbageRow[] = [
  {
    what: 'unknown operation',
    report: 'request-rejected',
    status: BLKIF_RSP_EOPNOTSUPP,
    build(g) {
      const operation = g.value % 2 === 0 ? BLKIF_OP_RESERVED_1 : 7 + (g.value % 200);
      assert(operation === BLKIF_OP_RESERVED_1 || operation > BLKIF_OP_INDIRECT, 'no blkif op');
      return { kind: 'unknown', operation, id: g.id };
    },
  },
  {
    what: 'read with 0 segments',
    report: 'request-rejected',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const req = rw(g, BLKIF_OP_READ, 0, 0, []);
      assert(req.kind === 'rw' && req.nrSegments === 0, 'a data op with nothing to move');
      return req;
    },
  },
  {
    what: 'last_sect < first_sect',
    report: 'bad-segment',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const segment = { gref: SOME_GREF, firstSect: 5, lastSect: 2 };
      assert(segment.lastSect < segment.firstSect, 'a segment that ends before it starts');
      return rw(g, BLKIF_OP_WRITE, 1, 0, [segment]);
    },
  },
  {
    what: 'last_sect beyond the page',
    report: 'bad-segment',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const lastSect = 8 + (g.value % 248);
      assert(lastSect >= SECTORS_PER_PAGE && lastSect <= 255, 'a u8 past the page');
      return rw(g, BLKIF_OP_READ, 1, 0, [{ gref: SOME_GREF, firstSect: 0, lastSect }]);
    },
  },
  {
    what: 'sector beyond the disk',
    report: 'out-of-range',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const sector = g.diskSectors + (g.value % 100);
      assert(sector >= g.diskSectors, 'starts at or past the end of the disk');
      return rw(g, BLKIF_OP_READ, 1, sector, [{ gref: SOME_GREF, firstSect: 0, lastSect: 7 }]);
    },
  },
  {
    what: 'indirect with too many segments',
    report: 'request-rejected',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const nrSegments = Math.min(0xffff, g.indirectSegmentsMax + 1 + (g.value % 64));
      assert(nrSegments > g.indirectSegmentsMax, 'above what blkback advertised');
      return indirect(g, BLKIF_OP_READ, nrSegments);
    },
  },
  {
    what: 'too many direct segments',
    report: 'bad-request',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const nrSegments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1 + (g.value % 244);
      assert(nrSegments > BLKIF_MAX_SEGMENTS_PER_REQUEST && nrSegments <= 255, 'a u8 above 11');
      return rw(g, BLKIF_OP_READ, nrSegments, 0, []);
    },
  },
  {
    what: 'ungranted data page',
    report: 'grant-map-failed',
    status: BLKIF_RSP_ERROR,
    build(g) {
      assert(g.ungranted >= g.refCountMax, 'past the end of the grant table: never granted');
      return rw(g, BLKIF_OP_READ, 1, 0, [{ gref: g.ungranted, firstSect: 0, lastSect: 7 }]);
    },
  },
  {
    what: 'indirect with inner op flush',
    report: 'request-rejected',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const inner: number = BLKIF_OP_FLUSH_DISKCACHE;
      assert(inner !== BLKIF_OP_READ && inner !== BLKIF_OP_WRITE, 'an inner op blkback refuses');
      return indirect(g, inner, 1);
    },
  },
  {
    // xen_blkbk_parse_indirect reads the descriptors, then xen_blkbk_map fails in the first batch
    // ("invalid buffer -- could not remap it"): the mapped ones are unmapped (XSA-365).
    what: 'indirect with an ungranted data page in its first batch',
    report: 'grant-map-failed',
    status: BLKIF_RSP_ERROR,
    // Without indirect segments in this connection the request is refused before any map.
    reportFor: (g) => (g.indirectSegmentsMax >= 1 ? 'grant-map-failed' : 'request-rejected'),
    build(g) {
      const n = Math.max(
        1,
        Math.min(g.indirectSegmentsMax, 1 + (g.value % BLKIF_MAX_SEGMENTS_PER_REQUEST)),
      );
      const bad = Math.floor(g.value / 16) % n;
      assert(n <= BLKIF_MAX_SEGMENTS_PER_REQUEST, 'within the first batch of segments');
      const data = g.grantPage(undefined);
      const page =
        data === undefined ? undefined : g.grantPage(descriptorsWith(n, data, bad, g.ungranted));
      // A full grant table: the same refusal through a direct request.
      if (page === undefined)
        return rw(g, BLKIF_OP_READ, 1, 0, [{ gref: g.ungranted, firstSect: 0, lastSect: 7 }]);
      return indirect(g, BLKIF_OP_READ, n, page);
    },
  },
  {
    // dispatch_rw_block_io's switch on indirect_op: anything but READ or WRITE goes to
    // fail_response before a page is mapped, however well-formed the rest is.
    what: 'well-formed indirect with inner op discard',
    report: 'request-rejected',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const n = 1 + (g.value % 8);
      const data = g.grantPage(undefined);
      const page = data === undefined ? undefined : g.grantPage(descriptorsWith(n, data, 0, data));
      const inner = g.value % 2 === 0 ? BLKIF_OP_DISCARD : 7 + (g.value % 100);
      assert(inner !== BLKIF_OP_READ && inner !== BLKIF_OP_WRITE, 'an inner op blkback refuses');
      return indirect(g, inner, n, page ?? SOME_GREF);
    },
  },
];

/**
 * Requests whose data grants map up to a late one that does not (xen_blkbk_map's failure after
 * some segments of the batch mapped): exactly this request fails with BLKIF_RSP_ERROR and what
 * was mapped for it is unmapped (XSA-365). The mapFailure attack's table.
 */
const MAP_FAILURES: readonly GarbageRow[] = [
  {
    what: 'direct request with an ungranted last segment',
    report: 'grant-map-failed',
    status: BLKIF_RSP_ERROR,
    build(g) {
      const n = 2 + (Math.floor(g.value / 2) % (BLKIF_MAX_SEGMENTS_PER_REQUEST - 1));
      const data = g.grantPage(undefined);
      assert(n >= 2 && n <= BLKIF_MAX_SEGMENTS_PER_REQUEST, 'a direct request of 2..11 segments');
      // A full grant table: only the ungranted segment, the same refusal.
      if (data === undefined)
        return rw(g, BLKIF_OP_READ, 1, 0, [{ gref: g.ungranted, firstSect: 0, lastSect: 7 }]);
      return rw(g, BLKIF_OP_READ, n, 0, descriptorsWith(n, data, n - 1, g.ungranted));
    },
  },
  {
    what: 'indirect request with an ungranted data page late in its first batch',
    report: 'grant-map-failed',
    status: BLKIF_RSP_ERROR,
    reportFor: (g) => (g.indirectSegmentsMax >= 1 ? 'grant-map-failed' : 'request-rejected'),
    build(g) {
      const room = Math.min(g.indirectSegmentsMax, BLKIF_MAX_SEGMENTS_PER_REQUEST);
      const n = Math.max(1, Math.min(room, 2 + (Math.floor(g.value / 2) % 10)));
      const bad = n - 1;
      const data = g.grantPage(undefined);
      const page =
        data === undefined ? undefined : g.grantPage(descriptorsWith(n, data, bad, g.ungranted));
      assert(bad >= 0 && n <= BLKIF_MAX_SEGMENTS_PER_REQUEST, 'the bad one in the first batch');
      if (page === undefined)
        return rw(g, BLKIF_OP_READ, 1, 0, [{ gref: g.ungranted, firstSect: 0, lastSect: 7 }]);
      return indirect(g, BLKIF_OP_READ, n, page);
    },
  },
];

/** What each row of the table is, in the order a value selects them. */
export const GARBAGE_KINDS: readonly string[] = GARBAGE.map((row) => row.what);
/** The mapFailure attack's rows, in the order a value selects them. */
export const MAP_FAILURE_KINDS: readonly string[] = MAP_FAILURES.map((row) => row.what);

/**
 * The garbage `g.value` selects, built: the request, the status it must get, one line why. From
 * the garbage table, or with `mapFailures` from the late-map-failure table.
 */
export function buildGarbage(g: GarbageContext, mapFailures = false): Garbage {
  const table = mapFailures ? MAP_FAILURES : GARBAGE;
  const row = table[g.value % table.length];
  assert(row !== undefined, 'the value selects a row of the garbage table');
  const req = row.build(g);
  assert(req.id === g.id, 'the garbage carries the adversary-drawn id');
  const report = row.reportFor?.(g) ?? row.report;
  // Every map failure of the table is on the one ungranted reference.
  const gref = report === 'grant-map-failed' ? g.ungranted : undefined;
  return { what: row.what, status: row.status, report, gref, req };
}
