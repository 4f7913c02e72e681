// Actions are immutable values: the per-target ones are built once per world and reused, so
// enabled() — the hot path — allocates no action object after the first steps. The cache is
// owned by the world (no module state) and holds nothing a run depends on.
import { assert } from '../assert.ts';
import type { Action } from './action.ts';

export type RingActionKind =
  | 'queueRequest'
  | 'processResponses'
  | 'finalCheck'
  | 'consumeRequest'
  | 'submitBarrier'
  | 'deliverEvent';
const RING_KINDS: readonly RingActionKind[] = [
  'queueRequest',
  'processResponses',
  'finalCheck',
  'consumeRequest',
  'submitBarrier',
  'deliverEvent',
];

export class ActionCache {
  private readonly ringRows: Action[][] = [];
  private readonly submits: Action[] = [];

  /** The action of `kind` on ring `ring` of `side`; deliverEvent is the hypervisor's. */
  ring(side: 'blkfront' | 'blkback', kind: RingActionKind, ring: number): Action {
    const k = RING_KINDS.indexOf(kind);
    assert(k >= 0, 'ring action kind %s has no slot', kind);
    const slot = (side === 'blkfront' ? 0 : RING_KINDS.length) + k;
    let row = this.ringRows[ring];
    if (row === undefined) {
      assert(Number.isInteger(ring) && ring >= 0, 'a ring index');
      row = [];
      this.ringRows[ring] = row;
    }
    let action = row[slot];
    if (action === undefined) {
      action =
        kind === 'deliverEvent'
          ? { actor: 'hypervisor', kind, side, ring }
          : ({ actor: side, kind, ring } as Action);
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
