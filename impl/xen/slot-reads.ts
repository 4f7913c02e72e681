// What an honest reader fetched from shared memory, per field: XSA-155's rule (and the 2021
// blkfront hardening's) is that each field of a slot the peer can write is read once into private
// memory, and only that copy is checked and used; a second fetch can see other bytes. A reader's
// log counts, per ring slot, the reads of each field of the entry at one ring index (a new index
// in the slot is a new entry, read afresh), and per indirect descriptor the reads of its fields
// within one request's parse. The first read past one, or a read of an entry the reader itself
// produced (reading back what it wrote), is kept as the log's finding for the read-once
// invariant. Pure bookkeeping: nothing here reads the shared page.
import { assert } from '../assert.ts';
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

export interface SlotReads {
  /** Per slot: the ring index whose entry the counts are for (+1; 0: none yet). */
  readonly entryOf: Float64Array;
  readonly counts: Uint8Array;
  /** Per (gref, descriptor, field) of the indirect pages of the request being parsed. */
  readonly descriptors: Map<number, number>;
  /** The request index `descriptors` counts for. */
  descriptorsOf: number;
  finding: ReadFinding | undefined;
}

export function slotReadsFor(size: number): SlotReads {
  assert(Number.isInteger(size) && size >= 1, 'a read log for %s slots', size);
  return {
    entryOf: new Float64Array(size),
    counts: new Uint8Array(size * FIELD_COUNT),
    descriptors: new Map(),
    descriptorsOf: -1,
    finding: undefined,
  };
}

/** One read of `fields` of the entry at ring index `index` (slot `slot`). */
export function noteSlotRead(
  log: SlotReads,
  slot: number,
  index: RingIdx,
  entry: 'request' | 'response',
  fields: readonly SlotField[],
): void {
  assert(slot >= 0 && slot < log.entryOf.length, 'slot %s of the read log', slot);
  if (log.entryOf[slot] !== index + 1) {
    log.entryOf[slot] = index + 1;
    log.counts.fill(0, slot * FIELD_COUNT, (slot + 1) * FIELD_COUNT);
  }
  for (const field of fields) {
    const at = slot * FIELD_COUNT + SLOT_FIELDS.indexOf(field);
    const n = log.counts[at]! + 1;
    log.counts[at] = Math.min(n, 255);
    if (n > 1 && log.finding === undefined) log.finding = { what: 'twice', entry, index, field };
  }
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

/** One read of a descriptor field while parsing the indirect pages of request `index`. */
export function noteDescriptorRead(
  log: SlotReads,
  index: RingIdx,
  gref: number,
  descriptor: number,
  field: DescriptorField,
): void {
  if (log.descriptorsOf !== index) {
    log.descriptorsOf = index;
    log.descriptors.clear();
  }
  const f = DESCRIPTOR_FIELDS.indexOf(field);
  assert(f >= 0 && Number.isInteger(descriptor) && descriptor >= 0, 'a descriptor field');
  const key = (gref * 512 + descriptor) * 4 + f;
  const n = (log.descriptors.get(key) ?? 0) + 1;
  log.descriptors.set(key, n);
  if (n > 1 && log.finding === undefined)
    log.finding = {
      what: 'twice',
      entry: `indirect descriptor ${descriptor} of gref ${gref}`,
      index,
      field,
    };
}
