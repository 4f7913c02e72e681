// Partial-order reduction: which actions commute. Two actions are independent when, from any
// state where both are enabled, taking them in either order reaches the same state (equal
// fingerprints) with the same actions enabled, and neither disables the other. The relation is
// stated in protocol terms, as what each action touches (its footprint); two actions whose
// footprints are disjoint are independent. por.test.ts checks the claim from reached states of
// several configurations, and that a wrong claim is caught.
import type { Action } from '../../impl/world/action.ts';

/** An action's identity across forks: its actor, kind and targets (what a sleep set holds). */
export function actionId(action: Action): string {
  return JSON.stringify(action);
}

/** Touches everything: never independent of anything. */
const ALL = '*';

/**
 * What an action reads or writes, as named parts:
 * - `evt:<side>:<r>`: the event channel into that side's ring r (pending and mask bits);
 * - `back:<r>` / `front:<r>`: that side's private state of ring r (the ring thread's wake-up,
 *   blkfront's interrupt state), `sring:<r>`: the shared ring page;
 * - `backend`: what blkback's rings share (its grant mappings, pending pools, the disk);
 * - `guest`: what the guest's side shares (blk-mq's queues, the guest's grant table and memory,
 *   the ledger's order of submissions and completions).
 * Grant mappings touch both sides' tables, so any ring work of either side also names `guest`.
 */
export function footprintOf(a: Action): readonly string[] {
  switch (a.actor) {
    case 'hypervisor': {
      // evtchn_2l's upcall: this port's pending (and, late EOI, mask) bit, and its handler's
      // wake-up (xen_blkif_be_int wakes ring r's thread; blkif_interrupt marks ring r).
      const side = a.side === 'blkback' ? 'back' : 'front';
      return [`evt:${side}:${a.ring}`, `${side}:${a.ring}`];
    }
    case 'guest':
      // blk_mq_submit_bio: the request joins blk-mq's software queue; no ring, grant or event
      // channel is touched until blkif_queue_rq dispatches it.
      return a.kind === 'submit' ? ['guest'] : [ALL];
    case 'blkback':
      if (a.kind === 'probe' || a.kind === 'commitTransaction') return [ALL];
      // The ring thread's work: its ring, the frontend's event (make_response notifies), the
      // grant mappings and the disk.
      return [`back:${a.ring}`, `sring:${a.ring}`, `evt:front:${a.ring}`, 'backend', 'guest'];
    case 'blkfront': {
      if (a.kind === 'probe' || a.kind === 'commitTransaction') return [ALL];
      const parts = [`front:${a.ring}`, `sring:${a.ring}`, 'guest'];
      // Only blkif_queue_rq notifies the backend (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY).
      if (a.kind === 'queueRequest') parts.push(`evt:back:${a.ring}`);
      return parts;
    }
    default:
      // The control plane (watches, transactions, probes), the toolstack's faults and the
      // adversary read and write xenstore and the machines: dependent on everything.
      return [ALL];
  }
}

/** The footprints of action ids, parsed once per id (sleep sets compare the same ids often). */
export class Independence {
  private readonly parts = new Map<string, readonly string[]>();
  constructor(private readonly footprint: (a: Action) => readonly string[] = footprintOf) {}

  private of(id: string): readonly string[] {
    let parts = this.parts.get(id);
    if (parts === undefined) {
      parts = this.footprint(JSON.parse(id) as Action);
      this.parts.set(id, parts);
    }
    return parts;
  }

  /** Disjoint footprints, neither touching everything. */
  independent(x: string, y: string): boolean {
    if (x === y) return false;
    const fx = this.of(x);
    const fy = this.of(y);
    if (fx.includes(ALL) || fy.includes(ALL)) return false;
    return !fx.some((part) => fy.includes(part));
  }
}
