// dom0 userspace's xenstore-write into a device directory (toolstack dom0Write): offered only
// when the fault plan lists writes, one per write, while the guest runs; the drivers see the value
// when they read the key, as the real ones do.
import { describe, expect, it } from 'vitest';
import { BE, FE } from '../../model/xenstore-keys.ts';
import {
  BACKEND_DOMID,
  backendErrorPath,
  backendPath,
  frontendPath,
} from '../../model/xenstore-paths.ts';
import { Ledger } from '../../properties/ledger.ts';
import { drainWorld } from '../../properties/run.ts';
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  type Dom0Write,
  NO_FAULTS,
  validateConfig,
  type WorldConfig,
} from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import type { World } from '../../impl/world/world.ts';

const RAISE_LIMITS: readonly Dom0Write[] = [
  { dir: 'backend', key: BE.multiQueueMaxQueues, value: '4' },
  { dir: 'backend', key: BE.maxRingPageOrder, value: '4' },
];

function config(dom0Writes: readonly Dom0Write[] | undefined): WorldConfig {
  return {
    vcpuCount: 4,
    abi: 'x86_64-abi',
    diskSectors: 8192,
    frontend: { ...DEFAULT_FRONTEND, queueCountMax: 4, ringPageOrderMax: 4 },
    backend: { ...DEFAULT_BACKEND, queueCountMax: 1, ringPageOrderMax: 1 },
    workload: [],
    faults: { ...NO_FAULTS, ...(dom0Writes === undefined ? {} : { dom0Writes }) },
  };
}

function dom0Writes(world: World) {
  return enabled(world).filter((a) => a.actor === 'toolstack' && a.kind === 'dom0Write');
}

function read(world: World, dir: 'frontend' | 'backend', key: string): string | undefined {
  const base = dir === 'frontend' ? frontendPath(world.guestDomid) : backendPath(world.guestDomid);
  const got = world.xs.read(BACKEND_DOMID, `${base}/${key}`);
  return got.ok ? got.value : undefined;
}

/** Drains until blkback advertised its limits and waits in InitWait (the frontend not yet read them). */
function untilInitWait(world: World): void {
  drainWorld(world, 10_000, (action) => {
    step(world, action);
    return world.host.back.cachedState === 2
      ? { code: 'no-lost-request', step: -1, message: 'stop' }
      : undefined;
  });
  expect(world.host.back.cachedState).toBe(2);
}

describe('toolstack dom0Write', () => {
  it('is never offered without a plan, and the fair drain never takes it', () => {
    const world = initWorld(config(undefined), HONEST_DRIVERS, new Ledger());
    expect(dom0Writes(world)).toEqual([]);
    expect(isFaultStart({ actor: 'toolstack', kind: 'dom0Write' })).toBe(true);
  });

  it('performs the plan in order, once each, and the frontend trusts what it then reads', () => {
    const world = initWorld(config(RAISE_LIMITS), HONEST_DRIVERS, new Ledger());
    untilInitWait(world);
    expect(read(world, 'backend', BE.maxRingPageOrder)).toBe('1');
    for (const expected of ['4', '4']) {
      const [action] = dom0Writes(world);
      expect(action).toBeDefined();
      step(world, action!);
      expect(read(world, 'backend', RAISE_LIMITS[world.dom0WritesDone - 1]!.key)).toBe(expected);
    }
    expect(dom0Writes(world)).toEqual([]);
    drainWorld(world, 10_000, (action) => {
      step(world, action);
      return undefined;
    });
    // talk_to_blkback and negotiate_mq take min(own limit, what they read): 4 and 4.
    expect(read(world, 'frontend', FE.ringPageOrder)).toBe('4');
    expect(read(world, 'frontend', FE.multiQueueNumQueues)).toBe('4');
    // connect_ring checks its own max_queues (1): "guest requested 4 queues", xenbus_dev_fatal
    // (Closing), then both sides close.
    const error = world.xs.read(BACKEND_DOMID, backendErrorPath(world.guestDomid));
    expect(error.ok && error.value).toMatch(/guest requested 4 queues, exceeding the maximum of 1/);
    expect(world.host.back.cachedState).toBe(6);
    expect(world.front.cachedState).toBe(6);
  });

  it('without the writes the same frontend negotiates down to the real limits', () => {
    const world = initWorld(config([]), HONEST_DRIVERS, new Ledger());
    drainWorld(world, 10_000, (action) => {
      step(world, action);
      return undefined;
    });
    expect(read(world, 'frontend', FE.ringPageOrder)).toBe('1');
    expect(read(world, 'frontend', FE.multiQueueNumQueues)).toBeUndefined();
    expect(world.host.back.cachedState).toBe(4);
  });

  it.each([
    [{ dir: 'backend', key: '/local/domain/0/x', value: '1' }, 'faults.dom0Writes[0].key'],
    [{ dir: 'backend', key: 'a/../b', value: '1' }, 'faults.dom0Writes[0].key'],
    [{ dir: 'console', key: 'x', value: '1' }, 'faults.dom0Writes[0].dir'],
  ])('validateConfig refuses %j', (write, path) => {
    const result = validateConfig(config([write as Dom0Write]));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.map((i) => i.path)).toEqual([path]);
  });
});
