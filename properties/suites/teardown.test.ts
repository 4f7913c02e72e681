// Issue 5, teardown half: hot-unplug (xl block-detach) and the guest's own close while requests
// are in flight on every ring and the backend is executing some of them. Generated prefixes fill
// the rings, the fault comes, a generated tail and the fair drain finish the run with every
// invariant on. Then: every request completed exactly once (ok, or an error for what the backend
// never took), the backend kept busy rings until their I/O drained, nothing granted, mapped or
// bound is left, and both directories are gone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XenbusState } from '../../model/xenbus-state.ts';
import { completeIo } from '../../impl/blkback/ring-worker.ts';
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  NO_FAULTS,
  type WorkloadItem,
  type WorldConfig,
} from '../../impl/world/config.ts';
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../model/xenstore-paths.ts';
import type { World } from '../../impl/world/world.ts';
import { formatViolation } from '../invariants/violation.ts';
import { Ledger } from '../ledger.ts';
import { type RunResult, runSchedule } from '../run.ts';
import { ChoiceListChooser } from '../strategies/chooser.ts';

const SEED = 5006;

type Fault = 'unplug' | 'close';

function workload(perVcpu: number, vcpus: number): WorkloadItem[] {
  const ops = ['write', 'read', 'write', 'flush', 'read', 'discard'] as const;
  const items: WorkloadItem[] = [];
  for (let i = 0; i < perVcpu * vcpus; i++) {
    const op = ops[i % ops.length]!;
    const sectorCount = op === 'flush' ? 0 : [8, 1, 40, 13][(i >> 1) % 4]!;
    items.push({
      vcpu: i % vcpus,
      op,
      sector: ((i * 29) % 40) * 64,
      sectorCount,
      offsetSectors: op === 'flush' ? 0 : i % 8,
    });
  }
  return items;
}

function configOf(fault: Fault, persistent: boolean): WorldConfig {
  return {
    vcpuCount: 4,
    abi: 'x86_64-abi',
    diskSectors: 4096,
    frontend: { ...DEFAULT_FRONTEND, queueCountMax: 4, ringPageOrderMax: 0, persistent },
    backend: { ...DEFAULT_BACKEND, queueCountMax: 4, persistent },
    workload: workload(8, 4),
    faults: { ...NO_FAULTS, unplug: fault === 'unplug', frontendClose: fault === 'close' },
  };
}

/** Every ring holds two requests and the backend executes at least one on each of its rings. */
function ringsBusy(world: World): boolean {
  const dev = world.front.device;
  if (dev.connection !== 'connected' || dev.rings.length === 0) return false;
  return (
    dev.rings.every((r) => r.inflightCount >= 2) &&
    world.host.back.rings.every((r) => r.inflight.size > 0)
  );
}

/** Generated picks among non-fault actions other than I/O completions until every ring is busy, then the fault. */
function fillThenFault(
  config: WorldConfig,
  drivers: Drivers,
  picks: readonly number[],
  fault: Fault,
): number[] | undefined {
  const world = initWorld(config, drivers, new Ledger());
  const choices: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const actions = enabled(world);
    if (ringsBusy(world)) {
      const at = actions.findIndex((a) => a.kind === fault);
      if (at >= 0) return [...choices, at];
    }
    const allowed: number[] = [];
    actions.forEach((a, k) => {
      if (!isFaultStart(a) && a.kind !== 'completeIo') allowed.push(k);
    });
    if (allowed.length === 0) return undefined;
    const pick = allowed[(picks[i % picks.length] ?? 0) % allowed.length]!;
    choices.push(pick);
    step(world, actions[pick]!);
  }
  return undefined;
}

interface Observed {
  readonly run: RunResult;
  /** The backend still mapped guest grants when it wrote Closed (it kept busy rings). */
  readonly mappedAtBackendClosed: number;
  /** Guest grants the backend mapped just before the directories were removed. */
  readonly mappedBeforeRemove: number;
}

function runTeardown(
  fault: Fault,
  persistent: boolean,
  drivers: Drivers,
  picks: readonly number[],
  tail: readonly number[],
) {
  const config = configOf(fault, persistent);
  const prefix = fillThenFault(config, drivers, picks, fault);
  if (prefix === undefined) return undefined;
  const run = runSchedule({
    config,
    drivers,
    chooser: new ChoiceListChooser([...prefix, ...tail]),
    stepsMax: 5_000,
    drainStepsMax: 50_000,
    record: true,
  });
  let mappedAtBackendClosed = -1;
  let mappedBeforeRemove = -1;
  run.records.forEach((record, i) => {
    const closed = record.observations.some(
      (o) => o.kind === 'state' && o.side === 'backend' && o.state === XenbusState.Closed,
    );
    if (closed && mappedAtBackendClosed < 0) mappedAtBackendClosed = record.state.mapped;
    if (record.action.kind === 'removeDevice' && i > 0)
      mappedBeforeRemove = run.records[i - 1]!.state.mapped;
  });
  return { run, mappedAtBackendClosed, mappedBeforeRemove } satisfies Observed;
}

