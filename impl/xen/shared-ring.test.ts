import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RING_IDX_MODULUS, type RingIdx, ringIdx, ringIdxAdd } from './ring-index.ts';
import {
  type BackRing,
  backProducerOverflow,
  backRingAttach,
  entryOffset,
  type FrontRing,
  finalCheckForRequests,
  finalCheckForResponses,
  frontProducerOverflow,
  frontRingAttach,
  frontRingInit,
  freeRequests,
  mustNotify,
  pushRequestsAndCheckNotify,
  pushResponsesAndCheckNotify,
  requestConsOverflow,
  reqEvent,
  reqProd,
  ringEntryCount,
  ringFull,
  rspEvent,
  rspProd,
  SRING_HEADER_SIZE,
  type SharedRing,
  setReqEvent,
  setReqProd,
  setRspEvent,
  setRspProd,
  sharedRingAttach,
  sharedRingInit,
  unconsumedRequests,
  unconsumedResponses,
} from './shared-ring.ts';

const PAGE_SIZE = 4096;

function newRing(order = 0, entrySize = 112): SharedRing {
  const ring = sharedRingAttach(new DataView(new ArrayBuffer(PAGE_SIZE << order)), entrySize);
  sharedRingInit(ring);
  return ring;
}

/** A connected pair whose indices all start at `start` (FRONT_RING_ATTACH / BACK_RING_ATTACH). */
function pairAt(start: number): {
  sring: SharedRing;
  front: FrontRing;
  back: BackRing;
} {
  const sring = newRing();
  const s = ringIdx(start);
  setReqProd(sring, s);
  setRspProd(sring, s);
  setReqEvent(sring, ringIdxAdd(s, 1));
  setRspEvent(sring, ringIdxAdd(s, 1));
  return {
    sring,
    front: frontRingAttach(sring, s),
    back: backRingAttach(sring),
  };
}

describe('shared ring page layout', () => {
  it('SHARED_RING_INIT writes prods 0 and events 1 at offsets 0/8 and 4/12, zeroes 16..63', () => {
    const view = new DataView(new ArrayBuffer(PAGE_SIZE));
    for (let i = 0; i < PAGE_SIZE; i++) view.setUint8(i, 0xa5);
    const ring = sharedRingAttach(view, 112);
    sharedRingInit(ring);
    expect([0, 4, 8, 12].map((o) => view.getUint32(o, true))).toEqual([0, 1, 0, 1]);
    for (let i = 16; i < SRING_HEADER_SIZE; i++) expect(view.getUint8(i)).toBe(0);
    expect(view.getUint8(SRING_HEADER_SIZE)).toBe(0xa5); // entries untouched
    expect([reqProd(ring), reqEvent(ring), rspProd(ring), rspEvent(ring)]).toEqual([0, 1, 0, 1]);
  });

  it('accessors are little-endian uint32 at their ring.h offsets', () => {
    const ring = newRing();
    setReqProd(ring, ringIdx(0x0403_0201));
    setReqEvent(ring, ringIdx(0xffff_fffe));
    setRspProd(ring, ringIdx(7));
    setRspEvent(ring, ringIdx(8));
    const bytes = new Uint8Array(ring.view.buffer, 0, 16);
    expect([...bytes]).toEqual([1, 2, 3, 4, 0xfe, 0xff, 0xff, 0xff, 7, 0, 0, 0, 8, 0, 0, 0]);
  });

  it('holds 32 x 2^order entries for orders 0..4 in both ABIs (invariant 14)', () => {
    for (const entrySize of [112, 108]) {
      for (let order = 0; order <= 4; order++) {
        expect(ringEntryCount(PAGE_SIZE << order, entrySize)).toBe(32 << order);
        expect(newRing(order, entrySize).size).toBe(32 << order);
      }
    }
    expect(ringEntryCount(SRING_HEADER_SIZE + 111, 112)).toBe(0);
    expect(ringEntryCount(SRING_HEADER_SIZE + 3 * 112, 112)).toBe(2);
  });

  it('places slot i at 64 + (i & (size-1)) * entrySize', () => {
    const ring = newRing(0, 108);
    expect(entryOffset(ring, ringIdx(0))).toBe(64);
    expect(entryOffset(ring, ringIdx(33))).toBe(64 + 108);
    expect(entryOffset(ring, ringIdx(0xffff_ffff))).toBe(64 + 31 * 108);
  });
});

