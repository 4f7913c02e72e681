// Ring isolation: an action on ring i changes no state of ring j != i. Since Bob Liu's
// multi-queue series each blkfront_ring_info and each xen_blkif_ring owns its shared page, event
// channel, shadows, grant list, pending pool and persistent tree; a ring's interrupt handler,
// request queueing, ring thread and completions take only that ring's lock.
import type { Action } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import { reqEvent, reqProd, rspEvent, rspProd } from '../../impl/xen/shared-ring.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant } from './invariant.ts';
import type { Violation } from './violation.ts';

/**
 * What is judged per ring, blkfront's then blkback's. The first field of each side is its ring's
 * identity (the ring page's frame, the event channel's port): when either changes, the ring set
 * changed (connect, disconnect, recovery) and the step is not judged. blkfront's `stopped` flag
 * is left out: kick_pending_request_queues restarts every stopped hardware queue of the device
 * (blk_mq_start_stopped_hw_queues), which is no state of one ring.
 */
const FRONT_FIELDS = [
  'ring page',
  'req_prod_pvt',
  'rsp_cons',
  'req_prod',
  'req_event',
  'rsp_prod',
  'rsp_event',
  'shadow free-list head',
  'requests in flight',
  'persistent grant entries',
  'unused grant entries',
  'fresh grant entries',
  'persistent_gnts_c',
  'hardware-queue dispatch list',
  'interrupt handler state',
] as const;
const BACK_FIELDS = [
  'event channel',
  'req_cons',
  'rsp_prod_pvt',
  'requests consumed',
  'responses made',
  'free pending requests',
  'requests in flight',
  'persistent grants',
  'ring thread',
  'halted',
  'held barrier',
] as const;
const FRONT_WIDTH = FRONT_FIELDS.length;
const WIDTH = FRONT_WIDTH + BACK_FIELDS.length;
/** A ring index one side does not have (or does not judge: the hostile side's). */
const ABSENT = -1;
const IRQ_CODES = { idle: 0, responses: 1, finalCheck: 2 } as const;

/** "blkfront ring 1's rsp_cons" */
function fieldName(ring: number, field: number): string {
  return field < FRONT_WIDTH
    ? `blkfront ring ${ring}'s ${FRONT_FIELDS[field]}`
    : `blkback ring ${ring}'s ${BACK_FIELDS[field - FRONT_WIDTH]}`;
}

/** `into` gets WIDTH numbers per ring index; returns the number of ring indices. */
function snapshot(world: World, into: number[]): number {
  const hostile = world.config.hostile?.side;
  const front = hostile === 'blkfront' ? [] : world.front.device.rings;
  const back = hostile === 'blkback' ? [] : world.host.back.rings;
  let count = 0;
  for (const r of front) count = Math.max(count, r.index + 1);
  for (const r of back) count = Math.max(count, r.index + 1);
  into.length = count * WIDTH;
  into.fill(ABSENT);
  for (const r of front) {
    const at = r.index * WIDTH;
    const s = r.front.sring;
    into[at] = r.ringFrame;
    into[at + 1] = r.front.reqProdPvt;
    into[at + 2] = r.front.rspCons;
    into[at + 3] = reqProd(s);
    into[at + 4] = reqEvent(s);
    into[at + 5] = rspProd(s);
    into[at + 6] = rspEvent(s);
    into[at + 7] = r.shadowFree;
    into[at + 8] = r.inflightCount;
    into[at + 9] = r.persistentSlots.length;
    into[at + 10] = r.unusedSlots.length;
    into[at + 11] = r.freshSlots;
    into[at + 12] = r.persistentGntsC;
    into[at + 13] = r.dispatch.length;
    into[at + 14] = IRQ_CODES[r.irq];
  }
  for (const r of back) {
    // Looked up by its index, not its place in the array.
    const at = r.index * WIDTH + FRONT_WIDTH;
    into[at] = r.port;
    into[at + 1] = r.back.reqCons;
    into[at + 2] = r.back.rspProdPvt;
    into[at + 3] = r.consumedCount;
    into[at + 4] = r.respondedCount;
    into[at + 5] = r.pendingFree.length;
    into[at + 6] = r.inflight.size;
    into[at + 7] = r.persistent.size;
    into[at + 8] = r.worker === 'running' ? 1 : 0;
    into[at + 9] = r.halted ? 1 : 0;
    into[at + 10] = r.barrier === undefined ? 0 : 1;
  }
  return count;
}

/** The ring a driver or event action works on; undefined for actions of no one ring. */
function actedRing(action: Action): number | undefined {
  if (action.actor !== 'blkfront' && action.actor !== 'blkback' && action.actor !== 'hypervisor')
    return undefined;
  return 'ring' in action ? action.ring : undefined;
}

/** The ring set (each side's ring identities) is the same in both snapshots. */
function sameRings(before: readonly number[], after: readonly number[]): boolean {
  if (before.length !== after.length) return false;
  for (let at = 0; at < after.length; at += WIDTH)
    if (before[at] !== after[at] || before[at + FRONT_WIDTH] !== after[at + FRONT_WIDTH])
      return false;
  return true;
}

class RingIsolationChecker {
  /** The snapshot after the last step, and a buffer for the next (swapped, not reallocated). */
  private last: number[] = [];
  private next: number[] = [];

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const count = snapshot(world, this.next);
    const before = this.last;
    const after = this.next;
    this.last = after;
    this.next = before;
    const ring = action === undefined ? undefined : actedRing(action);
    if (ring === undefined || count < 2 || !sameRings(before, after)) return [];
    for (let j = 0; j < count; j++) {
      if (j === ring) continue;
      for (let f = 0; f < WIDTH; f++) {
        const at = j * WIDTH + f;
        if (before[at] === after[at]) continue;
        return [
          {
            code: 'ring-isolation',
            step: world.stepCount,
            ring: j,
            message: `${action!.actor} ${action!.kind} on ring ${ring} changed ${fieldName(j, f)} from ${before[at]} to ${after[at]}`,
          },
        ];
      }
    }
    return [];
  }
}

export const ringIsolation: Invariant = {
  code: 'ring-isolation',
  phase: 'step',
  summary: 'an action on ring i changes no state of ring j != i (either honest side)',
  judgesAction: true,
  // Every run: with a hostile peer only the honest side's rings are snapshot.
  start: () => new RingIsolationChecker(),
};
