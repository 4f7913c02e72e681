// dom0 userspace's xenstore-write into a device directory (toolstack dom0Write): offered only
// when the fault plan lists writes, one per write, while the guest runs; the drivers see the value
// when they read the key, as the real ones do.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatErrorNode } from '../../model/xenstore-keys.ts';
import { validateFrontendKeys } from '../../model/negotiate.ts';
import { flatten } from './check.ts';
import { compareWithModel } from './conform.ts';
import { extractDevices } from './extract.ts';
import { replayLineage } from './model-replay.ts';
import { parseXsTrace } from './parse-xs-trace.ts';
import { dom0WritesOf, lineagesOf, planOf } from './replay-plan.ts';
import { recordedScenarios } from './scenario-files.ts';
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

const HOSTILE = [
  {
    scenario: 'hostile-limits',
    writes: [
      { dir: 'backend', key: BE.multiQueueMaxQueues, value: '4' },
      { dir: 'backend', key: BE.maxRingPageOrder, value: '4' },
    ],
    limits: { queueCountMax: 1, ringPageOrderMax: 1 },
    wrote: { order: '4', queues: '4' },
  },
  {
    scenario: 'hostile-ring-order',
    writes: [{ dir: 'backend', key: BE.maxRingPageOrder, value: '4' }],
    limits: { queueCountMax: 2, ringPageOrderMax: 1 },
    wrote: { order: '4', queues: '2' },
  },
] as const;

describe.each(HOSTILE)('hostile dom0 writes in a real recording ($scenario)', (hostile) => {
  const trace = recordedScenarios().find(
    (s) => s.name === `xen-4.17-linux-6.1/${hostile.scenario}`,
  )!;
  const text = readFileSync(trace.trace, 'utf8');
  const parsed = parseXsTrace(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const sessions = extractDevices(parsed.value);
  const session = sessions[0]!;
  const plan = planOf(lineagesOf(sessions)[0]!);

  it("are read from dom0 userspace's plain writes of driver keys, with where they came", () => {
    expect(dom0WritesOf(session).map((w) => [w.write, w.after])).toEqual(
      hostile.writes.map((w) => [w, { frontend: 0, backend: 4 }]),
    );
    expect(plan.config.backend.queueCountMax).toBe(hostile.limits.queueCountMax);
    expect(plan.config.backend.ringPageOrderMax).toBe(hostile.limits.ringPageOrderMax);
  });

  it('replayed, the model does what the real drivers did: blkfront trusts them, blkback refuses', () => {
    const replay = replayLineage(plan);
    expect(compareWithModel(session, replay.sessions[0], replay.failure).divergence).toBe(
      undefined,
    );
    const front = replay.sessions[0]!.frontend;
    expect(front.find((w) => w.key === FE.ringPageOrder)?.value).toBe(hostile.wrote.order);
    expect(front.find((w) => w.key === FE.multiQueueNumQueues)?.value).toBe(hostile.wrote.queues);
    expect(replay.sessions[0]!.backend.map((w) => w.key === BE.state && w.value)).toContain('5');
  });

  it("connect_ring's refusal in the model is the real error node, number and text", () => {
    const real = /WRITE \(error\/backend\/vbd\/1\/51712\/error (.*)\)$/m.exec(text)?.[1];
    expect(real).toBeDefined();
    const keys = new Map<string, string>();
    for (const op of flatten(session.frontend)) {
      if (op.kind === 'write' && op.dir === 'frontend') keys.set(op.key, op.value);
    }
    const limits = { ...hostile.limits, persistent: plan.config.backend.persistent };
    const checked = validateFrontendKeys((key) => keys.get(key), limits, frontendPath(1));
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(formatErrorNode(checked.errorNumber, checked.message)).toBe(real);
  });

  it("teeth: a replay that leaves the dom0 writes out diverges at blkfront's first key", () => {
    const { dom0WritesAfter: _after, ...rest } = plan;
    const { dom0Writes: _writes, ...faults } = plan.config.faults;
    const replay = replayLineage({ ...rest, config: { ...plan.config, faults } });
    const found = compareWithModel(session, replay.sessions[0], replay.failure).divergence!;
    expect(found.rule).toBe('model-writes');
    expect(found.connection).toBe("guest 1's kernel (blkfront)");
    expect(found.index).toBe(0);
    expect(found.expected).toBe('a write of ring-page-order = 1');
    expect(found.found).toBe('ring-page-order = 4');
  });
});

describe('dom0 writes are found only where dom0 made them', () => {
  it('no recording without hostile steps has any (libxl and the hotplug script are not mistaken for them)', () => {
    for (const other of recordedScenarios().filter((s) => !s.name.includes('hostile'))) {
      const text = parseXsTrace(readFileSync(other.trace, 'utf8'));
      if (!text.ok) throw new Error(text.error.message);
      for (const session of extractDevices(text.value)) {
        expect({ scenario: other.name, writes: dom0WritesOf(session) }).toEqual({
          scenario: other.name,
          writes: [],
        });
      }
    }
  });
});
