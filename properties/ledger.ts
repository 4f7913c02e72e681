// The oracle: what the guest submitted and what completed, recorded at the guest edge and nowhere
// else, plus a model of the disk built from completed writes. It never reads blkfront's shadows or
// blkback's maps ("avoid testing the code by comparing it to itself").
import type { BlockRequest } from '../impl/blkfront/block-request.ts';
import type { Outcome } from '../impl/blkfront/device.ts';
import type { GuestObserver } from '../impl/world/block-layer.ts';
import type { Violation } from './invariants/violation.ts';
import { assert } from '../impl/assert.ts';
import { HASH_SELF, type Hasher, type HashesSelf, type PartWalk } from '../impl/hash.ts';

interface Entry {
  readonly request: BlockRequest;
  readonly submittedAt: number;
  completedAt: number | undefined;
  outcome: Outcome | undefined;
}

/**
 * One write (or discard) and the sector range it covers, in submission order. Ranges, not per-sector
 * lists: a 256-sector write is one record, and a read looks only at the writes overlapping it.
 */
interface RangeWrite {
  readonly tag: number;
  readonly first: number;
  /** One past the last sector. */
  readonly end: number;
  readonly submittedAt: number;
  completedAt: number | undefined;
  /** A discard or failed write: the range's content is unspecified afterwards. */
  unknown: boolean;
}

export class Ledger implements GuestObserver, HashesSelf {
  /** The step number the world is at; the runner sets it before each step. */
  now = 0;
  readonly entries = new Map<number, Entry>();
  readonly violations: Violation[] = [];
  /** Every write and discard, in submission order. */
  private readonly writes: RangeWrite[] = [];
  private readonly writesByTag = new Map<number, RangeWrite>();
  private seq = 0;
  /**
   * Each data page the guest handed the block layer, to the tag of its request (frames are never
   * reused): no-leak lets a trusted backend see such a page whole, and nothing else.
   */
  private readonly bufferFrames = new Map<number, number>();

  submitted(request: BlockRequest): void {
    this.seq += 1;
    const buffer = request.buffer;
    if (buffer !== undefined)
      for (let p = 0; p < buffer.pageCount; p++)
        this.bufferFrames.set(buffer.firstFrame + p, request.tag);
    this.entries.set(request.tag, {
      request,
      submittedAt: this.seq,
      completedAt: undefined,
      outcome: undefined,
    });
    if (request.op === 'write' || request.op === 'discard') {
      const write: RangeWrite = {
        tag: request.tag,
        first: request.sector,
        end: request.sector + request.sectorCount,
        submittedAt: this.seq,
        completedAt: undefined,
        unknown: request.op === 'discard',
      };
      this.writesByTag.set(request.tag, write);
      this.writes.push(write);
    }
  }

  /** The frame is a data page of a request the guest submitted (a page of its own memory). */
  isBufferFrame(frame: number): boolean {
    return this.bufferFrames.has(frame);
  }

  completed(request: BlockRequest, outcome: Outcome, data: Uint8Array | undefined): void {
    this.seq += 1;
    const entry = this.entries.get(request.tag);
    if (entry === undefined) {
      this.violations.push({
        code: 'no-duplicate-completion',
        step: this.now,
        message: `guest request ${request.tag} completed but was never submitted`,
      });
      return;
    }
    if (entry.completedAt !== undefined) {
      this.violations.push({
        code: 'no-duplicate-completion',
        step: this.now,
        message: `guest request ${request.tag} (${request.op} of ${request.sectorCount} sectors at ${request.sector}) completed twice`,
      });
      return;
    }
    entry.completedAt = this.seq;
    entry.outcome = outcome;
    const write = this.writesByTag.get(request.tag);
    if (write !== undefined) {
      write.completedAt = this.seq;
      if (outcome !== 'ok') write.unknown = true;
    }
    if (request.op === 'read' && outcome === 'ok' && data !== undefined)
      this.checkRead(entry, data);
  }

  /** Requests submitted and not completed, oldest first. */
  pending(): BlockRequest[] {
    const out: BlockRequest[] = [];
    for (const entry of this.entries.values())
      if (entry.completedAt === undefined) out.push(entry.request);
    return out;
  }

  get submittedCount(): number {
    return this.entries.size;
  }