function expectClean(o: Observed): void {
  const { run } = o;
  const world = run.world;
  expect(run.violation === undefined ? 'none' : formatViolation(run.violation)).toBe('none');
  expect(run.ledger.pending()).toEqual([]);
  for (const entry of run.ledger.entries.values()) expect(['ok', 'error']).toContain(entry.outcome);
  expect(world.lifecycle.kind).toBe('removed');
  expect(world.front.snapshot.context.bound).toBe(false);
  expect(world.host.back.removed).toBe(true);
  // del_gendisk's wait: the backend had drained before the directories went.
  expect(o.mappedBeforeRemove).toBe(0);
  expect(world.front.device.rings.length).toBe(0);
  expect(world.host.back.rings.length).toBe(0);
  expect(world.guestGnttab.grantedCount()).toBe(0);
  expect(world.guestGnttab.mappedCount(BACKEND_DOMID)).toBe(0);
  expect(world.evtchn.openCount(BACKEND_DOMID)).toBe(0);
  expect(world.evtchn.openCount(world.guestDomid)).toBe(0);
  expect(world.xs.snapshot(frontendPath(world.guestDomid)).size).toBe(0);
  expect(world.xs.snapshot(backendPath(world.guestDomid)).size).toBe(0);
}

const scheduleArb = fc.record({
  picks: fc.array(fc.nat(60), { minLength: 1, maxLength: 40 }),
  tail: fc.array(fc.nat(40), { maxLength: 300 }),
  persistent: fc.boolean(),
});

function property(fault: Fault, drivers: Drivers, tally: Observed[]) {
  return fc.property(scheduleArb, ({ picks, tail, persistent }) => {
    const o = runTeardown(fault, persistent, drivers, picks, tail);
    if (o === undefined) return;
    tally.push(o);
    expectClean(o);
  });
}

/**
 * Broken: a disconnect that abandons the I/O of a ring it stopped — the slot is freed, but the
 * data grants stay mapped and no response is pushed (4.6's early return from a busy ring leaked
 * in the same way). The missing response is seen first, at the completion that drops it
 * (answered: req_cons - rsp_prod_pvt no longer matches what the ring holds); the mapped grants
 * would be grant-leak's finding later.
 */
const ABANDONS_BUSY_RINGS: Drivers = {
  ...HONEST_DRIVERS,
  name: 'disconnect-abandons-busy-rings',
  blkback: {
    ...HONEST_DRIVERS.blkback,
    completeIo: (ring, slot, env) => {
      const pending = ring.inflight.get(slot);
      if (!ring.halted || pending === undefined) return completeIo(ring, slot, env);
      ring.inflight.delete(slot);
      ring.pendingFree.push(slot);
      return { id: pending.id, status: 0, notify: false };
    },
  },
};

describe(`teardown with requests in flight (seed ${SEED})`, () => {
  for (const fault of ['unplug', 'close'] as const) {
    it(`${fault}: every request completes once, busy rings drain first, nothing left behind`, () => {
      const tally: Observed[] = [];
      fc.assert(property(fault, HONEST_DRIVERS, tally), { numRuns: 30, seed: SEED });
      expect(tally.length).toBeGreaterThanOrEqual(25);
      // Not vacuous: the backend often reached Closed with busy rings still mapped, and some
      // requests in flight at the fault completed successfully afterwards.
      expect(tally.filter((o) => o.mappedAtBackendClosed > 0).length).toBeGreaterThanOrEqual(5);
      expect(
        tally.every((o) => [...o.run.ledger.entries.values()].some((e) => e.outcome === 'ok')),
      ).toBe(true);
    });

    it(`${fault}: a disconnect that abandons busy rings is caught`, () => {
      const found = fc.check(property(fault, ABANDONS_BUSY_RINGS, []), { numRuns: 30, seed: SEED });
      expect(found.failed).toBe(true);
      expect(String(found.errorInstance)).toContain('answered at step');
    });
  }
});
