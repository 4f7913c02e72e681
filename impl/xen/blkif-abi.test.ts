import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  abiByName,
  BLKIF_INDIRECT_SEGMENT_COUNT_MAX,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_RSP_EOPNOTSUPP,
  type BlkifAbi,
  type BlkifRequest,
  type BlkifResponse,
  type BlkifSegment,
  type CopyRequestResult,
  indirectPageCount,
  readIndirectSegment,
  SEGS_PER_INDIRECT_FRAME,
  writeIndirectSegment,
  X86_32_ABI,
  X86_64_ABI,
} from './blkif-abi.ts';

const ABIS = [X86_64_ABI, X86_32_ABI] as const;

function hex(view: DataView, offset: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++)
    out += view
      .getUint8(offset + i)
      .toString(16)
      .padStart(2, '0');
  return out;
}

// The sample requests of fidelity/layout.c, and the bytes gcc laid out for them from Xen's
// blkif.h (x86_64 natively, x86_32 with -m32). xen-headers.test.ts re-derives them when gcc and
// the headers are present; these copies keep the check when they are not.
const SAMPLE_RW: BlkifRequest = {
  kind: 'rw',
  operation: BLKIF_OP_WRITE,
  nrSegments: 3,
  handle: 0xca01,
  id: 0x0012_3456_78ab_cdef,
  sectorNumber: 0x0001_0203_0405_0607,
  segments: [0, 1, 2].map((i) => ({
    gref: 0x1000 + i,
    firstSect: i,
    lastSect: 7 - i,
  })),
};
const SAMPLE_DISCARD: BlkifRequest = {
  kind: 'discard',
  operation: BLKIF_OP_DISCARD,
  flag: 1,
  handle: 0x0203,
  id: 0x000f_edcb_a987_6543,
  sectorNumber: 0x0000_1234_0000_5678,
  nrSectors: 0x0000_0001_0000_0002,
};
const SAMPLE_INDIRECT: BlkifRequest = {
  kind: 'indirect',
  operation: BLKIF_OP_INDIRECT,
  indirectOp: BLKIF_OP_READ,
  nrSegments: 1025,
  handle: 0x51,
  id: 42,
  sectorNumber: 0x0000_0002_ffff_ffff,
  indirectGrefs: [0xabc0, 0xabc1, 0xabc2],
};
const SAMPLE_RESPONSE: BlkifResponse = {
  id: 0x001f_ffff_ffff_ffff,
  operation: BLKIF_OP_FLUSH_DISKCACHE,
  status: BLKIF_RSP_EOPNOTSUPP,
};
const SEGS_HEX = '001000000007000001100000010600000210000002050000';
const GOLDEN = {
  'x86_64-abi': {
    rw: `010301ca00000000efcdab78563412000706050403020100${SEGS_HEX}`,
    discard: '0501030200000000436587a9cbed0f0078560000341200000200000001000000',
    indirect: '06000104000000002a00000000000000ffffffff0200000051000000c0ab0000c1ab0000c2ab0000',
    response: 'ffffffffffff1f000300feff',
  },
  'x86_32-abi': {
    rw: `010301caefcdab78563412000706050403020100${SEGS_HEX}`,
    discard: '05010302436587a9cbed0f0078560000341200000200000001000000',
    indirect: '060001042a00000000000000ffffffff0200000051000000c0ab0000c1ab0000c2ab0000',
    response: 'ffffffffffff1f000300feff',
  },
} as const;

