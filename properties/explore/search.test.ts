// The explorer on small bounds: the honest drivers exhaust small spaces with no violation, the
// search is breadth-first (nothing shorter exists below a counterexample's depth), every bound
// ends the search the way it says, and the liveness pass catches a driver that never settles.
import { describe, expect, it } from 'vitest';
import type { WorldConfig } from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { fingerprint } from '../../impl/world/fork.ts';
import type { Invariant } from '../invariants/invariant.ts';
import { MUTANTS } from '../mutants/index.ts';
import { variantOf } from '../mutants/variant.ts';
import { type ConfigBounds, configsOf, SMALL_BOUNDS } from './bounds.ts';
import { ExploreCoverage } from './coverage.ts';
import { type ExploreBounds, explore } from './search.ts';
import { traceOfPath } from './trace.ts';

function configOf(bounds: Partial<ConfigBounds>): WorldConfig {
  const made = configsOf({ ...SMALL_BOUNDS, ...bounds });
  if (!made.ok) throw new Error(made.message);
  return made.configs[0]!;
}

const ONE_WRITE = configOf({ requests: 1, ops: ['write'] });
/** Connection only: the cheapest whole space, for the tests of the bounds themselves. */
const CONNECT = configOf({ requests: 0 });
const WIDE: ExploreBounds = { depthMax: 200, statesMax: 100_000, por: false };

