// blkback's probe fails (xen_blkbk_probe: xen_blkif_alloc out of memory): xenbus_dev_fatal writes
// the error node and Closing over Initialising, no driver stays bound, and blkfront, told by the
// Closing, closes: nothing is left half-connected.
import { describe, expect, it } from 'vitest';
import { XenbusState } from '../../model/xenbus-state.ts';
import { backendErrorPath, BACKEND_DOMID } from '../../model/xenstore-paths.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import type { World } from '../../impl/world/world.ts';
import { teardownLiveness } from '../invariants/teardown-liveness.ts';
import { Ledger } from '../ledger.ts';
import { ONE_WRITE, oneDisk } from './one-disk.ts';
import { probeFailureUnannounced } from '../mutants/probe-failure-unannounced.ts';

const CONFIG: WorldConfig = oneDisk({ backendProbeFailure: true }, ONE_WRITE);

/** The probe fails first, then the ordinary steps run to quiescence. */
function failedProbe(drivers: Drivers): { world: World; ledger: Ledger } {
  const ledger = new Ledger();
  const world = initWorld(CONFIG, drivers, ledger);
  expect(enabled(world).map((a) => a.kind)).toContain('probeFails');
  step(world, { actor: 'blkback', kind: 'probeFails' });
  for (let i = 0; i < 200; i++) {
    const next = enabled(world).find((a) => !isFaultStart(a));
    if (next === undefined) break;
    step(world, next);
  }
  return { world, ledger };
}

describe('blkback probe failure', () => {
  it('writes Closing over Initialising; blkfront closes; no violation', () => {
    const { world, ledger } = failedProbe(HONEST_DRIVERS);
    const writes = world.stateWrites.map((w) => `${w.side} ${w.from}->${w.to} ${w.writer}`);
    expect(writes).toEqual(['backend 1->5 backend', 'frontend 1->6 frontend']);
    expect(world.xs.read(BACKEND_DOMID, backendErrorPath(world.guestDomid)).ok).toBe(true);
    expect(world.host.back.snapshot.context.bound).toBe(false);
    expect(world.front.cachedState).toBe(XenbusState.Closed);
    expect(teardownLiveness.check(world, ledger)).toEqual([]);
    // No disk ever appeared: nothing was submitted.
    expect(world.guest.submittedCount).toBe(0);
  });

  it('teeth: a failure left at Initialising leaves blkfront waiting', () => {
    const { world, ledger } = failedProbe(probeFailureUnannounced);
    expect(world.front.cachedState).toBe(XenbusState.Initialising);
    expect(teardownLiveness.check(world, ledger).map((v) => v.code)).toEqual(['teardown-liveness']);
  });
});
