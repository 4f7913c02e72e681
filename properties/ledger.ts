// The oracle: what the guest submitted and what completed, recorded at the guest edge and nowhere
// else, plus a model of the disk built from completed writes. It never reads blkfront's shadows or
// blkback's maps ("avoid testing the code by comparing it to itself").
import type { BlockRequest } from '../impl/blkfront/block-request.ts';
import type { Outcome } from '../impl/blkfront/device.ts';
import type { GuestObserver } from '../impl/world/guest.ts';
import type { Violation } from './invariants/violation.ts';

interface Entry {
  readonly request: BlockRequest;
  readonly submittedAt: number;
  completedAt: number | undefined;
  outcome: Outcome | undefined;
}

/** One write (or discard) to a sector, in submission order. */
interface SectorWrite {
  readonly tag: number;
  readonly submittedAt: number;
  completedAt: number | undefined;
  /** A discard or failed write: the sector's content is unspecified afterwards. */
  unknown: boolean;
}

export class Ledger implements GuestObserver {
  /** The step number the world is at; the runner sets it before each step. */
  now = 0;
  readonly entries = new Map<number, Entry>();
  readonly violations: Violation[] = [];
  private readonly sectorWrites = new Map<number, SectorWrite[]>();
  private readonly writesByTag = new Map<number, SectorWrite>();
  private seq = 0;

  submitted(request: BlockRequest): void {
    this.seq += 1;
    this.entries.set(request.tag, {
      request,
      submittedAt: this.seq,
      completedAt: undefined,
      outcome: undefined,
    });
    if (request.op === 'write' || request.op === 'discard') {
      const write: SectorWrite = {
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
   * Each sector must hold the stamp of a write the read may legally see: the last write completed
   * before the read was submitted, or any write still in flight at some point of the read's life.
   */
  private checkRead(entry: Entry, data: Uint8Array): void {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const request = entry.request;
    for (let s = 0; s < request.sectorCount; s++) {
      const sector = request.sector + s;
      const tag = view.getUint32(s * 512, true);
      const allowed = this.allowedTags(sector, entry);
      if (allowed === 'any') continue;
      const sectorWord = view.getUint32(s * 512 + 4, true);
      const tail = view.getUint32(s * 512 + 508, true);
      const intact =
        tag === 0
          ? sectorWord === 0 && tail === 0
          : sectorWord === sector && tail === (tag ^ sector) >>> 0;
      if (!intact || !allowed.has(tag)) {
        const expected = [...allowed]
          .map((t) => (t === 0 ? 'never written' : `request ${t}`))
          .join(' or ');
        this.violations.push({
          code: 'data-integrity',
          step: this.now,
          message: `read request ${request.tag}, sector ${sector}: found ${describeStamp(tag, sectorWord, intact)}, expected ${expected}`,
        });
        return;
      }
    }
  }

  /**
   * A write completed before the read was submitted is only ruled out when another such write was
   * submitted after it completed: overlapping writes may reach the disk in either order, whatever
   * order they complete in (different rings complete independently).
   */
  private allowedTags(sector: number, read: Entry): Set<number> | 'any' {
    const writes = this.sectorWrites.get(sector) ?? [];
    const allowed = new Set<number>();
    let frontier = 0;
    for (const w of writes) {
      if (w.completedAt !== undefined && w.completedAt < read.submittedAt)
        frontier = Math.max(frontier, w.submittedAt);
    }
    for (const w of writes) {
      if (w.submittedAt > read.completedAt!) break;
      const doneBefore = w.completedAt !== undefined && w.completedAt < read.submittedAt;
      if (doneBefore && w.completedAt! < frontier) continue;
      if (w.unknown) return 'any';
      allowed.add(w.tag);
    }
    if (frontier === 0) allowed.add(0);
    return allowed;
  }
}

function describeStamp(tag: number, sectorWord: number, intact: boolean): string {
  if (!intact) return `a torn or misplaced sector (stamp ${tag}, sector word ${sectorWord})`;
  return tag === 0 ? 'never-written data' : `data of request ${tag}`;
}