describe('front and back private indices', () => {
  it('FRONT_RING_INIT starts at 0; BACK_RING_ATTACH starts at the shared rsp_prod', () => {
    const sring = newRing();
    expect(frontRingInit(sring)).toMatchObject({
      reqProdPvt: 0,
      rspCons: 0,
      size: 32,
    });
    setRspProd(sring, ringIdx(77));
    expect(backRingAttach(sring)).toMatchObject({
      rspProdPvt: 77,
      reqCons: 77,
      size: 32,
    });
  });

  it('allows size outstanding requests (the macros, not the prose size-1)', () => {
    const { front } = pairAt(0xffff_fff0);
    expect(freeRequests(front)).toBe(32);
    front.reqProdPvt = ringIdxAdd(front.reqProdPvt, 32);
    expect(freeRequests(front)).toBe(0);
    expect(ringFull(front)).toBe(true);
  });

  it('caps unconsumed requests by the free response space', () => {
    const { sring, back } = pairAt(0xffff_fffc);
    setReqProd(sring, ringIdxAdd(back.reqCons, 10));
    expect(unconsumedRequests(back)).toBe(10);
    setReqProd(sring, ringIdxAdd(back.rspProdPvt, 30));
    back.reqCons = ringIdxAdd(back.reqCons, 30); // 30 taken, none answered
    expect(unconsumedRequests(back)).toBe(0);
    setReqProd(sring, ringIdxAdd(back.rspProdPvt, 32));
    expect(unconsumedRequests(back)).toBe(2);
    setReqProd(sring, ringIdxAdd(back.rspProdPvt, 40)); // hostile: only 2 response slots left
    expect(unconsumedRequests(back)).toBe(2);
    expect(requestConsOverflow(back, ringIdxAdd(back.rspProdPvt, 31))).toBe(false);
    expect(requestConsOverflow(back, ringIdxAdd(back.rspProdPvt, 32))).toBe(true);
  });

  it('reports a frontend whose req_prod runs more than size ahead (hostile)', () => {
    const { sring, back } = pairAt(0xffff_fff0);
    setReqProd(sring, ringIdxAdd(back.rspProdPvt, 32));
    expect(backProducerOverflow(back)).toBe(false);
    setReqProd(sring, ringIdxAdd(back.rspProdPvt, 33));
    expect(backProducerOverflow(back)).toBe(true);
    setReqProd(sring, ringIdxAdd(back.rspProdPvt, -1)); // behind: 2^32-1 ahead
    expect(backProducerOverflow(back)).toBe(true);
  });

  it('reports a backend whose rsp_prod runs more than size ahead (hostile)', () => {
    const { sring, front } = pairAt(0xffff_ffe0);
    setRspProd(sring, ringIdxAdd(front.rspCons, 32));
    expect(frontProducerOverflow(front)).toBe(false);
    setRspProd(sring, ringIdxAdd(front.rspCons, 33));
    expect(frontProducerOverflow(front)).toBe(true);
    expect(unconsumedResponses(front)).toBe(33); // the raw count: callers check overflow first
  });
});

