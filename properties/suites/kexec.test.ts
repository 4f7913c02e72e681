// A guest kexec after blkfront was unbound: the new kernel's xenbus_reset_frontend drives blkback
// from wherever it is (Connected, Closing, Closed) back to InitWait, and a new blkfront connects a
// second session in the same directory; the workload left after the kexec completes on it.
import { describe, expect, it } from 'vitest';
import { XenbusState } from '../../model/xenbus-state.ts';
import { BACKEND_DOMID, backendErrorPath, frontendPath } from '../../model/xenstore-paths.ts';
import { DEFAULT_BACKEND, DEFAULT_FRONTEND } from '../../impl/world/config.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import { frontConnected, type World } from '../../impl/world/world.ts';
import { Ledger } from '../ledger.ts';
import { ONE_WRITE, oneDisk } from './one-disk.ts';
import { backendIgnoresReconnect } from '../mutants/backend-ignores-reconnect.ts';
import { teardownLiveness } from '../invariants/teardown-liveness.ts';

const CONFIG: WorldConfig = oneDisk({ guestUnbindAfterWrites: 0, guestKexec: true }, ONE_WRITE);

/** The first ordinary step each time, until `until` holds or nothing is left to do. */
function runUntil(world: World, until: (w: World) => boolean): void {
  for (let i = 0; i < 800 && !until(world); i++) {
    const next = enabled(world).find((a) => !isFaultStart(a));
    if (next === undefined) return;
    step(world, next);
  }
}

const writesOf = (world: World): string[] =>
  world.stateWrites.map((w) => `${w.side} ${w.from}->${w.to} ${w.writer}`);
const has = (w: World, kind: string): boolean => enabled(w).some((a) => a.kind === kind);

/** Unbind before talking, let blkback close, kexec, and run the second session to the end. */
function kexecAfterUnbind(drivers: Drivers): { world: World; ledger: Ledger } {
  const ledger = new Ledger();
  const world = initWorld(CONFIG, drivers, ledger);
  runUntil(world, (w) => w.front.probed);
  step(world, { actor: 'guest', kind: 'unbind' });
  runUntil(world, (w) => has(w, 'kexec') && w.host.back.cachedState === XenbusState.Closed);
  step(world, { actor: 'guest', kind: 'kexec' });
  runUntil(world, () => false);
  return { world, ledger };
}

describe('guest kexec (xenbus_reset_frontend)', () => {
  it('is not offered while blkfront is bound', () => {
    const world = initWorld(CONFIG, HONEST_DRIVERS, new Ledger());
    runUntil(world, frontConnected);
    expect(has(world, 'kexec')).toBe(false);
  });

  it('over a Closed backend: Initialising, blkback prepares for reconnect, a second session', () => {
    const { world, ledger } = kexecAfterUnbind(HONEST_DRIVERS);
    const writes = writesOf(world);
    expect(writes).toContain('frontend 6->1 xenbus');
    expect(writes).toContain('backend 6->2 backend');
    expect(writes.filter((w) => w === 'frontend 1->3 frontend')).toHaveLength(1);
    expect(frontConnected(world)).toBe(true);
    expect(world.front.snapshot.context.bound).toBe(true);
    // The write submitted after the kexec completed on the new session.
    expect(ledger.pending()).toHaveLength(0);
    expect(world.guest.submittedCount).toBe(1);
  });

  it('over a Connected backend: Closing, Closed, Initialising, each after the backend followed', () => {
    const world = initWorld(CONFIG, HONEST_DRIVERS, new Ledger());
    runUntil(world, (w) => frontConnected(w) && w.guest.submittedCount === 1 && !has(w, 'submit'));
    runUntil(world, (w) => has(w, 'unbind'));
    step(world, { actor: 'guest', kind: 'unbind' });
    // The kexec comes before blkback's watch saw the Closed: it still reads Connected.
    expect(world.host.back.cachedState).toBe(XenbusState.Connected);
    expect(has(world, 'kexec')).toBe(true);
    step(world, { actor: 'guest', kind: 'kexec' });
    expect(world.front.resetAwaits).toBe(XenbusState.Closing);
    runUntil(world, () => false);
    // Each reset write comes after the backend followed the one before it.
    const writes = writesOf(world);
    const order = [
      'frontend 6->5 xenbus',
      'backend 4->5 backend',
      'frontend 5->6 xenbus',
      'backend 5->6 backend',
      'frontend 6->1 xenbus',
      'backend 6->2 backend',
      'frontend 1->3 frontend',
    ].map((w) => writes.lastIndexOf(w));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    expect(frontConnected(world)).toBe(true);
  });

  it('teeth: a blkback that stays Closed on Initialising leaves the reset waiting', () => {
    const { world, ledger } = kexecAfterUnbind(backendIgnoresReconnect);
    expect(world.front.resetAwaits).toBe(XenbusState.InitWait);
    const found = teardownLiveness.start(world.config).check(world, ledger);
    expect(found.map((v) => v.code)).toEqual(['teardown-liveness']);
  });
});

