import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BlockOp, BlockRequest } from '../impl/blkfront/block-request.ts';
import type { Outcome } from '../impl/blkfront/device.ts';
import { Ledger } from './ledger.ts';

// The ledger keeps per-request sector ranges. This is the per-sector algorithm it replaced, kept as
// the reference: both must report exactly the same findings on any history of the guest edge.
interface SectorWrite {
  readonly tag: number;
  readonly submittedAt: number;
  completedAt: number | undefined;
  unknown: boolean;
}

class PerSectorReference {
  readonly messages: string[] = [];
  private readonly sectorWrites = new Map<number, SectorWrite[]>();
  private readonly writesByTag = new Map<number, SectorWrite>();
  private readonly reads = new Map<number, { submittedAt: number; completedAt: number }>();
  private seq = 0;

  submitted(request: BlockRequest): void {
    this.seq += 1;
    this.reads.set(request.tag, { submittedAt: this.seq, completedAt: 0 });
    if (request.op !== 'write' && request.op !== 'discard') return;
    const write = {
      tag: request.tag,
      submittedAt: this.seq,
      completedAt: undefined,
      unknown: request.op === 'discard',
    };
    this.writesByTag.set(request.tag, write);
    for (let s = 0; s < request.sectorCount; s++) {
      const list = this.sectorWrites.get(request.sector + s);
      if (list === undefined) this.sectorWrites.set(request.sector + s, [write]);
      else list.push(write);
    }
  }

  completed(request: BlockRequest, outcome: Outcome, data: Uint8Array | undefined): void {
    this.seq += 1;
    const read = this.reads.get(request.tag)!;
    read.completedAt = this.seq;
    const write = this.writesByTag.get(request.tag);
    if (write !== undefined) {
      write.completedAt = this.seq;
      if (outcome !== 'ok') write.unknown = true;
    }
    if (request.op !== 'read' || outcome !== 'ok' || data === undefined) return;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let s = 0; s < request.sectorCount; s++) {
      const sector = request.sector + s;
      const tag = view.getUint32(s * 512, true);
      const allowed = this.allowedTags(sector, read);
      if (allowed === 'any') continue;
      const word = view.getUint32(s * 512 + 4, true);
      const tail = view.getUint32(s * 512 + 508, true);
      const intact =
        tag === 0 ? word === 0 && tail === 0 : word === sector && tail === (tag ^ sector) >>> 0;
      if (!intact || !allowed.has(tag)) {
        this.messages.push(`${request.tag}:${sector}:${[...allowed].join(',')}`);
        return;
      }
    }
  }

  private allowedTags(
    sector: number,
    read: { submittedAt: number; completedAt: number },
  ): Set<number> | 'any' {
    const writes = this.sectorWrites.get(sector) ?? [];
    const allowed = new Set<number>();
    let frontier = 0;
    for (const w of writes)
      if (w.completedAt !== undefined && w.completedAt < read.submittedAt)
        frontier = Math.max(frontier, w.submittedAt);
    for (const w of writes) {
      if (w.submittedAt > read.completedAt) break;
      const doneBefore = w.completedAt !== undefined && w.completedAt < read.submittedAt;
      if (doneBefore && w.completedAt! < frontier) continue;
      if (w.unknown) return 'any';
      allowed.add(w.tag);
    }
    if (frontier === 0) allowed.add(0);
    return allowed;
  }
}

const DISK_SECTORS = 24;

interface Submit {
  readonly op: BlockOp;
  readonly sector: number;
  readonly count: number;
}

/** A history: requests submitted, then completed in a chosen order, interleaved by `when`. */
const historyArb = fc.record({
  submits: fc.array(
    fc.record({
      op: fc.constantFrom<BlockOp>('write', 'write', 'read', 'read', 'discard'),
      sector: fc.nat(DISK_SECTORS - 1),
      count: fc.integer({ min: 1, max: 8 }),
    }),
    { minLength: 1, maxLength: 14 },
  ),
  // For each request: how many later submissions happen before it completes, and its outcome.
  delays: fc.array(fc.nat(4), { minLength: 14, maxLength: 14 }),
  failures: fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }),
  // For each read sector: which write's stamp it returns (index modulo the candidates), or a tear.
  picks: fc.array(fc.nat(20), { minLength: 8 * 14, maxLength: 8 * 14 }),
});

