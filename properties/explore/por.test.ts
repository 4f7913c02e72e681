// The independence relation's claim, checked: from states that runs of several configurations
// reach, every two enabled actions the relation calls independent commute — either order keeps
// the other enabled and ends in the same fingerprint with the same actions enabled. The relation
// is judged at each state (a watch firing's footprint depends on what its callback will do).
// Teeth: a relation that forgets blkfront's rings share the guest's grant free list is caught,
// and so is one that calls every watch firing harmless. And sleep sets built on it lose no state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Action } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled } from '../../impl/world/enabled.ts';
import type { World } from '../../impl/world/world.ts';
import { STEP_INVARIANTS } from '../invariants/index.ts';
import { SeededChooser } from '../strategies/chooser.ts';
import { type ConfigBounds, configsOf, SMALL_BOUNDS } from './bounds.ts';
import { actionId, footprintOf, Independence } from './por.ts';
import { forkRun, performStep, type RunState, runFingerprint, startRun } from './run-state.ts';
import { explore } from './search.ts';

function configOf(bounds: Partial<ConfigBounds>): WorldConfig {
  const made = configsOf({ ...SMALL_BOUNDS, ...bounds });
  if (!made.ok) throw new Error(made.message);
  return made.configs[0]!;
}

const CONFIGS: readonly WorldConfig[] = [
  configOf({ requests: 3 }),
  configOf({ queues: 2, backendQueues: [2], requests: 4 }),
  configOf({ queues: 2, backendQueues: [2], requests: 3, persistent: true, sectors: 16 }),
  configOf({ requests: 2, indirectSegments: 32, sectors: 128 }),
  configOf({ requests: 2, ops: ['write', 'flush'], cache: 'none' }),
  // Faults: a watch firing during a teardown or a reconnection moves a machine.
  configOf({ queues: 2, backendQueues: [2], requests: 2, migrations: 1 }),
  configOf({ requests: 2, unplug: true, close: true, restart: true }),
];

const enabledIds = (world: World): string[] => enabled(world).map(actionId);

/** `first` then `second` on a fork of the run; undefined when `second` is no longer enabled. */
function both(run: RunState, first: Action, second: Action): RunState | undefined {
  const fork = forkRun(run);
  performStep(fork, first);
  if (!enabledIds(fork.world).includes(actionId(second))) return undefined;
  performStep(fork, second);
  return fork;
}

/**
 * Pairs the relation calls independent that do not commute here; and how many were tried. The
 * state compared is the search's: the world and what the step checkers remember.
 */
function commuteFailures(run: RunState, independence: Independence) {
  const actions = enabled(run.world);
  const prints = independence.at(run.world, actions);
  const failures: string[] = [];
  let tried = 0;
  for (let i = 0; i < actions.length; i++) {
    for (let j = i + 1; j < actions.length; j++) {
      const a = actions[i]!;
      const b = actions[j]!;
      if (!Independence.independent(prints, actionId(a), actionId(b))) continue;
      tried += 1;
      const ab = both(run, a, b);
      const ba = both(run, b, a);
      const same =
        ab !== undefined &&
        ba !== undefined &&
        runFingerprint(ab) === runFingerprint(ba) &&
        enabledIds(ab.world).join('|') === enabledIds(ba.world).join('|');
      if (!same) failures.push(`${actionId(a)} / ${actionId(b)}`);
    }
  }
  return { failures, tried };
}

/** Walks a seeded schedule and checks every third state on the way. */
function walkAndCheck(config: WorldConfig, seed: number, independence: Independence) {
  const run = startRun(config, HONEST_DRIVERS, STEP_INVARIANTS);
  const chooser = new SeededChooser(seed, 1_000_000);
  const failures: string[] = [];
  let tried = 0;
  for (let n = 0; n < 150; n++) {
    const actions = enabled(run.world);
    if (actions.length === 0) break;
    if (n % 3 === 0) {
      const found = commuteFailures(run, independence);
      failures.push(...found.failures);
      tried += found.tried;
    }
    const choice = chooser.choose(actions.length);
    performStep(run, actions[choice === 'drain' ? 0 : choice]!);
  }
  return { failures, tried };
}

const casesArb = fc.record({
  config: fc.constantFrom(...CONFIGS),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

/** Does the commutation property fail for `relation` (a wrong claim is caught)? */
function caught(relation: Independence): boolean {
  const result = fc.check(
    fc.property(casesArb, ({ config, seed }) => {
      expect(walkAndCheck(config, seed, relation).failures).toEqual([]);
    }),
    { numRuns: 60, seed: 11 },
  );
  return result.failed;
}

describe('partial-order reduction', () => {
  it('actions the relation calls independent commute from every state runs reach', () => {
    const independence = new Independence();
    let tried = 0;
    fc.assert(
      fc.property(casesArb, ({ config, seed }) => {
        const found = walkAndCheck(config, seed, independence);
        tried += found.tried;
        expect(found.failures).toEqual([]);
      }),
      { numRuns: 30 },
    );
    // The relation is not empty where it matters: many independent pairs were tried.
    expect(tried).toBeGreaterThan(100);
  });

  it('teeth: a relation that forgets the rings share the guest grant table is caught', () => {
    // Without `gfree`, queueRequest on two rings would be independent; both take grant
    // references from one free list (gnttab_claim_grant_reference), so their order shows.
    const forgetful = new Independence((world, a) =>
      a.actor === 'blkfront' && a.kind === 'queueRequest'
        ? footprintOf(world, a).filter((part) => part !== 'gfree')
        : footprintOf(world, a),
    );
    expect(caught(forgetful)).toBe(true);
  });

  it('teeth: a relation that calls every watch firing harmless is caught', () => {
    // A firing whose callback connects or tears down (blkback's connect_ring, blkfront_connect)
    // writes xenstore and maps rings: it does not commute with the other side's firing.
    const careless = new Independence((world, a) =>
      a.actor === 'xenstored' && a.kind === 'fireWatch'
        ? [`watch:${a.connection}`]
        : footprintOf(world, a),
    );
    expect(caught(careless)).toBe(true);
  });

  it('sleep sets lose no state: POR on and off reach the same states, the same verdicts', () => {
    const config = configOf({ requests: 1, ops: ['write'] });
    const bounds = { depthMax: 200, statesMax: 100_000 };
    const off = explore({ config, drivers: HONEST_DRIVERS, bounds: { ...bounds, por: false } });
    // checkDiamonds: each sleeping action's target the liveness pass takes from the recorded
    // edges (the sleep-set diamond) is also run from the rebuilt state and compared.
    const on = explore({
      config,
      drivers: HONEST_DRIVERS,
      bounds: { ...bounds, por: true },
      checkDiamonds: true,
    });
    expect(off.outcome).toBe('pass');
    expect(on.outcome).toBe('pass');
    expect(on.stats.states).toBe(off.stats.states);
    expect(on.stats.slept).toBeGreaterThan(0);
    expect(on.stats.resolved).toBeGreaterThan(0);
    expect(on.stats.transitions + on.stats.slept).toBeGreaterThanOrEqual(off.stats.transitions);
    // A real reduction: most transitions of this space are slept.
    expect(on.stats.transitions * 1.5).toBeLessThan(off.stats.transitions);
  });
});