describe('a second session over the first one’s keys', () => {
  // Two queues in the first session; before the second, dom0 lowers the backend's advertised
  // queue count to 1, so the new blkfront negotiates one ring and writes the flat keys only.
  const TWO_QUEUES: WorldConfig = {
    ...CONFIG,
    vcpuCount: 2,
    frontend: { ...DEFAULT_FRONTEND, queueCountMax: 2 },
    backend: { ...DEFAULT_BACKEND, queueCountMax: 2 },
    workload: [],
  };

  function secondSession(config: WorldConfig): World {
    const world = initWorld(config, HONEST_DRIVERS, new Ledger());
    runUntil(world, frontConnected);
    runUntil(world, (w) => has(w, 'unbind'));
    step(world, { actor: 'guest', kind: 'unbind' });
    runUntil(world, (w) => has(w, 'kexec') && w.host.back.cachedState === XenbusState.Closed);
    if (has(world, 'dom0Write')) step(world, { actor: 'toolstack', kind: 'dom0Write' });
    step(world, { actor: 'guest', kind: 'kexec' });
    runUntil(world, () => false);
    return world;
  }

  it('with the same layout, the second session connects', () => {
    const world = secondSession(TWO_QUEUES);
    expect(frontConnected(world)).toBe(true);
    expect(world.host.back.rings).toHaveLength(2);
  });

  it('with one queue, blkback reads the stale multi-queue-num-queues and fails', () => {
    const world = secondSession({
      ...TWO_QUEUES,
      faults: {
        ...TWO_QUEUES.faults,
        dom0Writes: [{ dir: 'backend', key: 'multi-queue-max-queues', value: '1' }],
      },
    });
    // talk_to_blkback wrote one ring's flat keys and left the first session's queue count.
    const fe = frontendPath(world.guestDomid);
    expect(world.xs.read(BACKEND_DOMID, `${fe}/multi-queue-num-queues`)).toEqual({
      ok: true,
      value: '2',
    });
    expect(world.xs.read(BACKEND_DOMID, `${fe}/ring-ref`).ok).toBe(true);
    expect(world.front.device.rings).toHaveLength(1);
    // blkback took the two stale queue directories: the session never connects.
    expect(frontConnected(world)).toBe(false);
    expect(world.host.back.cachedState).not.toBe(XenbusState.Connected);
    const error = world.xs.read(BACKEND_DOMID, backendErrorPath(world.guestDomid));
    expect(error.ok ? error.value : 'no error node').toMatch(/mapping ring-ref \d+ of ring 0/);
    // xenbus_dev_fatal's Closing reaches blkfront, which closes: nothing is left half-connected.
    expect(world.front.cachedState).toBe(XenbusState.Closed);
  });
});

describe('a detach during the reset', () => {
  it('writes nothing once the toolstack removed the directory (check --runs 3000 --seed 9, seed 24)', () => {
    const config: WorldConfig = {
      ...CONFIG,
      workload: [],
      faults: { ...CONFIG.faults, unplug: true, detachEarly: true },
    };
    const world = initWorld(config, HONEST_DRIVERS, new Ledger());
    runUntil(world, frontConnected);
    runUntil(world, (w) => has(w, 'unbind'));
    step(world, { actor: 'guest', kind: 'unbind' });
    expect(world.host.back.cachedState).toBe(XenbusState.Connected);
    step(world, { actor: 'guest', kind: 'kexec' });
    step(world, { actor: 'toolstack', kind: 'unplug' });
    step(world, { actor: 'toolstack', kind: 'forceRemove' });
    // The toolstack's Closing is what the reset waits for: it wakes with its directory gone.
    expect(has(world, 'continueReset')).toBe(true);
    step(world, { actor: 'guest', kind: 'continueReset' });
    expect(world.front.resetAwaits).toBeUndefined();
    runUntil(world, () => false);
    // No write lands in the gone directory and no blkfront probes it; a wait the backend can no
    // longer answer stays (Linux's times out), which no check minds: the device is gone.
    expect(world.xs.read(BACKEND_DOMID, `${frontendPath(world.guestDomid)}/state`).ok).toBe(false);
    expect(world.front.probed).toBe(false);
    const found = teardownLiveness.start(world.config).check(world, new Ledger());
    expect(found).toEqual([]);
  });
});