  /**
   * The ledger as a fingerprint sees it: what a future verdict can depend on, not the event
   * numbers themselves. checkRead compares a write's submission and completion with a read's
   * submission and with other writes' submissions, so only their order is state: they are
   * hashed as ranks among the numbers kept. A completed read's numbers (and a flush's) are
   * never compared again (the check ran at its completion): only that it completed, and how.
   * `seq` and `now` count events and steps, which equal states reached by paths of different
   * lengths do not share. The findings are hashed whole (a run ends at its first).
   */
  [HASH_SELF](h: Hasher, _fresh: boolean, walk: PartWalk): void {
    const kept: number[] = [];
    for (const entry of this.entries.values())
      if (entry.completedAt === undefined && entry.request.op === 'read')
        kept.push(entry.submittedAt);
    for (const w of this.writes) {
      kept.push(w.submittedAt);
      if (w.completedAt !== undefined) kept.push(w.completedAt);
    }
    kept.sort((x, y) => x - y);
    const rank = (at: number | undefined): number => (at === undefined ? -1 : kept.indexOf(at));
    h.mix(this.entries.size);
    for (const tag of [...this.entries.keys()].sort((x, y) => x - y)) {
      const entry = this.entries.get(tag)!;
      walk.value(entry.request);
      walk.value(entry.outcome);
      const pendingRead = entry.completedAt === undefined && entry.request.op === 'read';
      h.mix(pendingRead ? rank(entry.submittedAt) : entry.completedAt === undefined ? -2 : -3);
    }
    h.mix(this.writes.length);
    for (const w of this.writes) {
      h.mix(w.tag);
      h.mix(w.first);
      h.mix(w.end);
      h.mix(w.unknown ? 1 : 0);
      h.mix(rank(w.submittedAt));
      h.mix(rank(w.completedAt));
    }
    walk.value(this.violations);
  }

  /**
   * Each sector must hold the stamp of a write the read may legally see: the last write completed
   * before the read was submitted, or any write still in flight at some point of the read's life.
   * The read's range is cut where an overlapping write starts or ends; within a piece the same
   * writes cover every sector, so the legal tags are worked out once per piece.
   */
  private checkRead(entry: Entry, data: Uint8Array): void {
    const request = entry.request;
    const first = request.sector;
    const end = first + request.sectorCount;
    assert(data.byteLength >= request.sectorCount * 512, 'ledger: read data shorter than request');
    const overlapping: RangeWrite[] = [];
    const cuts = [first, end];
    for (const w of this.writes) {
      if (w.end <= first || w.first >= end || w.submittedAt > entry.completedAt!) continue;
      overlapping.push(w);
      if (w.first > first) cuts.push(w.first);
      if (w.end < end) cuts.push(w.end);
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (overlapping.length === 0) {
      this.checkPiece(entry, view, first, end, overlapping);
      return;
    }
    cuts.sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length; i++) {
      if (cuts[i] === cuts[i + 1]) continue;
      if (!this.checkPiece(entry, view, cuts[i]!, cuts[i + 1]!, overlapping)) return;
    }
  }

  /**
   * A write completed before the read was submitted is only ruled out when another such write was
   * submitted after it completed: overlapping writes may reach the disk in either order, whatever
   * order they complete in (different rings complete independently). Returns false on a finding.
   */
  private checkPiece(
    read: Entry,
    view: DataView,
    first: number,
    end: number,
    overlapping: readonly RangeWrite[],
  ): boolean {
    let frontier = 0;
    for (const w of overlapping) {
      if (w.first > first || w.end <= first) continue;
      if (w.completedAt !== undefined && w.completedAt < read.submittedAt)
        frontier = Math.max(frontier, w.submittedAt);
    }
    const allowed: number[] = [];
    for (const w of overlapping) {
      if (w.first > first || w.end <= first) continue;
      const doneBefore = w.completedAt !== undefined && w.completedAt < read.submittedAt;
      if (doneBefore && w.completedAt! < frontier) continue;
      if (w.unknown) return true; // any content is legal here
      allowed.push(w.tag);
    }
    if (frontier === 0) allowed.push(0);
    const offset = read.request.sector;
    for (let sector = first; sector < end; sector++) {
      const at = (sector - offset) * 512;
      const tag = view.getUint32(at, true);
      const sectorWord = view.getUint32(at + 4, true);
      const tail = view.getUint32(at + 508, true);
      const intact =
        tag === 0
          ? sectorWord === 0 && tail === 0
          : sectorWord === sector && tail === (tag ^ sector) >>> 0;
      if (intact && allowed.includes(tag)) continue;
      const expected = allowed
        .map((t) => (t === 0 ? 'never written' : `request ${t}`))
        .join(' or ');
      this.violations.push({
        code: 'data-integrity',
        step: this.now,
        message: `read request ${read.request.tag}, sector ${sector}: found ${describeStamp(tag, sectorWord, intact)}, expected ${expected}`,
      });
      return false;
    }
    return true;
  }
}

function describeStamp(tag: number, sectorWord: number, intact: boolean): string {
  if (!intact) return `a torn or misplaced sector (stamp ${tag}, sector word ${sectorWord})`;
  return tag === 0 ? 'never-written data' : `data of request ${tag}`;
}