describe('explore: the honest drivers', () => {
  it('one queue, one write: every reachable state, no violation, the space exhausted', () => {
    const coverage = new ExploreCoverage();
    const result = explore({
      config: ONE_WRITE,
      drivers: HONEST_DRIVERS,
      bounds: WIDE,
      onTransition: coverage.hook,
    });
    expect(result.outcome).toBe('pass');
    expect(result.stats.depthCut).toBe(0);
    expect(result.stats.frontier).toBe(0);
    // Connect, submit, queue, consume, complete, respond, with every interleaving of the two
    // sides' watches and events: far more than one schedule's few dozen states (876 since the
    // fingerprint leaves xenstore's generation counters out).
    expect(result.stats.states).toBeGreaterThan(500);
    expect(result.stats.transitions).toBeGreaterThan(result.stats.states);
    // Coverage within the bounds: every transition counted once, by kind; without faults in the
    // bounds no migration is reachable, and the report lists it as not reached.
    const total = [...coverage.actions.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(result.stats.transitions);
    expect(coverage.actions.get('blkback.completeIo')).toBeGreaterThan(0);
    expect(coverage.actions.get('toolstack.migrate')).toBe(0);
    const connect = 'frontend 3 (Initialised) -> 4 (Connected) by frontend';
    expect(coverage.xenbusEdges.get(connect)).toBeGreaterThan(0);
    const text = coverage.report(result.stats.states);
    expect(text).toMatch(/NOT REACHED {2}toolstack\.migrate/);
    expect(text).toMatch(/^xenbus state edges of the drivers .*: \d+\/\d+ reached$/m);
  });

  it('a family: two vCPUs against a backend without multi-queue and one with two queues', () => {
    const made = configsOf({
      ...SMALL_BOUNDS,
      queues: 2,
      backendQueues: [undefined, 2],
      requests: 0,
    });
    expect(made.ok).toBe(true);
    if (!made.ok) return;
    expect(made.configs.map((c) => c.backend.queueCountMax)).toEqual([undefined, 2]);
    for (const config of made.configs) {
      const result = explore({ config, drivers: HONEST_DRIVERS, bounds: WIDE });
      expect(result.outcome).toBe('pass');
      expect(result.stats.depthCut).toBe(0);
    }
  });
});

describe('explore: bounds', () => {
  it('impossible bounds are refused with the reason', () => {
    const made = configsOf({ ...SMALL_BOUNDS, queues: 1, sectors: 4096 * 9 });
    expect(made.ok).toBe(false);
    if (!made.ok) expect(made.message).toMatch(/^workload\[0\]\.sectorCount must be an integer/);
    expect(configsOf({ ...SMALL_BOUNDS, backendQueues: [] })).toEqual({
      ok: false,
      message: 'no backend to explore',
    });
  });

  it('the depth bound leaves the deepest layer unexpanded and says how many states it cut', () => {
    const result = explore({
      config: CONNECT,
      drivers: HONEST_DRIVERS,
      bounds: { ...WIDE, depthMax: 6 },
    });
    expect(result.outcome).toBe('pass');
    expect(result.stats.depth).toBe(6);
    expect(result.stats.depthCut).toBeGreaterThan(0);
  });

  it('the state limit and the time limit end the search as incomplete, with the frontier', () => {
    const states = explore({
      config: CONNECT,
      drivers: HONEST_DRIVERS,
      bounds: { ...WIDE, statesMax: 100 },
    });
    expect(states.outcome).toBe('incomplete');
    if (states.outcome === 'incomplete') expect(states.reason).toBe('states');
    expect(states.stats.frontier).toBeGreaterThan(0);
    // A clock that moves 1 ms per reading: the budget runs out after a few dozen expansions.
    let t = 0;
    const time = explore({
      config: CONNECT,
      drivers: HONEST_DRIVERS,
      bounds: { ...WIDE, timeMs: 40 },
      now: () => t++,
    });
    expect(time.outcome === 'incomplete' && time.reason).toBe('time');
    expect(time.stats.states).toBeLessThan(385);
  });

  it('a stop asked for at a progress report ends the search as incomplete', () => {
    let reports = 0;
    const result = explore({
      config: CONNECT,
      drivers: HONEST_DRIVERS,
      bounds: WIDE,
      progressEvery: 50,
      onProgress: () => {
        reports += 1;
      },
      stop: () => reports >= 2,
    });
    expect(result.outcome === 'incomplete' && result.reason).toBe('stopped');
    expect(result.stats.states).toBeGreaterThanOrEqual(100);
    expect(result.stats.states).toBeLessThan(385);
  });
});

describe('explore: breadth-first, so the counterexample is a shortest one', () => {
  const completeTwice = MUTANTS.get('complete-twice')!;

  it('complete-twice: found at some depth D, and a search bounded at D - 1 finds nothing', () => {
    const found = explore({ config: ONE_WRITE, drivers: completeTwice.drivers, bounds: WIDE });
    expect(found.outcome).toBe('violation');
    if (found.outcome !== 'violation') return;
    expect(found.violation.code).toBe('no-duplicate-completion');
    const depth = found.path.length;
    expect(found.violation.step).toBe(depth);
    const below = explore({
      config: ONE_WRITE,
      drivers: completeTwice.drivers,
      bounds: { ...WIDE, depthMax: depth - 1 },
    });
    expect(below.outcome).toBe('pass');
    expect(below.stats.depthCut).toBeGreaterThan(0);
    // The trace is the path itself (a step violation stops the run there).
    const { trace, violation } = traceOfPath({
      config: ONE_WRITE,
      drivers: completeTwice.drivers,
      path: found.path,
      drainStepsMax: 100,
    });
    expect(violation).toEqual(found.violation);
    expect(trace.steps.map((s) => s.action)).toEqual(found.path);
  });
});

describe('explore: liveness', () => {
  // A ring thread whose final check always claims more work: it never sleeps, so no fault-free
  // schedule ever reaches quiescence (the drain spins on it).
  const spins = variantOf('final-check-always-more', { blkback: { finalCheck: () => true } });

  it('a state from which no fault-free schedule reaches quiescence is a liveness violation', () => {
    const result = explore({ config: ONE_WRITE, drivers: spins, bounds: WIDE });
    expect(result.outcome).toBe('violation');
    if (result.outcome !== 'violation') return;
    expect(result.kind).toBe('liveness');
    expect(result.violation.code).toBe('no-lost-request');
    // Its trace is check's: the path, then the fair drain into its bound.
    const { trace, violation } = traceOfPath({
      config: ONE_WRITE,
      drivers: spins,
      path: result.path,
      drainStepsMax: 50,
    });
    expect(violation?.message).toMatch(/^the fair drain did not reach quiescence in 50 steps/);
    expect(trace.steps.length).toBe(result.path.length + 50);
    // With sleep sets the liveness pass completes slept moves from recorded edges: same verdict.
    const reduced = explore({
      config: ONE_WRITE,
      drivers: spins,
      bounds: { ...WIDE, por: true },
      checkDiamonds: true,
    });
    expect(reduced.outcome === 'violation' && reduced.kind).toBe('liveness');
  });
});

describe('explore: what a checker remembers along a path is part of the state', () => {
  // A step invariant with per-path memory: whether blkback's last watch firing came after the
  // first disk completion; it fails at the first completion at the guest edge if so. The firing
  // (a settled callback) and the completion commute: both orders reach one world, so a search
  // that merged runs by the world alone would keep only the order it met first.
  interface Memory {
    io: boolean;
    firedAfterIo: boolean;
    judged: boolean;
  }
  const order: Invariant = {
    code: 'canary',
    phase: 'step',
    summary: "test: blkback's watch fired after the first disk completion",
    // Plain fields on the checker itself, so a fork of the run copies them (run-state.ts).
    start: () => ({
      io: false,
      firedAfterIo: false,
      judged: false,
      check(this: Memory, _world, ledger, action) {
        if (action?.actor === 'blkback' && action.kind === 'completeIo') this.io = true;
        if (action?.actor === 'xenstored' && action.connection === 'backend')
          this.firedAfterIo = this.io;
        if (this.judged) return [];
        if (![...ledger.entries.values()].some((e) => e.completedAt !== undefined)) return [];
        this.judged = true;
        if (!this.firedAfterIo) return [];
        return [{ code: 'canary', step: 0, message: 'the watch fired after the disk completed' }];
      },
    }),
  };
  const bounds: ExploreBounds = { depthMax: 200, statesMax: 100_000, por: false };

  it('the memory splits states: the order is found; merged by the world alone, it is missed', () => {
    const split = explore({
      config: ONE_WRITE,
      drivers: HONEST_DRIVERS,
      bounds,
      stepInvariants: [order],
    });
    expect(split.outcome).toBe('violation');
    const merged = explore({
      config: ONE_WRITE,
      drivers: HONEST_DRIVERS,
      bounds,
      stepInvariants: [order],
      stateOf: (run) => fingerprint(run.world),
    });
    expect(merged.outcome).toBe('pass');
  });

  it('the honest drivers: the checkers remember nothing the world does not (same state count)', () => {
    const both = explore({ config: ONE_WRITE, drivers: HONEST_DRIVERS, bounds });
    const world = explore({
      config: ONE_WRITE,
      drivers: HONEST_DRIVERS,
      bounds,
      stateOf: (run) => fingerprint(run.world),
    });
    expect(both.outcome).toBe('pass');
    expect(both.stats.states).toBe(world.stats.states);
  });
});