describe('blkif ABI layouts', () => {
  it('sizes: x86_64 112/112/16, x86_32 108/108/12', () => {
    expect([X86_64_ABI.entrySize, X86_64_ABI.requestSize, X86_64_ABI.responseSize]).toEqual([
      112, 112, 16,
    ]);
    expect([X86_32_ABI.entrySize, X86_32_ABI.requestSize, X86_32_ABI.responseSize]).toEqual([
      108, 108, 12,
    ]);
  });

  for (const abi of ABIS) {
    it(`${abi.name}: requests and responses land on gcc's bytes`, () => {
      const golden = GOLDEN[abi.name];
      const view = new DataView(new ArrayBuffer(abi.requestSize));
      const cases = [
        [SAMPLE_RW, golden.rw],
        [SAMPLE_DISCARD, golden.discard],
        [SAMPLE_INDIRECT, golden.indirect],
      ] as const;
      for (const [req, bytes] of cases) {
        abi.writeRequest(view, 0, req);
        expect(hex(view, 0, bytes.length / 2)).toBe(bytes);
        for (let i = bytes.length / 2; i < abi.requestSize; i++) expect(view.getUint8(i)).toBe(0);
        expect(abi.copyRequest(view, 0)).toEqual({ ok: true, value: req });
      }
      abi.writeResponse(view, 0, SAMPLE_RESPONSE);
      expect(hex(view, 0, golden.response.length / 2)).toBe(golden.response);
      expect(abi.copyResponse(view, 0)).toEqual(SAMPLE_RESPONSE);
    });
  }

  it('writes a response field by field, leaving the slot padding as it was (make_response)', () => {
    const view = new DataView(new ArrayBuffer(16));
    for (let i = 0; i < 16; i++) view.setUint8(i, 0xee);
    X86_64_ABI.writeResponse(view, 0, { id: 1, operation: 0, status: 0 });
    expect(hex(view, 0, 16)).toBe('0100000000000000' + '00ee0000eeeeeeee');
  });

  it('maps protocol names to layouts (arm-abi shares x86_64)', () => {
    expect(abiByName('x86_64-abi')).toBe(X86_64_ABI);
    expect(abiByName('arm-abi')).toBe(X86_64_ABI);
    expect(abiByName('x86_32-abi')).toBe(X86_32_ABI);
    expect(abiByName('x86_16-abi')).toBeUndefined();
  });

  it('indirect pages hold 512 eight-byte descriptors', () => {
    const page = new DataView(new ArrayBuffer(4096));
    const seg: BlkifSegment = { gref: 0xdead_beef, firstSect: 1, lastSect: 6 };
    writeIndirectSegment(page, SEGS_PER_INDIRECT_FRAME - 1, seg);
    expect(hex(page, 4088, 8)).toBe('efbeadde01060000');
    expect(readIndirectSegment(page, 511)).toEqual(seg);
    expect([0, 1, 512, 513, 4096].map(indirectPageCount)).toEqual([0, 1, 1, 2, 8]);
  });
});

// TypeScript's lib types DataView's constructor generically, which `extends` cannot take as is.
const DataViewBase: new (buffer: ArrayBuffer) => DataView<ArrayBuffer> = DataView;

/** Counts reads per byte, so a test can show every field of a slot is fetched at most once. */
class CountingView extends DataViewBase {
  readonly reads: number[];
  constructor(buffer: ArrayBuffer) {
    super(buffer);
    this.reads = new Array<number>(buffer.byteLength).fill(0);
  }
  private count(offset: number, length: number): void {
    for (let i = 0; i < length; i++) this.reads[offset + i] = (this.reads[offset + i] ?? 0) + 1;
  }
  override getUint8(offset: number): number {
    this.count(offset, 1);
    return super.getUint8(offset);
  }
  override getUint16(offset: number, littleEndian?: boolean): number {
    this.count(offset, 2);
    return super.getUint16(offset, littleEndian);
  }
  override getInt16(offset: number, littleEndian?: boolean): number {
    this.count(offset, 2);
    return super.getInt16(offset, littleEndian);
  }
  override getUint32(offset: number, littleEndian?: boolean): number {
    this.count(offset, 4);
    return super.getUint32(offset, littleEndian);
  }
  maxReads(): number {
    return Math.max(0, ...this.reads);
  }
}

type CopyRequest = (view: DataView, offset: number) => CopyRequestResult;

