// Ring isolation: an action on ring i changes no state of ring j != i. Since Bob Liu's
// multi-queue series each blkfront_ring_info and each xen_blkif_ring owns its shared page, event
// channel, shadows, grant list, pending pool and persistent tree; a ring's interrupt handler,
// request queueing, ring thread and completions take only that ring's lock.
import type { Action } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant } from './invariant.ts';
import {
  BACK_FIELDS,
  FRONT_FIELDS,
  FRONT_WIDTH,
  newRunScope,
  type RingChanges,
  snapshot,
  WIDTH,
} from './ring-changes.ts';
import { NO_VIOLATIONS, type Violation } from './violation.ts';

/** "blkfront ring 1's rsp_cons" */
function fieldName(ring: number, field: number): string {
  return field < FRONT_WIDTH
    ? `blkfront ring ${ring}'s ${FRONT_FIELDS[field]}`
    : `blkback ring ${ring}'s ${BACK_FIELDS[field - FRONT_WIDTH]}`;
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

function finding(
  world: World,
  action: Action,
  ring: number,
  at: number,
  from: number,
  to: number,
): Violation {
  const j = Math.floor(at / WIDTH);
  return {
    code: 'ring-isolation',
    step: world.stepCount,
    ring: j,
    message: `${action.actor} ${action.kind} on ring ${ring} changed ${fieldName(j, at - j * WIDTH)} from ${from} to ${to}`,
  };
}

/**
 * The reference check: a whole snapshot of every ring after every step, compared field by field
 * with the one before. Kept for the test that shows the incremental checker below reaches the
 * same verdicts at the same steps (incremental.test.ts).
 */
class RingIsolationReference {
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
    for (let at = 0; at < after.length; at++) {
      if (before[at] === after[at] || Math.floor(at / WIDTH) === ring) continue;
      return [finding(world, action!, ring, at, before[at]!, after[at]!)];
    }
    return [];
  }
}

/**
 * Incremental: the run's shared comparison (ring-changes.ts) names each ring whose numbers
 * changed and the first that did; a change on another ring than the acting one is the finding.
 * What it remembers is the world after the last step, as the reference's `last`, so a search
 * that merges runs by what checkers remember sees the same states.
 */
class RingIsolationChecker {
  constructor(private readonly changes: RingChanges) {}

  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const now = this.changes.update(world);
    if (now.ringSet || action === undefined) return NO_VIOLATIONS;
    const acted = actedRing(action);
    if (acted === undefined || now.count < 2) return NO_VIOLATIONS;
    // The first change on another ring, by its place in the snapshot (the reference's order).
    let found = -1;
    let from = 0;
    const rings = world.front.device.rings;
    for (let k = 0; k < now.frontCount; k++) {
      const at = now.frontAt[k]!;
      if (rings[now.front[k]!]!.index === acted || (found >= 0 && at >= found)) continue;
      found = at;
      from = now.frontFrom[k]!;
    }
    const back = world.host.back.rings;
    for (let k = 0; k < now.backCount; k++) {
      const at = now.backAt[k]!;
      if (at < 0 || back[now.back[k]!]!.index === acted || (found >= 0 && at >= found)) continue;
      found = at;
      from = now.backFrom[k]!;
    }
    if (found < 0) return NO_VIOLATIONS;
    return [finding(world, action, acted, found, from, numberAt(world, found))];
  }
}

/** The number now at snapshot place `at`, read as the snapshot reads it (for a finding only). */
function numberAt(world: World, at: number): number {
  const into: number[] = [];
  snapshot(world, into);
  return into[at]!;
}

/** The reference check as an invariant (tests only: the registry holds the incremental one). */
export const ringIsolationReference: Invariant = {
  code: 'ring-isolation',
  phase: 'step',
  summary: 'ring isolation, judged from whole snapshots (the reference for the incremental check)',
  judgesAction: true,
  start: () => new RingIsolationReference(),
};

export const ringIsolation: Invariant = {
  code: 'ring-isolation',
  phase: 'step',
  summary: 'an action on ring i changes no state of ring j != i (either honest side)',
  judgesAction: true,
  // Every run: with a hostile peer only the honest side's rings are snapshot.
  start: (_config, scope) => new RingIsolationChecker((scope ?? newRunScope()).changes),
};
