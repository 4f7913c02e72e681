// Actions are immutable values: the per-target ones are built once per world and reused, so
// enabled() — the hot path — allocates no action object after the first steps. The cache is
// owned by the world (no module state) and holds nothing a run depends on.
import { assert } from '../assert.ts';
import type { Action } from './action.ts';

type CompleteIoAction = Extract<Action, { kind: 'completeIo' }>;

export type RingActionKind =
  | 'queueRequest'
  | 'processResponses'
  | 'finalCheck'
  | 'consumeRequest'
  | 'submitBarrier'
  | 'deliverEvent'
  | 'lateEoiExpired'
  | 'endForeignAccess'
  | 'purgePersistent';
/** Slots per side in a ring's row: one per RingActionKind. */
const RING_KIND_COUNT = 9;

/** A kind's slot: a switch on the (interned) kind strings, not a search of a list, per call. */
function ringKindSlot(kind: RingActionKind): number {
  switch (kind) {
    case 'queueRequest':
      return 0;
    case 'processResponses':
      return 1;
    case 'finalCheck':
      return 2;
    case 'consumeRequest':
      return 3;
    case 'submitBarrier':
      return 4;
    case 'deliverEvent':
      return 5;
    case 'lateEoiExpired':
      return 6;
    case 'endForeignAccess':
      return 7;
    case 'purgePersistent':
      return 8;
  }
}

export class ActionCache {
  private readonly ringRows: Action[][] = [];
  private readonly submits: Action[] = [];
  private readonly ioRows: CompleteIoAction[][] = [];

  /** The action of `kind` on ring `ring` of `side`; deliverEvent is the hypervisor's. */
  ring(side: 'blkfront' | 'blkback', kind: RingActionKind, ring: number): Action {
    const k = ringKindSlot(kind);
    assert(k >= 0 && k < RING_KIND_COUNT, 'ring action kind %s has no slot', kind);
    const slot = (side === 'blkfront' ? 0 : RING_KIND_COUNT) + k;
    let row = this.ringRows[ring];
    if (row === undefined) {
      assert(Number.isInteger(ring) && ring >= 0, 'a ring index');
      row = [];
      this.ringRows[ring] = row;
    }
    let action = row[slot];
    if (action === undefined) {
      action =
        kind === 'deliverEvent' || kind === 'lateEoiExpired'
          ? { actor: 'hypervisor', kind, side, ring }
          : ({ actor: side, kind, ring } as Action);
      row[slot] = action;
    }
    return action;
  }

  /** blkback's completeIo of the request in pending slot `slot` (id `id`) of ring `ring`. */
  completeIo(ring: number, slot: number, id: number): Action {
    let row = this.ioRows[ring];
    if (row === undefined) {
      assert(Number.isInteger(ring) && ring >= 0, 'a ring index');
      row = [];
      this.ioRows[ring] = row;
    }
    let action = row[slot];
    // A slot is reused by later requests: the cached action is the one of its current id.
    if (action === undefined || action.id !== id) {
      action = { actor: 'blkback', kind: 'completeIo', ring, slot, id };
      row[slot] = action;
    }
    return action;
  }

  submit(vcpu: number): Action {
    let action = this.submits[vcpu];
    if (action === undefined) {
      assert(Number.isInteger(vcpu) && vcpu >= 0, 'a vCPU number');
      action = { actor: 'guest', kind: 'submit', vcpu };
      this.submits[vcpu] = action;
    }
    return action;
  }
}