describe('notification rules', () => {
  it('notifies iff the event index lies in (old, new] mod 2^32 (invariant 15)', () => {
    const at = (n: number) => ringIdx(n);
    expect(mustNotify(at(10), at(12), at(11))).toBe(true);
    expect(mustNotify(at(10), at(12), at(12))).toBe(true);
    expect(mustNotify(at(10), at(12), at(10))).toBe(false);
    expect(mustNotify(at(10), at(12), at(13))).toBe(false);
    expect(mustNotify(at(10), at(10), at(11))).toBe(false); // nothing published
    expect(mustNotify(at(0xffff_fffe), at(1), at(0xffff_ffff))).toBe(true);
    expect(mustNotify(at(0xffff_fffe), at(1), at(0))).toBe(true);
    expect(mustNotify(at(0xffff_fffe), at(1), at(2))).toBe(false);
    expect(mustNotify(at(0xffff_ffff), at(3), at(0))).toBe(true);
  });

  it('the first push after SHARED_RING_INIT notifies, the next one does not', () => {
    const sring = newRing();
    const front = frontRingInit(sring);
    front.reqProdPvt = ringIdx(2);
    expect(pushRequestsAndCheckNotify(front)).toBe(true);
    expect(reqProd(sring)).toBe(2);
    front.reqProdPvt = ringIdx(3);
    expect(pushRequestsAndCheckNotify(front)).toBe(false);
  });

  it('final check for requests sets req_event = req_cons + 1 across the wrap', () => {
    const { sring, front, back } = pairAt(0xffff_ffff);
    expect(finalCheckForRequests(back)).toBe(false);
    expect(reqEvent(sring)).toBe(0);
    front.reqProdPvt = ringIdxAdd(front.reqProdPvt, 1);
    expect(pushRequestsAndCheckNotify(front)).toBe(true); // wakes the idle backend
    expect(finalCheckForRequests(back)).toBe(true);
    expect(reqEvent(sring)).toBe(0); // work found first: event untouched
  });

  it('final check for responses mirrors it on the front', () => {
    const { sring, front, back } = pairAt(0xffff_fffe);
    expect(finalCheckForResponses(front)).toBe(false);
    expect(rspEvent(sring)).toBe(0xffff_ffff);
    front.reqProdPvt = ringIdxAdd(front.reqProdPvt, 1);
    pushRequestsAndCheckNotify(front);
    back.reqCons = ringIdxAdd(back.reqCons, 1);
    back.rspProdPvt = ringIdxAdd(back.rspProdPvt, 1);
    expect(pushResponsesAndCheckNotify(back)).toBe(true);
    expect(rspProd(sring)).toBe(0xffff_ffff);
    expect(finalCheckForResponses(front)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: a frontend and a backend driven by random push / consume / final-check sequences,
// starting near 2^32, against a reference model in unbounded integers (no wrap, no mod): the
// ring's indices equal the reference's mod 2^32, every notify decision equals "event in
// (old, new]", and no wakeup is lost (invariants 11, 13, 15, 16).

/** The ring operations under test; teeth tests swap one for a broken variant. */
interface RingOps {
  pushRequestsAndCheckNotify(f: FrontRing): boolean;
  pushResponsesAndCheckNotify(b: BackRing): boolean;
  finalCheckForRequests(b: BackRing): boolean;
  finalCheckForResponses(f: FrontRing): boolean;
}

const honest: RingOps = {
  pushRequestsAndCheckNotify,
  pushResponsesAndCheckNotify,
  finalCheckForRequests,
  finalCheckForResponses,
};

type Cmd =
  | { t: 'produce'; n: number } // front fills request slots
  | { t: 'pushReq' }
  | { t: 'consume'; n: number } // back takes requests
  | { t: 'respond'; n: number } // back fills response slots
  | { t: 'pushRsp' }
  | { t: 'finalReq' }
  | { t: 'reap'; n: number } // front takes responses
  | { t: 'finalRsp' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    t: fc.constant('produce' as const),
    n: fc.integer({ min: 1, max: 40 }),
  }),
  fc.constant({ t: 'pushReq' as const }),
  fc.record({
    t: fc.constant('consume' as const),
    n: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({
    t: fc.constant('respond' as const),
    n: fc.integer({ min: 1, max: 40 }),
  }),
  fc.constant({ t: 'pushRsp' as const }),
  fc.constant({ t: 'finalReq' as const }),
  fc.record({
    t: fc.constant('reap' as const),
    n: fc.integer({ min: 1, max: 40 }),
  }),
  fc.constant({ t: 'finalRsp' as const }),
);

/** Start indices: right below the wrap most of the time, 0 sometimes. */
const startArb = fc.oneof(
  fc.integer({ min: 1, max: 100 }).map((k) => RING_IDX_MODULUS - k),
  fc.constant(0),
);

/** The reference: logical counts from 0, never wrapped; `start` is added only to compare. */
interface Reference {
  reqProdPvt: number;
  reqProd: number;
  reqEvent: number;
  reqCons: number;
  rspProdPvt: number;
  rspProd: number;
  rspEvent: number;
  rspCons: number;
}

function refWork(r: Reference, size: number): number {
  return Math.min(r.reqProd - r.reqCons, size - (r.reqCons - r.rspProdPvt));
}

/** Moves a private index by up to c.n in the ring and in the reference; returns the count. */
function move(c: Cmd & { n: number }, r: Reference, front: FrontRing, back: BackRing): number {
  const size = front.size;
  let n = 0;
  if (c.t === 'produce') {
    n = Math.min(c.n, size - (r.reqProdPvt - r.rspCons));
    r.reqProdPvt += n;
    for (let i = 0; i < c.n && freeRequests(front) > 0; i++)
      front.reqProdPvt = ringIdxAdd(front.reqProdPvt, 1);
  } else if (c.t === 'consume') {
    n = Math.min(c.n, refWork(r, size));
    r.reqCons += n;
    for (let i = 0; i < c.n && unconsumedRequests(back) > 0; i++)
      back.reqCons = ringIdxAdd(back.reqCons, 1);
  } else if (c.t === 'respond') {
    n = Math.min(c.n, r.reqCons - r.rspProdPvt);
    r.rspProdPvt += n;
    for (let i = 0; i < c.n && back.rspProdPvt !== back.reqCons; i++)
      back.rspProdPvt = ringIdxAdd(back.rspProdPvt, 1);
  } else {
    n = Math.min(c.n, r.rspProd - r.rspCons);
    r.rspCons += n;
    for (let i = 0; i < c.n && unconsumedResponses(front) > 0; i++)
      front.rspCons = ringIdxAdd(front.rspCons, 1);
  }
  return n;
}

function runRingModel(ops: RingOps, start: number, cmds: readonly Cmd[]): string | undefined {
  const { sring, front, back } = pairAt(start);
  const size = sring.size;
  const r: Reference = {
    ...{ reqProdPvt: 0, reqProd: 0, reqEvent: 1, reqCons: 0 },
    ...{ rspProdPvt: 0, rspProd: 0, rspEvent: 1, rspCons: 0 },
  };
  let backIdle = false;
  let frontIdle = false;
  for (const [step, c] of cmds.entries()) {
    const where = `step ${step} (${c.t})`;
    if ('n' in c) {
      const n = move(c, r, front, back);
      if (n > 0 && c.t === 'consume') backIdle = false;
      if (n > 0 && c.t === 'reap') frontIdle = false;
    } else if (c.t === 'pushReq') {
      const expected = r.reqProd < r.reqEvent && r.reqEvent <= r.reqProdPvt;
      const published = r.reqProdPvt > r.reqProd;
      r.reqProd = r.reqProdPvt;
      const notify = ops.pushRequestsAndCheckNotify(front);
      if (notify !== expected) return `${where}: notify ${notify}, reference says ${expected}`;
      if (backIdle && published && !notify) return `${where}: lost wakeup of the idle backend`;
      if (notify) backIdle = false;
    } else if (c.t === 'pushRsp') {
      const expected = r.rspProd < r.rspEvent && r.rspEvent <= r.rspProdPvt;
      const published = r.rspProdPvt > r.rspProd;
      r.rspProd = r.rspProdPvt;
      const notify = ops.pushResponsesAndCheckNotify(back);
      if (notify !== expected) return `${where}: notify ${notify}, reference says ${expected}`;
      if (frontIdle && published && !notify) return `${where}: lost wakeup of the idle frontend`;
      if (notify) frontIdle = false;
    } else if (c.t === 'finalReq') {
      if (refWork(r, size) === 0) r.reqEvent = r.reqCons + 1;
      const expected = refWork(r, size) > 0;
      const work = ops.finalCheckForRequests(back);
      if (work !== expected) return `${where}: work ${work}, reference says ${expected}`;
      backIdle = !work;
    } else {
      if (r.rspProd === r.rspCons) r.rspEvent = r.rspCons + 1;
      const expected = r.rspProd > r.rspCons;
      const work = ops.finalCheckForResponses(front);
      if (work !== expected) return `${where}: work ${work}, reference says ${expected}`;
      frontIdle = !work;
    }
    const mismatch = compareIndices(r, start, sring, front, back);
    if (mismatch !== undefined) return `${where}: ${mismatch}`;
  }
  return undefined;
}

function compareIndices(
  r: Reference,
  start: number,
  sring: SharedRing,
  front: FrontRing,
  back: BackRing,
): string | undefined {
  const actual: Record<keyof Reference, RingIdx> = {
    reqProdPvt: front.reqProdPvt,
    reqProd: reqProd(sring),
    reqEvent: reqEvent(sring),
    reqCons: back.reqCons,
    rspProdPvt: back.rspProdPvt,
    rspProd: rspProd(sring),
    rspEvent: rspEvent(sring),
    rspCons: front.rspCons,
  };
  for (const key of Object.keys(actual) as (keyof Reference)[]) {
    const expected = ringIdx(start + r[key]);
    if (actual[key] !== expected) return `${key} = ${actual[key]}, reference ${expected}`;
  }
  if (freeRequests(front) !== 32 - (r.reqProdPvt - r.rspCons)) return 'free requests disagree';
  return undefined;
}

function ringModelProperty(ops: RingOps) {
  return fc.property(startArb, fc.array(cmdArb, { maxLength: 80, size: 'max' }), (start, cmds) => {
    const failure = runRingModel(ops, start, cmds);
    if (failure !== undefined) throw new Error(failure);
  });
}

describe('producer/consumer model near the 2^32 wrap (property)', () => {
  it('indices match the reference, notifies match (old, new], no wakeup is lost', () => {
    fc.assert(ringModelProperty(honest), { numRuns: 300 });
  });

  it('teeth: a notify check on plain (unwrapped) numbers misses wakeups across the wrap', () => {
    const noWrap: RingOps = {
      ...honest,
      pushRequestsAndCheckNotify(f) {
        const old = reqProd(f.sring);
        setReqProd(f.sring, f.reqProdPvt);
        const event = reqEvent(f.sring);
        return old < event && event <= f.reqProdPvt;
      },
    };
    expect(fc.check(ringModelProperty(noWrap), { numRuns: 300 }).failed).toBe(true);
  });

  it('teeth: a final check that sets req_event = req_cons (off by one) loses a wakeup', () => {
    const offByOne: RingOps = {
      ...honest,
      finalCheckForRequests(b) {
        if (unconsumedRequests(b) > 0) return true;
        setReqEvent(b.sring, b.reqCons);
        return unconsumedRequests(b) > 0;
      },
    };
    expect(fc.check(ringModelProperty(offByOne), { numRuns: 300 }).failed).toBe(true);
  });

  it('teeth: a response push that never notifies is caught', () => {
    const silent: RingOps = {
      ...honest,
      pushResponsesAndCheckNotify(b) {
        pushResponsesAndCheckNotify(b);
        return false;
      },
    };
    expect(fc.check(ringModelProperty(silent), { numRuns: 300 }).failed).toBe(true);
  });
});
