// The blkif's vbd is one object for every ring the backend maps for the device (ring->blkif->vbd
// in Linux), and a fork keeps it one: overflow_max_grants set through any ring is what every
// ring's purge reads (impl/blkback/persistent-cache.test.ts shows the purge side).
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKEND, DEFAULT_FRONTEND, NO_FAULTS, type WorldConfig } from './config.ts';
import { HONEST_DRIVERS } from './drivers.ts';
import { enabled, isFaultStart } from './enabled.ts';
import { forkWorld } from './fork.ts';
import { initWorld } from './init.ts';
import { step } from './step.ts';
import type { GuestObserver } from './block-layer.ts';

const CONFIG: WorldConfig = {
  vcpuCount: 3,
  abi: 'x86_64-abi',
  diskSectors: 1024,
  frontend: { ...DEFAULT_FRONTEND, queueCountMax: 3, persistent: true },
  backend: { ...DEFAULT_BACKEND, queueCountMax: 3, persistent: true },
  workload: [],
  faults: NO_FAULTS,
};

const QUIET: GuestObserver = { submitted: () => {}, completed: () => {} };

describe("the backend's vbd", () => {
  it('every mapped ring shares the device vbd, in the world and in its fork', () => {
    const world = initWorld(CONFIG, HONEST_DRIVERS, QUIET);
    for (let n = 0; n < 500; n++) {
      const next = enabled(world).find((a) => !isFaultStart(a));
      if (next === undefined) break;
      step(world, next);
    }
    const rings = world.host.back.rings;
    expect(rings.length).toBe(3);
    for (const ring of rings) expect(ring.vbd).toBe(world.host.back.vbd);
    const fork = forkWorld(world);
    expect(fork.host.back.vbd).not.toBe(world.host.back.vbd);
    for (const ring of fork.host.back.rings) expect(ring.vbd).toBe(fork.host.back.vbd);
  });
});
