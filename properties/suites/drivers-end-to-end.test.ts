import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XenbusState } from '../../model/xenbus-state.ts';
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  NO_FAULTS,
  type WorkloadItem,
  type WorldConfig,
} from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { step } from '../../impl/world/step.ts';
import { BACKEND_DOMID, frontendPath } from '../../model/xenstore-paths.ts';
import { QUIESCENCE_INVARIANTS } from '../invariants/index.ts';
import { formatViolation } from '../invariants/violation.ts';
import { drainWorld, runSchedule } from '../run.ts';
import { ChoiceListChooser } from '../strategies/chooser.ts';

// Issue 4's end-to-end checks: real negotiation, a few hundred mixed requests through generated
// schedules, every request completed once with the right data, and nothing left after unplug.
function mixedWorkload(count: number, vcpus: number): WorkloadItem[] {
  const ops = ['write', 'write', 'read', 'read', 'flush', 'discard'] as const;
  const items: WorkloadItem[] = [];
  for (let i = 0; i < count; i++) {
    const op = ops[(i * 7) % ops.length]!;
    // Sizes from one sector to requests that need indirect descriptors (up to 64 pages).
    const sectorCount = op === 'flush' ? 0 : [1, 8, 13, 88, 256, 512][(i * 5) % 6]!;
    items.push({
      vcpu: i % vcpus,
      op,
      sector: ((i * 97) % 60) * 64,
      sectorCount,
      offsetSectors: op === 'flush' ? 0 : i % 8,
    });
  }
  return items;
}

function config(
  backend: Partial<typeof DEFAULT_BACKEND>,
  vcpuCount: number,
  workload: WorkloadItem[],
): WorldConfig {
  return {
    vcpuCount,
    abi: 'x86_64-abi',
    diskSectors: 8192,
    frontend: { ...DEFAULT_FRONTEND, queueCountMax: 4, ringPageOrderMax: 1 },
    backend: { ...DEFAULT_BACKEND, ...backend },
    workload,
    faults: { ...NO_FAULTS, unplug: true },
  };
}

function runAndUnplug(cfg: WorldConfig, choices: number[]) {
  const run = runSchedule({
    config: cfg,
    drivers: HONEST_DRIVERS,
    chooser: new ChoiceListChooser(choices),
    stepsMax: 20_000,
    drainStepsMax: 200_000,
  });
  expect(run.violation === undefined ? 'none' : formatViolation(run.violation)).toBe('none');
  const world = run.world;
  expect(run.ledger.pending()).toEqual([]);
  expect(run.ledger.submittedCount).toBeGreaterThanOrEqual(cfg.workload.length);
  for (const rinfo of world.front.device.rings) expect(rinfo.inflightCount).toBe(0);
  const rings = world.front.device.rings.length;
  const keys = world.xs.snapshot(frontendPath(world.guestDomid));
  // Unplug, then drain again: nothing may stay granted, mapped or bound.
  step(world, { actor: 'toolstack', kind: 'unplug' });
  const drained = drainWorld(world, 10_000, (a) => {
    step(world, a);
    return undefined;
  });
  expect(drained.violation).toBeUndefined();
  for (const inv of QUIESCENCE_INVARIANTS)
    expect(inv.start(world.config).check(world, run.ledger).map(formatViolation)).toEqual([]);
  expect(world.front.cachedState).toBe(XenbusState.Closed);
  expect(world.guestGnttab.grantedCount()).toBe(0);
  expect(world.guestGnttab.mappedCount(BACKEND_DOMID)).toBe(0);
  expect(world.evtchn.openCount(BACKEND_DOMID)).toBe(0);
  expect(world.evtchn.openCount(world.guestDomid)).toBe(0);
  expect(world.xs.snapshot(frontendPath(world.guestDomid)).size).toBe(0);
  return { rings, keys };
}

describe('drivers end to end', () => {
  it('frontend max 4 on 4 vCPUs, backend max 8: 4 rings, queue-N keys, every request once with its data', () => {
    const cfg = config({ queueCountMax: 8 }, 4, mixedWorkload(240, 4));
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 3000 }), (choices) => {
        const { rings, keys } = runAndUnplug(cfg, choices);
        expect(rings).toBe(4);
        expect(keys.get(`${frontendPath(1)}/multi-queue-num-queues`)).toBe('4');
        expect(keys.has(`${frontendPath(1)}/queue-3/ring-ref0`)).toBe(true);
        expect(keys.get(`${frontendPath(1)}/ring-page-order`)).toBe('1');
      }),
      { numRuns: 12, seed: 4242 },
    );
  });

  it('a 32-bit guest (x86_32-abi) writes its protocol and both drivers agree on the layout', () => {
    const cfg = {
      ...config({ queueCountMax: 2 }, 2, mixedWorkload(120, 2)),
      abi: 'x86_32-abi' as const,
    };
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 2000 }), (choices) => {
        const { rings, keys } = runAndUnplug(cfg, choices);
        expect(rings).toBe(2);
        expect(keys.get(`${frontendPath(1)}/protocol`)).toBe('x86_32-abi');
      }),
      { numRuns: 8, seed: 32 },
    );
  });

  it('backend without multi-queue: one ring with flat keys', () => {
    const cfg = config(
      { queueCountMax: undefined, persistent: false, indirectSegmentsMax: undefined },
      4,
      mixedWorkload(200, 4),
    );
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 3000 }), (choices) => {
        const { rings, keys } = runAndUnplug(cfg, choices);
        expect(rings).toBe(1);
        expect(keys.has(`${frontendPath(1)}/multi-queue-num-queues`)).toBe(false);
        expect(keys.has(`${frontendPath(1)}/queue-0`)).toBe(false);
        expect(keys.has(`${frontendPath(1)}/event-channel`)).toBe(true);
        expect(keys.has(`${frontendPath(1)}/ring-ref0`)).toBe(true);
      }),
      { numRuns: 12, seed: 77 },
    );
  });
});
