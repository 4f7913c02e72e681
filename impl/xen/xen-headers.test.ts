// Fidelity against Xen's own public headers (issue 8): fidelity/layout.c and
// fidelity/ring-driver.c are compiled with gcc against /usr/include/xen (Debian: libxen-dev),
// natively for x86_64-abi and with -m32 (gcc-multilib) for x86_32-abi. Without gcc or the
// headers the suites skip with a note; they never fail for that reason.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { XenbusState } from '../../model/xenbus-state.ts';
import {
  BLKIF_DISCARD_SECURE,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  BLKIF_SEGMENT_SIZE,
  type BlkifAbi,
  type BlkifRequest,
  X86_32_ABI,
  X86_64_ABI,
} from './blkif-abi.ts';
import {
  RING_IDX_MODULUS,
  type RingIdx,
  ringIdx,
  ringIdxAdd,
  ringIdxDistance,
} from './ring-index.ts';
import * as ring from './shared-ring.ts';
import type { BackRing, FrontRing, SharedRing } from './shared-ring.ts';

const FIDELITY = resolve(import.meta.dirname, '../../fidelity');
const buildDir = mkdtempSync(join(tmpdir(), 'blkif-fidelity-'));
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

/** Compiles one fidelity program; returns the binary path or why it could not. */
function compile(source: string, m32: boolean): { binary: string } | { reason: string } {
  const binary = join(buildDir, `${source.replace('.c', '')}${m32 ? '-m32' : ''}`);
  const args = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror', ...(m32 ? ['-m32'] : [])];
  try {
    execFileSync('gcc', [...args, '-o', binary, join(FIDELITY, source)], {
      stdio: 'pipe',
    });
    return { binary };
  } catch (error) {
    const e = error as { code?: string; stderr?: Buffer };
    if (e.code === 'ENOENT') return { reason: 'gcc not found' };
    const text = e.stderr?.toString() ?? '';
    if (/xen\/io\/.*No such file/.test(text))
      return { reason: 'Xen headers missing (apt-get install libxen-dev)' };
    if (m32)
      return {
        reason: `gcc -m32 failed (apt-get install gcc-multilib): ${text.split('\n')[0]}`,
      };
    throw error; // the headers are there and our C does not build: that is our bug
  }
}

interface Build {
  readonly abi: BlkifAbi;
  readonly m32: boolean;
  readonly layout: { binary: string } | { reason: string };
  readonly driver: { binary: string } | { reason: string };
}

const BUILDS: readonly Build[] = [X86_64_ABI, X86_32_ABI].map((abi) => {
  const m32 = abi === X86_32_ABI;
  const layout = compile('layout.c', m32);
  const driver = 'reason' in layout ? layout : compile('ring-driver.c', m32);
  if ('reason' in layout) console.log(`xen-headers: skipping ${abi.name} checks: ${layout.reason}`);
  return { abi, m32, layout, driver };
});

function binaryOf(target: { binary: string } | { reason: string }): string {
  if (!('binary' in target)) throw new Error('skipped build used');
  return target.binary;
}

function runLayout(build: Build): Map<string, string> {
  const out = execFileSync(binaryOf(build.layout), { encoding: 'utf8' });
  const facts = new Map<string, string>();
  for (const line of out.trim().split('\n')) {
    const space = line.indexOf(' ');
    facts.set(line.slice(0, space), line.slice(space + 1));
  }
  return facts;
}

function num(facts: Map<string, string>, key: string): number {
  const value = facts.get(key);
  if (value === undefined) throw new Error(`layout.c printed no ${key}`);
  return Number(value);
}

