// The guest unbinds blkfront (sysfs unbind, rmmod): xenbus_dev_remove runs blkfront_remove, then
// writes Closed itself, and blkback closes after it. Before the backend maps anything that is
// clean; on a connected device blkfront_remove frees ring pages the backend still maps (their
// grants only deferred), which is why the honest campaign leaves it out (docs/findings.md).
import { describe, expect, it } from 'vitest';
import { XenbusState } from '../../model/xenbus-state.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import { frontConnected, type World } from '../../impl/world/world.ts';
import { Ledger } from '../ledger.ts';
import { ONE_WRITE, oneDisk } from './one-disk.ts';

const CONFIG: WorldConfig = oneDisk({ guestUnbindAfterWrites: 0 });

/** The first ordinary step each time, until `until` holds or nothing is left to do. */
function runUntil(world: World, until: (w: World) => boolean): void {
  for (let i = 0; i < 500 && !until(world); i++) {
    const next = enabled(world).find((a) => !isFaultStart(a));
    if (next === undefined) return;
    step(world, next);
  }
}

/** Each state write as `side from->to writer`. */
const writesOf = (world: World): string[] =>
  world.stateWrites.map((w) => `${w.side} ${w.from}->${w.to} ${w.writer}`);
const unbindEnabled = (w: World): boolean => enabled(w).some((a) => a.kind === 'unbind');
const quietlyConnected = (w: World): boolean =>
  frontConnected(w) && w.xs.pendingWatchCount(w.guestDomid) === 0;
const PERSISTENT: WorldConfig = {
  ...CONFIG,
  workload: ONE_WRITE,
};

describe('guest unbinds blkfront', () => {
  it('before talking to the backend: xenbus writes Closed, blkback follows to Closed', () => {
    const world = initWorld(CONFIG, HONEST_DRIVERS, new Ledger());
    runUntil(world, (w) => w.front.probed);
    expect(unbindEnabled(world)).toBe(true);
    step(world, { actor: 'guest', kind: 'unbind' });
    runUntil(world, () => false);
    const writes = writesOf(world);
    expect(writes).toContain('frontend 1->6 xenbus');
    expect(writes).toContain('backend 2->6 backend');
    expect(world.host.back.cachedState).toBe(XenbusState.Closed);
    expect(world.guestGnttab.grantedCount()).toBe(0);
  });

  it("after blkfront's own failure: Closing -> Closed by xenbus", () => {
    // max_event_channels 1 leaves no port: setup_blkring fails, xenbus_dev_fatal writes Closing.
    const config = { ...CONFIG, faults: { ...CONFIG.faults, eventChannelsMax: 1 } };
    const world = initWorld(config, HONEST_DRIVERS, new Ledger());
    runUntil(world, (w) => w.front.cachedState === XenbusState.Closing && unbindEnabled(w));
    expect(world.front.cachedState).toBe(XenbusState.Closing);
    step(world, { actor: 'guest', kind: 'unbind' });
    const writes = writesOf(world);
    expect(writes).toContain('frontend 5->6 xenbus');
  });

  it('on a connected device without persistent mappings: Connected -> Closed by xenbus', () => {
    const world = initWorld(CONFIG, HONEST_DRIVERS, new Ledger());
    runUntil(world, quietlyConnected);
    expect(unbindEnabled(world)).toBe(true);
    step(world, { actor: 'guest', kind: 'unbind' });
    runUntil(world, () => false);
    const writes = writesOf(world);
    expect(writes).toContain('frontend 4->6 xenbus');
    expect(writes).toContain('backend 4->6 backend');
    // The ring page's grant was deferred with its page, and ended once blkback unmapped it.
    expect(world.guestGnttab.mappedCount()).toBe(0);
  });

  it('with persistent grants mapped: not a choice, blkif_free_ring frees mapped pages', () => {
    const world = initWorld(PERSISTENT, HONEST_DRIVERS, new Ledger());
    runUntil(world, () => false);
    expect(world.front.device.features.persistent).toBe(true);
    expect(unbindEnabled(world)).toBe(false);
    step(world, { actor: 'guest', kind: 'unbind' });
    // The persistent grant's bounce page is freed while blkback still maps it.
    const table = world.guestGnttab;
    const exposed = table.grantedRefs().filter((ref) => {
      const entry = table.entry(ref)!;
      return table.isMapped(ref) && !world.guestMemory.isAllocated(entry.frame);
    });
    expect(exposed.length).toBeGreaterThan(0);
  });
});