function stamp(view: DataView, at: number, tag: number, sector: number, torn: boolean): void {
  view.setUint32(at, tag, true);
  view.setUint32(at + 4, tag === 0 ? 0 : sector, true);
  view.setUint32(at + 508, tag === 0 ? (torn ? 1 : 0) : (tag ^ sector) >>> 0, true);
}

function drive(
  h: {
    submits: readonly Submit[];
    delays: readonly number[];
    failures: readonly boolean[];
    picks: readonly number[];
  },
  sinks: readonly {
    submitted(r: BlockRequest): void;
    completed(r: BlockRequest, o: Outcome, d: Uint8Array | undefined): void;
  }[],
): void {
  const requests: BlockRequest[] = h.submits.map((s, i) => ({
    tag: i + 1,
    op: s.op,
    sector: Math.min(s.sector, DISK_SECTORS - s.count),
    sectorCount: s.count,
    vcpu: 0,
    buffer: undefined,
    secure: false,
    parentTag: undefined,
  }));
  // Completion slot of request i: after submission i + delay (ties complete in tag order).
  const events: { at: number; kind: 0 | 1; i: number }[] = [];
  requests.forEach((_, i) => {
    events.push({ at: i, kind: 0, i });
    events.push({ at: i + (h.delays[i] ?? 0), kind: 1, i });
  });
  events.sort((a, b) => a.at - b.at || a.kind - b.kind || a.i - b.i);
  let pick = 0;
  for (const e of events) {
    const request = requests[e.i]!;
    if (e.kind === 0) {
      for (const sink of sinks) sink.submitted(request);
      continue;
    }
    const outcome: Outcome = h.failures[e.i] === true ? 'error' : 'ok';
    let data: Uint8Array | undefined;
    if (request.op === 'read') {
      data = new Uint8Array(request.sectorCount * 512);
      const view = new DataView(data.buffer);
      for (let s = 0; s < request.sectorCount; s++) {
        const sector = request.sector + s;
        const writers = requests.filter(
          (r, j) =>
            j <= e.i + 4 &&
            r.op === 'write' &&
            r.sector <= sector &&
            sector < r.sector + r.sectorCount,
        );
        const p = h.picks[pick++ % h.picks.length]!;
        const writer = writers[p % (writers.length + 1)];
        stamp(view, s * 512, writer?.tag ?? 0, sector, p === 19);
      }
    }
    for (const sink of sinks) sink.completed(request, outcome, data);
  }
}

describe('ledger', () => {
  it('reports exactly what the per-sector algorithm reports, on any guest-edge history', () => {
    let findings = 0;
    fc.assert(
      fc.property(historyArb, (h) => {
        const ledger = new Ledger();
        const reference = new PerSectorReference();
        drive(h, [ledger, reference]);
        const got = ledger.violations.map((v) => v.message);
        expect(got.length).toBe(reference.messages.length);
        got.forEach((message, i) => {
          const [tag, sector, allowed] = reference.messages[i]!.split(':');
          expect(message).toContain(`read request ${tag}, sector ${sector}:`);
          const expected = allowed!
            .split(',')
            .map((t) => (t === '0' ? 'never written' : `request ${t}`))
            .join(' or ');
          expect(message.endsWith(`expected ${expected}`)).toBe(true);
        });
        findings += got.length;
      }),
      { numRuns: 400 },
    );
    // The histories reach both verdicts: the comparison is not between two silent ledgers.
    expect(findings).toBeGreaterThan(0);
  });

  it('a stale read after a completed overwrite is a finding (teeth)', () => {
    const ledger = new Ledger();
    const req = (tag: number, op: BlockOp): BlockRequest => ({
      tag,
      op,
      sector: 4,
      sectorCount: 2,
      vcpu: 0,
      buffer: undefined,
      secure: false,
      parentTag: undefined,
    });
    ledger.submitted(req(1, 'write'));
    ledger.completed(req(1, 'write'), 'ok', undefined);
    ledger.submitted(req(2, 'write'));
    ledger.completed(req(2, 'write'), 'ok', undefined);
    ledger.submitted(req(3, 'read'));
    const data = new Uint8Array(1024);
    const view = new DataView(data.buffer);
    stamp(view, 0, 2, 4, false);
    stamp(view, 512, 1, 5, false); // the overwritten content
    ledger.completed(req(3, 'read'), 'ok', data);
    expect(ledger.violations.map((v) => v.message)).toEqual([
      'read request 3, sector 5: found data of request 1, expected request 2',
    ]);
  });
});