// The samples of layout.c's print_samples(), restated with our types.
const SAMPLES: Record<'rw' | 'discard' | 'indirect', BlkifRequest> = {
  rw: {
    kind: 'rw',
    operation: 1,
    nrSegments: 3,
    handle: 0xca01,
    id: 0x0012_3456_78ab_cdef,
    sectorNumber: 0x0001_0203_0405_0607,
    segments: [0, 1, 2].map((i) => ({
      gref: 0x1000 + i,
      firstSect: i,
      lastSect: 7 - i,
    })),
  },
  discard: {
    kind: 'discard',
    operation: 5,
    flag: 1,
    handle: 0x0203,
    id: 0x000f_edcb_a987_6543,
    sectorNumber: 0x0000_1234_0000_5678,
    nrSectors: 0x0000_0001_0000_0002,
  },
  indirect: {
    kind: 'indirect',
    operation: 6,
    indirectOp: 0,
    nrSegments: 1025,
    handle: 0x51,
    id: 42,
    sectorNumber: 0x0000_0002_ffff_ffff,
    indirectGrefs: [0xabc0, 0xabc1, 0xabc2],
  },
};
const SAMPLE_RESPONSE = { id: 0x001f_ffff_ffff_ffff, operation: 3, status: -2 };

function hexOf(view: DataView, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += view.getUint8(i).toString(16).padStart(2, '0');
  return out;
}

function viewOfHex(hex: string): DataView {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return new DataView(bytes.buffer);
}