describe('RING_COPY_REQUEST: decoding peer bytes', () => {
  for (const abi of ABIS) {
    it(`${abi.name}: > 11 direct segments is reported with the id and op to answer`, () => {
      const view = new DataView(new ArrayBuffer(abi.requestSize));
      abi.writeRequest(view, 0, { ...SAMPLE_RW, nrSegments: 12 });
      expect(abi.copyRequest(view, 0)).toMatchObject({
        ok: false,
        error: {
          code: 'too-many-segments',
          id: SAMPLE_RW.id,
          operation: BLKIF_OP_WRITE,
        },
      });
    });

    it(`${abi.name}: > 8 x 512 indirect segments is reported with the inner op`, () => {
      const view = new DataView(new ArrayBuffer(abi.requestSize));
      const max = {
        ...SAMPLE_INDIRECT,
        nrSegments: BLKIF_INDIRECT_SEGMENT_COUNT_MAX,
        indirectGrefs: [1, 2, 3, 4, 5, 6, 7, 8],
      };
      abi.writeRequest(view, 0, max);
      expect(abi.copyRequest(view, 0)).toEqual({ ok: true, value: max });
      abi.writeRequest(view, 0, {
        ...max,
        nrSegments: BLKIF_INDIRECT_SEGMENT_COUNT_MAX + 1,
      });
      expect(abi.copyRequest(view, 0)).toMatchObject({
        ok: false,
        error: { code: 'bad-indirect-count', id: 42, operation: BLKIF_OP_READ },
      });
    });

    it(`${abi.name}: RESERVED_1 and unknown ops decode as 'unknown' with their id`, () => {
      const view = new DataView(new ArrayBuffer(abi.requestSize));
      for (const operation of [BLKIF_OP_RESERVED_1, 7, 255]) {
        abi.writeRequest(view, 0, {
          kind: 'unknown',
          operation,
          id: 2 ** 40 + 3,
        });
        expect(abi.copyRequest(view, 0)).toEqual({
          ok: true,
          value: { kind: 'unknown', operation, id: 2 ** 40 + 3 },
        });
      }
    });
  }

  it('u64 fields read as lo + hi * 2^32 (exact below 2^53, rounded above)', () => {
    const view = new DataView(new ArrayBuffer(112));
    X86_64_ABI.writeRequest(view, 0, {
      kind: 'unknown',
      operation: 9,
      id: Number.MAX_SAFE_INTEGER,
    });
    expect(hex(view, 8, 8)).toBe('ffffffffffff1f00');
    view.setUint32(8, 0xffff_ffff, true);
    view.setUint32(12, 0xffff_ffff, true); // 2^64 - 1 from a hostile peer
    const copy = X86_64_ABI.copyRequest(view, 0);
    expect(copy).toEqual({
      ok: true,
      value: { kind: 'unknown', operation: 9, id: 2 ** 64 },
    });
  });

  it('the copy is private: rewriting the slot afterwards changes nothing', () => {
    const view = new DataView(new ArrayBuffer(112));
    X86_64_ABI.writeRequest(view, 0, SAMPLE_RW);
    const copy = X86_64_ABI.copyRequest(view, 0);
    new Uint8Array(view.buffer).fill(0xff);
    expect(copy).toEqual({ ok: true, value: SAMPLE_RW });
    X86_64_ABI.writeResponse(view, 0, SAMPLE_RESPONSE);
    const rsp = X86_64_ABI.copyResponse(view, 0);
    view.setInt16(10, 0, true);
    expect(rsp).toEqual(SAMPLE_RESPONSE);
  });

  it('a slot rewritten between reads cannot make the copy inconsistent (XSA-155)', () => {
    // A frontend that raises nr_segments to 200 right after the backend read it.
    class Racing extends DataViewBase {
      override getUint8(offset: number): number {
        const value = super.getUint8(offset);
        if (offset === 1) this.setUint8(1, 200);
        return value;
      }
    }
    const view = new Racing(new ArrayBuffer(112));
    X86_64_ABI.writeRequest(view, 0, SAMPLE_RW);
    const copy = X86_64_ABI.copyRequest(view, 0);
    expect(copy.ok && copy.value.kind === 'rw' && copy.value.segments.length).toBe(3);
    expect(copy).toEqual({ ok: true, value: SAMPLE_RW });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties. (2) encode -> copy round-trips in both ABIs; (3) arbitrary bytes never make the
// decoder throw, and what it returns respects the protocol's bounds; (4) no byte of a slot is
// read twice (the double-fetch defence). Each comes with a broken decoder it must catch.

const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 0xff });
const u64 = fc.maxSafeNat();
const segmentArb: fc.Arbitrary<BlkifSegment> = fc.record({
  gref: fc.nat(0xffff_ffff),
  firstSect: u8,
  lastSect: u8,
});

const requestArb: fc.Arbitrary<BlkifRequest> = fc.oneof(
  fc
    .record({
      operation: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
      handle: u16,
      id: u64,
      sectorNumber: u64,
      segments: fc.array(segmentArb, {
        maxLength: BLKIF_MAX_SEGMENTS_PER_REQUEST,
      }),
    })
    .map((r) => ({ kind: 'rw' as const, ...r, nrSegments: r.segments.length })),
  fc.record({
    kind: fc.constant('discard' as const),
    operation: fc.constant(BLKIF_OP_DISCARD as 5),
    flag: u8,
    handle: u16,
    id: u64,
    sectorNumber: u64,
    nrSectors: u64,
  }),
  fc
    .record({
      indirectOp: u8,
      nrSegments: fc.integer({ min: 0, max: BLKIF_INDIRECT_SEGMENT_COUNT_MAX }),
      handle: u16,
      id: u64,
      sectorNumber: u64,
      grefs: fc.array(fc.nat(0xffff_ffff), { minLength: 8, maxLength: 8 }),
    })
    .map(({ grefs, ...r }) => ({
      kind: 'indirect' as const,
      operation: BLKIF_OP_INDIRECT as 6,
      ...r,
      indirectGrefs: grefs.slice(0, indirectPageCount(r.nrSegments)),
    })),
  fc.record({
    kind: fc.constant('unknown' as const),
    operation: fc.oneof(fc.constant(BLKIF_OP_RESERVED_1), fc.integer({ min: 7, max: 255 })),
    id: u64,
  }),
);

const responseArb: fc.Arbitrary<BlkifResponse> = fc.record({
  id: u64,
  operation: u8,
  status: fc.integer({ min: -0x8000, max: 0x7fff }),
});

/** Two slots of a ring pre-filled with junk; the request goes in the second. */
function roundTrip(writer: BlkifAbi, copyRequest: CopyRequest) {
  return fc.property(
    requestArb,
    fc.uint8Array({ minLength: 2 * 112, maxLength: 2 * 112 }),
    (req, junk) => {
      const view = new DataView(junk.slice().buffer);
      writer.writeRequest(view, writer.entrySize, req);
      expect(copyRequest(view, writer.entrySize)).toEqual({
        ok: true,
        value: req,
      });
    },
  );
}

function responseRoundTrip(
  abi: BlkifAbi,
  copyResponse: (view: DataView, offset: number) => BlkifResponse,
) {
  return fc.property(responseArb, (rsp) => {
    const view = new DataView(new ArrayBuffer(2 * abi.entrySize));
    abi.writeResponse(view, abi.entrySize, rsp);
    expect(copyResponse(view, abi.entrySize)).toEqual(rsp);
  });
}

/** Junk slots, with the op byte biased towards the known ops so every decoder path runs. */
function junkSlot(size: number) {
  return fc
    .tuple(fc.integer({ min: 0, max: 9 }), fc.uint8Array({ minLength: size, maxLength: size }))
    .map(([op, bytes]) => {
      const copy = bytes.slice();
      if (op <= 7) copy[0] = op;
      return copy;
    });
}

function decodesJunkSafely(size: number, copyRequest: CopyRequest) {
  return fc.property(junkSlot(size), (bytes) => {
    const result = copyRequest(new DataView(bytes.buffer), 0); // the slot ends the view
    if (!result.ok) {
      expect(['too-many-segments', 'bad-indirect-count']).toContain(result.error.code);
      return;
    }
    const v = result.value;
    if (v.kind === 'rw') {
      expect(v.segments.length).toBe(v.nrSegments);
      expect(v.nrSegments).toBeLessThanOrEqual(BLKIF_MAX_SEGMENTS_PER_REQUEST);
    } else if (v.kind === 'indirect') {
      expect(v.nrSegments).toBeLessThanOrEqual(BLKIF_INDIRECT_SEGMENT_COUNT_MAX);
      expect(v.indirectGrefs.length).toBe(indirectPageCount(v.nrSegments));
    }
  });
}

function readsEachByteOnce(size: number, copyRequest: CopyRequest) {
  return fc.property(junkSlot(size), (bytes) => {
    const view = new CountingView(bytes.slice().buffer);
    copyRequest(view, 0);
    expect(view.maxReads()).toBeLessThanOrEqual(1);
  });
}

/** A decoder that believes nr_segments (the bug XSA-155-style hardening removed). */
function trustingCopy(abi: BlkifAbi): CopyRequest {
  return (view, offset) => {
    const operation = view.getUint8(offset);
    if (operation > 3) return abi.copyRequest(view, offset);
    const nrSegments = view.getUint8(offset + 1);
    const segments: BlkifSegment[] = [];
    for (let i = 0; i < nrSegments; i++) {
      const at = offset + abi.layout.segOffset + 8 * i;
      segments.push({
        gref: view.getUint32(at, true),
        firstSect: view.getUint8(at + 4),
        lastSect: view.getUint8(at + 5),
      });
    }
    const id = view.getUint32(offset + abi.layout.idOffset, true);
    return {
      ok: true,
      value: {
        kind: 'rw',
        operation: operation as 0,
        nrSegments,
        handle: 0,
        id,
        sectorNumber: 0,
        segments,
      },
    };
  };
}

describe('ABI properties', () => {
  for (const abi of ABIS) {
    it(`${abi.name}: request write -> copy round-trips`, () => {
      fc.assert(
        roundTrip(abi, (v, o) => abi.copyRequest(v, o)),
        { numRuns: 200 },
      );
    });
    it(`${abi.name}: response write -> copy round-trips`, () => {
      fc.assert(
        responseRoundTrip(abi, (v, o) => abi.copyResponse(v, o)),
        { numRuns: 200 },
      );
    });
    it(`${abi.name}: arbitrary slot bytes decode without throwing, within bounds`, () => {
      fc.assert(
        decodesJunkSafely(abi.requestSize, (v, o) => abi.copyRequest(v, o)),
        { numRuns: 300 },
      );
    });
    it(`${abi.name}: no slot byte is read twice`, () => {
      fc.assert(
        readsEachByteOnce(abi.requestSize, (v, o) => abi.copyRequest(v, o)),
        { numRuns: 200 },
      );
    });
  }

  it('teeth: an x86_32 ring decoded with x86_64 offsets fails the round trip', () => {
    expect(
      fc.check(
        roundTrip(X86_32_ABI, (v, o) => X86_64_ABI.copyRequest(v, o)),
        { numRuns: 200 },
      ).failed,
    ).toBe(true);
  });

  it('teeth: a response decoder reading status unsigned fails the round trip', () => {
    const unsignedStatus = (v: DataView, o: number): BlkifResponse => ({
      ...X86_64_ABI.copyResponse(v, o),
      status: v.getUint16(o + 10, true),
    });
    expect(fc.check(responseRoundTrip(X86_64_ABI, unsignedStatus), { numRuns: 200 }).failed).toBe(
      true,
    );
  });

  it('teeth: a decoder that trusts nr_segments is caught on junk', () => {
    for (const abi of ABIS) {
      expect(
        fc.check(decodesJunkSafely(abi.requestSize, trustingCopy(abi)), {
          numRuns: 300,
        }).failed,
      ).toBe(true);
    }
  });

  it('teeth: a decoder that re-reads nr_segments after validating it is caught', () => {
    const doubleFetch: CopyRequest = (view, offset) => {
      const result = X86_64_ABI.copyRequest(view, offset);
      if (result.ok && result.value.kind === 'rw')
        result.value.nrSegments = view.getUint8(offset + 1);
      return result;
    };
    expect(fc.check(readsEachByteOnce(112, doubleFetch), { numRuns: 200 }).failed).toBe(true);
  });
});
