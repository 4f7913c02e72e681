// What an honest reader fetched from shared memory, per field: XSA-155's rule (and the 2021
// blkfront hardening's) is that each field of a slot the peer can write is read once into private
// memory, and only that copy is checked and used; a second fetch can see other bytes. A reader's
// log counts, per ring slot, the reads of each field of the entry at one ring index (a new index
// in the slot is a new entry, read afresh), and per indirect descriptor the reads of its fields
// within one request's parse. The first read past one, or a read of an entry the reader itself
// produced (reading back what it wrote), is kept as the log's finding for the read-once
// invariant. Pure bookkeeping: nothing here reads the shared page.
import { assert } from '../assert.ts';
import {
  FORK_SELF,
  type Forking,
  type ForksSelf,
  HASH_SELF,
  Hasher,
  type HashesSelf,
  type PartWalk,
} from '../hash.ts';
import type { RingIdx } from './ring-index.ts';

/** The fields of a ring entry, as counted (request and response fields share the slot). */
export const SLOT_FIELDS = [
  'operation',
  'nr_segments',
  'handle',
  'id',
  'sector_number',
  'segments',
  'status',
] as const;
export type SlotField = (typeof SLOT_FIELDS)[number];
const FIELD_COUNT = SLOT_FIELDS.length;

/** The fields of one indirect descriptor (struct blkif_request_segment). */
export const DESCRIPTOR_FIELDS = ['gref', 'first_sect', 'last_sect'] as const;
export type DescriptorField = (typeof DESCRIPTOR_FIELDS)[number];

export interface ReadFinding {
  readonly what: 'twice' | 'read-back';
  /** 'request', 'response' or 'indirect descriptor N of gref G'. */
  readonly entry: string;
  readonly index: RingIdx;
  readonly field: string;
}

/**
 * One reader's log of one ring. The per-slot columns live in one buffer shared with a fork until
 * either side notes a read (a fork of a world copies no log it does not read again).
 */
export class SlotReads implements ForksSelf, HashesSelf {
  /** Per slot: the ring index whose entry the counts are for (+1; 0: none yet). */
  private entryOf: Float64Array;
  private counts: Uint8Array;
  private columnsShared = false;
  /** The columns' hash while they are unchanged (hashB: its second lane). */
  private hashed = false;
  private hashA = 0;
  private hashB = 0;
  /** Per (gref, descriptor, field) of the indirect pages of the request being parsed. */
  private descriptors = new Map<number, number>();
  /** The request index `descriptors` counts for. */
  private descriptorsOf = -1;
  finding: ReadFinding | undefined = undefined;

  constructor(readonly size: number) {
    assert(Number.isInteger(size) && size >= 1, 'a read log for %s slots', size);
    const buffer = new ArrayBuffer(size * 8 + size * FIELD_COUNT);
    this.entryOf = new Float64Array(buffer, 0, size);
    this.counts = new Uint8Array(buffer, size * 8, size * FIELD_COUNT);
  }

  /** One read of `fields` of the entry at ring index `index` (slot `slot`). */
  noteSlot(
    slot: number,
    index: RingIdx,
    entry: 'request' | 'response',
    fields: readonly SlotField[],
  ): void {
    assert(slot >= 0 && slot < this.size, 'slot %s of the read log', slot);
    this.changing();
    if (this.entryOf[slot] !== index + 1) {
      this.entryOf[slot] = index + 1;
      this.counts.fill(0, slot * FIELD_COUNT, (slot + 1) * FIELD_COUNT);
    }
    for (const field of fields) {
      const at = slot * FIELD_COUNT + SLOT_FIELDS.indexOf(field);
      const n = this.counts[at]! + 1;
      this.counts[at] = Math.min(n, 255);
      if (n > 1 && this.finding === undefined)
        this.finding = { what: 'twice', entry, index, field };
    }
  }

  /** One read of a descriptor field while parsing the indirect pages of request `index`. */
  noteDescriptor(index: RingIdx, gref: number, descriptor: number, field: DescriptorField): void {
    if (this.descriptorsOf !== index) {
      this.descriptorsOf = index;
      this.descriptors.clear();
    }
    const f = DESCRIPTOR_FIELDS.indexOf(field);
    assert(f >= 0 && Number.isInteger(descriptor) && descriptor >= 0, 'a descriptor field');
    const key = (gref * 512 + descriptor) * 4 + f;
    const n = (this.descriptors.get(key) ?? 0) + 1;
    this.descriptors.set(key, n);
    if (n > 1 && this.finding === undefined)
      this.finding = {
        what: 'twice',
        entry: `indirect descriptor ${descriptor} of gref ${gref}`,
        index,
        field,
      };
  }

  /** Before a change of the columns: this log's own copy. */
  private changing(): void {
    this.hashed = false;
    if (!this.columnsShared) return;
    const buffer = this.entryOf.buffer.slice(0);
    this.entryOf = new Float64Array(buffer, 0, this.size);
    this.counts = new Uint8Array(buffer, this.size * 8, this.size * FIELD_COUNT);
    this.columnsShared = false;
    assert(this.counts.buffer === buffer, 'read log: columns over one buffer');
  }

  /** A copy sharing the columns until either side changes them; the descriptor map is small. */
  [FORK_SELF](fork: Forking): SlotReads {
    const copy = Object.create(SlotReads.prototype) as SlotReads;
    Object.assign(copy, this);
    this.columnsShared = true;
    copy.columnsShared = true;
    copy.descriptors = new Map(this.descriptors);
    copy.finding = fork.copy(this.finding) as ReadFinding | undefined;
    assert(copy.entryOf === this.entryOf && copy.descriptors !== this.descriptors, 'log fork');
    return copy;
  }

  /** The counts of every slot's current entry, the descriptor counts and the finding. */
  [HASH_SELF](h: Hasher, fresh: boolean, walk: PartWalk): void {
    assert(this.entryOf.length === this.size, 'read log of %s slots', this.entryOf.length);
    if (fresh || !this.hashed) {
      const own = this.columnsHash();
      if (fresh) {
        h.mix(own.a);
        h.mix(own.b);
      } else {
        this.hashA = own.a;
        this.hashB = own.b;
        this.hashed = true;
      }
    }
    if (!fresh) {
      h.mix(this.hashA);
      h.mix(this.hashB);
    }
    h.mix(this.descriptorsOf);
    walk.value(this.descriptors);
    walk.value(this.finding);
  }

  /** The columns' own hash: every slot's entry index and field counts. */
  private columnsHash(): Hasher {
    const own = new Hasher();
    own.mix(this.size);
    for (let slot = 0; slot < this.size; slot++) {
      own.mixNumber(this.entryOf[slot]!);
      for (let f = 0; f < FIELD_COUNT; f++) own.mix(this.counts[slot * FIELD_COUNT + f]!);
    }
    return own;
  }
}

export function slotReadsFor(size: number): SlotReads {
  const log = new SlotReads(size);
  assert(log.finding === undefined, 'a fresh read log with a finding');
  return log;
}

/** The producer read an entry it wrote itself (its own request, or its own response). */
export function noteReadBack(
  log: SlotReads,
  index: RingIdx,
  entry: 'request' | 'response',
  field: SlotField,
): void {
  assert(SLOT_FIELDS.includes(field), 'a slot field');
  log.finding ??= { what: 'read-back', entry, index, field };
}