for (const build of BUILDS) {
  const skip = 'reason' in build.layout;
  describe(`Xen headers vs the model: ${build.abi.name}${build.m32 ? ' (gcc -m32)' : ''}`, () => {
    const facts = skip ? new Map<string, string>() : runLayout(build);
    const l = build.abi.layout;

    it.skipIf(skip)('the compiler agrees on the native protocol name', () => {
      expect(facts.get('protocol.native')).toBe(build.abi.name);
    });

    it.skipIf(skip)(
      'ring header offsets, entry size and RING_IDX width (DEFINE_RING_TYPES)',
      () => {
        expect(num(facts, 'offsetof.sring.req_prod')).toBe(ring.SRING_REQ_PROD_OFFSET);
        expect(num(facts, 'offsetof.sring.req_event')).toBe(ring.SRING_REQ_EVENT_OFFSET);
        expect(num(facts, 'offsetof.sring.rsp_prod')).toBe(ring.SRING_RSP_PROD_OFFSET);
        expect(num(facts, 'offsetof.sring.rsp_event')).toBe(ring.SRING_RSP_EVENT_OFFSET);
        expect(num(facts, 'offsetof.sring.pvt')).toBe(ring.SRING_PVT_OFFSET);
        expect(num(facts, 'offsetof.sring.__pad')).toBe(ring.SRING_PAD_OFFSET);
        expect(num(facts, 'offsetof.sring.ring')).toBe(ring.SRING_HEADER_SIZE);
        expect(num(facts, 'sizeof.sring_entry')).toBe(build.abi.entrySize);
        expect(num(facts, 'sizeof.RING_IDX') * 8).toBe(Math.log2(RING_IDX_MODULUS));
      },
    );

    it.skipIf(skip)('__CONST_RING_SIZE for ring-page-order 0..4 equals ringEntryCount', () => {
      for (let order = 0; order <= 4; order++) {
        expect(num(facts, `ring_size.order${order}`)).toBe(
          ring.ringEntryCount(4096 << order, build.abi.entrySize),
        );
      }
    });

    it.skipIf(skip)('struct sizes and field offsets of blkif.h', () => {
      const expected: Record<string, number> = {
        'sizeof.segment': BLKIF_SEGMENT_SIZE,
        'offsetof.segment.gref': 0,
        'offsetof.segment.first_sect': 4,
        'offsetof.segment.last_sect': 5,
        'sizeof.request': l.requestSize,
        'offsetof.request.operation': 0,
        'offsetof.request.nr_segments': 1,
        'offsetof.request.handle': 2,
        'offsetof.request.id': l.idOffset,
        'offsetof.request.sector_number': l.sectorNumberOffset,
        'offsetof.request.seg': l.segOffset,
        'sizeof.discard': l.discardSize,
        'offsetof.discard.flag': 1,
        'offsetof.discard.handle': 2,
        'offsetof.discard.id': l.idOffset,
        'offsetof.discard.sector_number': l.sectorNumberOffset,
        'offsetof.discard.nr_sectors': l.discardNrSectorsOffset,
        'sizeof.indirect': l.indirectSize,
        'offsetof.indirect.indirect_op': 1,
        'offsetof.indirect.nr_segments': 2,
        'offsetof.indirect.id': l.idOffset,
        'offsetof.indirect.sector_number': l.sectorNumberOffset,
        'offsetof.indirect.handle': l.indirectHandleOffset,
        'offsetof.indirect.indirect_grefs': l.indirectGrefsOffset,
        'sizeof.response': l.responseSize,
        'offsetof.response.id': l.responseIdOffset,
        'offsetof.response.operation': l.responseOperationOffset,
        'offsetof.response.status': l.responseStatusOffset,
      };
      const actual = Object.fromEntries(Object.keys(expected).map((key) => [key, num(facts, key)]));
      expect(actual).toEqual(expected);
    });

    it.skipIf(skip)('op, status and limit constants, and XenbusState values', () => {
      const constants = {
        BLKIF_OP_READ,
        BLKIF_OP_WRITE,
        BLKIF_OP_WRITE_BARRIER,
        BLKIF_OP_FLUSH_DISKCACHE,
        BLKIF_OP_RESERVED_1,
        BLKIF_OP_DISCARD,
        BLKIF_OP_INDIRECT,
        BLKIF_RSP_OKAY,
        BLKIF_RSP_ERROR,
        BLKIF_RSP_EOPNOTSUPP,
        BLKIF_MAX_SEGMENTS_PER_REQUEST,
        BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
        BLKIF_DISCARD_SECURE,
      };
      for (const [name, value] of Object.entries(constants)) {
        expect([name, num(facts, `const.${name}`)]).toEqual([name, value]);
      }
      for (const [name, value] of Object.entries(XenbusState)) {
        expect([name, num(facts, `const.XenbusState${name}`)]).toEqual([name, value]);
      }
    });

    it.skipIf(skip)(
      "writeRequest/writeResponse produce gcc's bytes, copyRequest reads them back",
      () => {
        for (const kind of ['rw', 'discard', 'indirect'] as const) {
          const golden = facts.get(`bytes.${kind}`) ?? '';
          const view = new DataView(new ArrayBuffer(build.abi.requestSize));
          build.abi.writeRequest(view, 0, SAMPLES[kind]);
          expect([kind, hexOf(view, golden.length / 2)]).toEqual([kind, golden]);
          const padded = viewOfHex(golden.padEnd(2 * build.abi.requestSize, '0'));
          expect(build.abi.copyRequest(padded, 0)).toEqual({
            ok: true,
            value: SAMPLES[kind],
          });
        }
        const golden = facts.get('bytes.response') ?? '';
        expect(golden.length / 2).toBe(build.abi.responseSize);
        const view = new DataView(new ArrayBuffer(build.abi.responseSize));
        build.abi.writeResponse(view, 0, SAMPLE_RESPONSE);
        expect(hexOf(view, build.abi.responseSize)).toBe(golden);
        expect(build.abi.copyResponse(viewOfHex(golden), 0)).toEqual(SAMPLE_RESPONSE);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// ring-driver.c: identical command sequences go to Xen's RING_* macros and to shared-ring.ts;
// every printed line (decision and eight indices) must agree. Many sequences share one process.

type HostileField = 'req_prod' | 'req_event' | 'rsp_prod' | 'rsp_event';
type DriverCmd =
  | { t: 'produce' | 'consume' | 'respond' | 'reap'; n: number }
  | { t: 'pushreq' | 'pushrsp' | 'finalreq' | 'finalrsp' | 'counts' }
  | { t: 'hostile'; field: HostileField; value: number };
interface Sequence {
  order: number;
  start: number;
  cmds: DriverCmd[];
}

/** The ring operations under comparison; teeth tests replace one with a broken variant. */
type RingImpl = Pick<
  typeof ring,
  | 'pushRequestsAndCheckNotify'
  | 'pushResponsesAndCheckNotify'
  | 'finalCheckForRequests'
  | 'finalCheckForResponses'
  | 'unconsumedRequests'
  | 'unconsumedResponses'
  | 'freeRequests'
  | 'requestProdOverflow'
  | 'requestConsOverflow'
  | 'responseProdOverflow'
>;
const honestImpl: RingImpl = ring;

const countArb = fc.integer({ min: 1, max: 40 });
function cmdArb(start: number): fc.Arbitrary<DriverCmd> {
  const near = fc.integer({ min: -40, max: 200 }).map((d) => ringIdx(start + d) as number);
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constantFrom('produce', 'consume', 'respond', 'reap'),
        n: countArb,
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constantFrom('pushreq', 'pushrsp', 'finalreq', 'finalrsp', 'counts'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('hostile' as const),
        field: fc.constantFrom<HostileField>('req_prod', 'req_event', 'rsp_prod', 'rsp_event'),
        value: fc.oneof(near, fc.nat(0xffff_ffff)),
      }),
    },
  );
}

const sequenceArb: fc.Arbitrary<Sequence> = fc
  .record({
    order: fc.integer({ min: 0, max: 2 }),
    start: fc.oneof(
      fc.integer({ min: 1, max: 120 }).map((k) => RING_IDX_MODULUS - k),
      fc.constant(0),
      fc.nat(0xffff_ffff),
    ),
  })
  .chain(({ order, start }) =>
    fc.array(cmdArb(start), { maxLength: 60, size: 'max' }).map((cmds) => ({ order, start, cmds })),
  );

function scriptOf(seq: Sequence): string[] {
  const lines = [`ring ${seq.order} ${seq.start}`];
  for (const c of seq.cmds) {
    if (c.t === 'hostile') lines.push(`hostile ${c.field} ${c.value}`);
    else if ('n' in c) lines.push(`${c.t} ${c.n}`);
    else lines.push(c.t);
  }
  return lines;
}

/** ring-driver.c prints ids of 2^53 or more as "big": doubles are exact only below that. */
function idText(id: number): string {
  return id >= 2 ** 53 ? 'big' : String(id);
}

interface Rings {
  sring: SharedRing;
  front: FrontRing;
  back: BackRing;
}

function ringsAt(order: number, start: number, abi: BlkifAbi): Rings {
  const sring = ring.sharedRingAttach(new DataView(new ArrayBuffer(4096 << order)), abi.entrySize);
  ring.sharedRingInit(sring);
  const s = ringIdx(start);
  ring.setReqProd(sring, s);
  ring.setRspProd(sring, s);
  ring.setReqEvent(sring, ringIdxAdd(s, 1));
  ring.setRspEvent(sring, ringIdxAdd(s, 1));
  return {
    sring,
    front: ring.frontRingAttach(sring, s),
    back: ring.backRingAttach(sring),
  };
}

function consume(r: Rings, n: number, abi: BlkifAbi, impl: RingImpl): string {
  let rc = r.back.reqCons;
  const rp = ring.reqProd(r.sring);
  if (impl.requestProdOverflow(r.back, rp)) return 'consume overflow';
  const ids: string[] = [];
  for (let k = 0; k < n && rc !== rp; k++) {
    if (impl.requestConsOverflow(r.back, rc)) break;
    const copy = abi.copyRequest(r.sring.view, ring.entryOffset(r.sring, rc));
    rc = ringIdxAdd(rc, 1);
    r.back.reqCons = rc;
    ids.push(idText(copy.ok ? copy.value.id : copy.error.id));
  }
  return `consume ids=${ids.join(',')}`;
}

function reap(r: Rings, n: number, abi: BlkifAbi, impl: RingImpl): string {
  let i = r.front.rspCons;
  const rp = ring.rspProd(r.sring);
  if (impl.responseProdOverflow(r.front, rp)) return 'reap overflow';
  const ids: string[] = [];
  for (let k = 0; k < n && i !== rp && i !== r.front.reqProdPvt; k++) {
    ids.push(idText(abi.copyResponse(r.sring.view, ring.entryOffset(r.sring, i)).id));
    i = ringIdxAdd(i, 1);
    r.front.rspCons = i;
  }
  return `reap ids=${ids.join(',')}`;
}

function fill(
  r: Rings,
  cmd: 'produce' | 'respond',
  n: number,
  abi: BlkifAbi,
  impl: RingImpl,
): string {
  let k = 0;
  if (cmd === 'produce') {
    for (; k < n && impl.freeRequests(r.front) > 0; k++) {
      const id = r.front.reqProdPvt;
      const req: BlkifRequest = {
        kind: 'rw',
        operation: 0,
        nrSegments: 0,
        handle: 0,
        id,
        sectorNumber: 0,
        segments: [],
      };
      abi.writeRequest(r.sring.view, ring.entryOffset(r.sring, id), req);
      r.front.reqProdPvt = ringIdxAdd(id, 1);
    }
  } else {
    for (; k < n && r.back.rspProdPvt !== r.back.reqCons; k++) {
      const id = r.back.rspProdPvt;
      abi.writeResponse(r.sring.view, ring.entryOffset(r.sring, id), {
        id,
        operation: 0,
        status: 0,
      });
      r.back.rspProdPvt = ringIdxAdd(id, 1);
    }
  }
  return `${cmd} ${k}`;
}

const HOSTILE_SETTERS: Record<HostileField, (s: SharedRing, v: RingIdx) => void> = {
  req_prod: ring.setReqProd,
  req_event: ring.setReqEvent,
  rsp_prod: ring.setRspProd,
  rsp_event: ring.setRspEvent,
};

function step(r: Rings, c: DriverCmd, abi: BlkifAbi, impl: RingImpl): string {
  const bit = (b: boolean) => (b ? 1 : 0);
  switch (c.t) {
    case 'produce':
    case 'respond':
      return fill(r, c.t, c.n, abi, impl);
    case 'consume':
      return consume(r, c.n, abi, impl);
    case 'reap':
      return reap(r, c.n, abi, impl);
    case 'pushreq':
      return `pushreq notify=${bit(impl.pushRequestsAndCheckNotify(r.front))}`;
    case 'pushrsp':
      return `pushrsp notify=${bit(impl.pushResponsesAndCheckNotify(r.back))}`;
    case 'finalreq':
      return `finalreq work=${bit(impl.finalCheckForRequests(r.back))}`;
    case 'finalrsp':
      return `finalrsp work=${bit(impl.finalCheckForResponses(r.front))}`;
    case 'counts': {
      const free = impl.freeRequests(r.front);
      const rsps = impl.unconsumedResponses(r.front);
      const reqs = impl.unconsumedRequests(r.back);
      return `counts free=${free} full=${bit(free === 0)} rsps=${rsps} reqs=${reqs}`;
    }
    case 'hostile':
      HOSTILE_SETTERS[c.field](r.sring, ringIdx(c.value));
      return `hostile ${c.field}=${c.value}`;
  }
}

function indicesOf(x: Rings): string {
  const s = x.sring;
  const shared = `${ring.reqProd(s)} ${ring.reqEvent(s)} ${ring.rspProd(s)} ${ring.rspEvent(s)}`;
  const { front, back } = x;
  return ` | ${shared} ${front.reqProdPvt} ${front.rspCons} ${back.rspProdPvt} ${back.reqCons}`;
}

/** What ring-driver.c prints for `seq`, computed with shared-ring.ts. */
function runModel(seq: Sequence, abi: BlkifAbi, impl: RingImpl): string[] {
  const r = ringsAt(seq.order, seq.start, abi);
  const lines = [`ring size=${r.sring.size}${indicesOf(r)}`];
  for (const c of seq.cmds) lines.push(step(r, c, abi, impl) + indicesOf(r));
  return lines;
}

/** Runs a batch through ring-driver.c once and through the model; describes the first
 *  disagreement, or returns undefined. */
function compareBatch(
  binary: string,
  batch: readonly Sequence[],
  abi: BlkifAbi,
  impl: RingImpl,
): string | undefined {
  const scripts = batch.map(scriptOf);
  const input = `${scripts.map((lines) => lines.join('\n')).join('\n')}\n`;
  const xen = execFileSync(binary, {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  }).split('\n');
  let at = 0;
  for (const [i, seq] of batch.entries()) {
    const ours = runModel(seq, abi, impl);
    for (const [j, line] of ours.entries()) {
      const theirs = xen[at + j];
      if (line !== theirs) {
        const script = scripts[i]!.slice(0, j + 1).join('; ');
        const where = `sequence ${i}, command ${j} (${scripts[i]![j]})`;
        return `${where}:\n  xen:   ${theirs}\n  model: ${line}\n  script: ${script}`;
      }
    }
    at += ours.length;
  }
  return undefined;
}

function agreesWithXen(binary: string, abi: BlkifAbi, impl: RingImpl) {
  return fc.property(
    fc.array(sequenceArb, { minLength: 1, maxLength: 25, size: 'max' }),
    (batch) => {
      const failure = compareBatch(binary, batch, abi, impl);
      if (failure !== undefined) throw new Error(failure);
    },
  );
}

for (const build of BUILDS) {
  const skip = 'reason' in build.driver;
  const title = `${build.abi.name}${build.m32 ? ' (gcc -m32)' : ''}`;
  describe(`ring.h macros vs shared-ring.ts: ${title}`, () => {
    it.skipIf(skip)('a hand-written sequence across the 2^32 wrap agrees line by line', () => {
      const start = RING_IDX_MODULUS - 2;
      const cmds: DriverCmd[] = [
        { t: 'produce', n: 3 },
        { t: 'pushreq' },
        { t: 'finalreq' },
        { t: 'consume', n: 5 },
        { t: 'finalreq' },
        { t: 'respond', n: 2 },
        { t: 'pushrsp' },
        { t: 'reap', n: 4 },
        { t: 'finalrsp' },
        { t: 'hostile', field: 'req_prod', value: 100 },
        { t: 'consume', n: 1 },
        { t: 'counts' },
      ];
      const seq = { order: 0, start, cmds };
      expect(compareBatch(binaryOf(build.driver), [seq], build.abi, honestImpl)).toBeUndefined();
      expect(runModel(seq, build.abi, honestImpl)[3]).toMatch(/^finalreq work=1 /);
    });

    it.skipIf(skip)('random sequences, hostile writes included, agree with Xen (property)', () => {
      fc.assert(agreesWithXen(binaryOf(build.driver), build.abi, honestImpl), {
        numRuns: build.m32 ? 10 : 20,
      });
    });

    it.skipIf(skip)(
      'teeth: a final check that sets rsp_event = rsp_cons (off by one) disagrees',
      () => {
        const offByOne: RingImpl = {
          ...honestImpl,
          finalCheckForResponses(f) {
            if (ring.unconsumedResponses(f) > 0) return true;
            ring.setRspEvent(f.sring, f.rspCons);
            return ring.unconsumedResponses(f) > 0;
          },
        };
        const result = fc.check(agreesWithXen(binaryOf(build.driver), build.abi, offByOne), {
          numRuns: 20,
          endOnFailure: true,
        });
        expect(result.failed).toBe(true);
      },
    );

    it.skipIf(skip)(
      'teeth: a backend that counts unconsumed requests without the response cap disagrees',
      () => {
        const uncapped: RingImpl = {
          ...honestImpl,
          unconsumedRequests: (b) => ringIdxDistance(b.reqCons, ring.reqProd(b.sring)),
        };
        const result = fc.check(agreesWithXen(binaryOf(build.driver), build.abi, uncapped), {
          numRuns: 20,
          endOnFailure: true,
        });
        expect(result.failed).toBe(true);
      },
    );
  });
}
