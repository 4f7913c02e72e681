// The backend's persistent-grant cache (blkback.c: add_persistent_gnt's max_pgrants limit,
// get_persistent_gnt / put_persistent_gnt's `active` flag and persistent_gnt_in_use,
// purge_persistent_gnt). Per backend ring: the tree never holds more than max_persistent_grants
// entries, and every segment of a request in flight that uses a persistent grant finds its entry
// still in the tree, active, and its grant still mapped by the backend: a purge removes and
// unmaps only idle entries, so no I/O goes through a mapping that is gone. persistent_gnt_in_use
// counts exactly those segments.
import type { BackRingState, PendingRequest } from '../../impl/blkback/back-ring.ts';
import type { Action } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { FindingList, type Violation } from './violation.ts';

function violation(world: World, ring: number, message: string, gref?: number): Violation {
  return {
    code: 'persistent-cache',
    step: world.stepCount,
    ring,
    ...(gref === undefined ? {} : { gref }),
    message,
  };
}

/** The tree's size against max_persistent_grants (cheap: after every blkback step on the ring). */
function judgeLimit(world: World, ring: BackRingState, out: Violation[]): void {
  const max = world.host.env.features.persistentGrantsMax;
  if (ring.persistent.size > max)
    out.push(
      violation(
        world,
        ring.index,
        `blkback ring ${ring.index} keeps ${ring.persistent.size} persistent grants, over max_persistent_grants ${max}`,
      ),
    );
}

/** Each in-flight persistent segment: in the tree, active, mapped; the in-use count exact. */
function judgeInUse(world: World, ring: BackRingState, out: Violation[]): void {
  let inUse = 0;
  const judge = (pending: PendingRequest): void => {
    for (const seg of pending.segments) {
      if (!seg.persistent) continue;
      inUse += 1;
      const entry = ring.persistent.get(seg.gref);
      let why: string | undefined;
      if (!world.guestGnttab.isMapped(seg.gref)) why = 'the backend no longer maps it';
      else if (entry === undefined) why = `it is no longer in ring ${ring.index}'s persistent tree`;
      else if (!entry.active) why = 'its entry is idle';
      if (why !== undefined)
        out.push(
          violation(
            world,
            ring.index,
            `request id ${pending.id} on blkback ring ${ring.index} does I/O through persistent grant ${seg.gref} but ${why}`,
            seg.gref,
          ),
        );
    }
  };
  for (const pending of ring.inflight.values()) judge(pending);
  if (ring.barrier !== undefined) judge(ring.barrier);
  if (inUse !== ring.persistentInUse)
    out.push(
      violation(
        world,
        ring.index,
        `blkback ring ${ring.index}'s persistent_gnt_in_use is ${ring.persistentInUse} but ${inUse} segments in flight use persistent grants`,
      ),
    );
}

/**
 * What a step can have changed: only blkback's ring steps map into a ring's tree (a consume adds,
 * a completion releases: the limit is judged) or remove from it (a purge: judged in full). A
 * release drops a whole ring from the list (release-once judges it); nothing else touches a tree.
 * Without an action (quiescence, the full-check mode) every ring is judged in full.
 */
const NONE = -1;
function treeRingOf(action: Action | undefined): number | undefined {
  if (action === undefined) return undefined;
  return action.actor === 'blkback' && 'ring' in action ? action.ring : NONE;
}

class CacheChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  check(world: World, _ledger: Ledger, action?: Action): readonly Violation[] {
    const out = this.findings.start();
    const at = treeRingOf(action);
    if (at === NONE) return this.findings.take();
    const full = at === undefined || action?.kind === 'purgePersistent';
    for (const ring of world.host.back.rings) {
      if (at !== undefined && ring.index !== at) continue;
      judgeLimit(world, ring, out);
      if (full) judgeInUse(world, ring, out);
      if (at !== undefined) break;
    }
    return this.findings.take();
  }
}

export const persistentCache: Invariant = {
  code: 'persistent-cache',
  phase: 'step',
  summary:
    "blkback's persistent-grant tree within max_persistent_grants; no entry in use purged or unmapped",
  when: (config) => config.hostile?.side !== 'blkback',
  start: () => new CacheChecker(),
};
