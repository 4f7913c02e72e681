// The pending-pool half of release-once: free + in flight + the held barrier is blkback's whole
// pool of pending_req slots (32 per ring page), each slot exactly once. Its teeth: a slot returned
// twice (free_req on two paths) or one that is not a slot of the pool, and on a ring step, where
// only what changed since the last whole pool is counted, a slot both free and in flight in the
// middle of an otherwise unchanged free list.
import { describe, expect, it } from 'vitest';
import { REFERENCE_CONFIG } from '../../bench/steps-per-second.ts';
import type { Action } from '../../impl/world/action.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import type { World } from '../../impl/world/world.ts';
import { Ledger } from '../ledger.ts';
import { SeededChooser } from '../strategies/chooser.ts';
import { releaseOnce } from './release-once.ts';

/** A seeded run of the reference scenario stopped at the first step with I/O in flight. */
function busyWorld(): { world: World; ledger: Ledger } {
  const ledger = new Ledger();
  const world = initWorld(REFERENCE_CONFIG, HONEST_DRIVERS, ledger);
  const chooser = new SeededChooser(3, 100_000);
  for (let n = 0; n < 5_000; n++) {
    if (world.host.back.rings.some((r) => r.inflight.size > 0)) return { world, ledger };
    const actions = enabled(world);
    const choice = chooser.choose(actions.length);
    step(world, actions[choice === 'drain' ? 0 : choice]!);
  }
  throw new Error('the reference scenario never had I/O in flight');
}

function poolMessages(world: World, ledger: Ledger): string[] {
  const checker = releaseOnce.start(world.config);
  return checker.check(world, ledger).map((v) => v.message);
}

describe('release-once: the pending pool', () => {
  it('holds on honest drivers with I/O in flight', () => {
    const { world, ledger } = busyWorld();
    expect(poolMessages(world, ledger)).toEqual([]);
  });

  it('names the ring when a slot is returned twice', () => {
    const { world, ledger } = busyWorld();
    const ring = world.host.back.rings.find((r) => r.inflight.size > 0)!;
    const [slot] = ring.inflight.keys();
    ring.pendingFree.push(slot!);
    expect(poolMessages(world, ledger)).toEqual([
      `blkback ring ${ring.index}'s pending pool: ${32 * ring.ringRefs.length + 1} slots free or in use, ${32 * ring.ringRefs.length} distinct, of ${32 * ring.ringRefs.length}`,
    ]);
  });

  it('counts a slot outside the pool as no slot of it', () => {
    const { world, ledger } = busyWorld();
    const ring = world.host.back.rings.find((r) => r.pendingFree.length > 0)!;
    const count = 32 * ring.ringRefs.length;
    ring.pendingFree[0] = count + 7;
    expect(poolMessages(world, ledger)).toEqual([
      `blkback ring ${ring.index}'s pending pool: ${count} slots free or in use, ${count - 1} distinct, of ${count}`,
    ]);
  });

  it("on a ring's step, sees a free slot changed in the middle of the list", () => {
    const { world, ledger } = busyWorld();
    const ring = world.host.back.rings.find(
      (r) => r.inflight.size > 0 && r.pendingFree.length > 2,
    )!;
    const count = 32 * ring.ringRefs.length;
    const consume: Action = { actor: 'blkback', kind: 'consumeRequest', ring: ring.index };
    const checker = releaseOnce.start(world.config);
    expect(checker.check(world, ledger, consume)).toEqual([]);
    // One step later: a slot in flight is also free, where a free slot was (the count holds),
    // and the ring's req_cons moved, so its pool is judged from the last whole one.
    const [slot] = ring.inflight.keys();
    ring.pendingFree[1] = slot!;
    ring.back.reqCons = (ring.back.reqCons + 1) as typeof ring.back.reqCons;
    world.stepCount += 1;
    expect(checker.check(world, ledger, consume).map((v) => v.message)).toEqual([
      `blkback ring ${ring.index}'s pending pool: ${count} slots free or in use, ${count - 1} distinct, of ${count}`,
    ]);
  });
});
