// The shortcuts the explorer's fork and state key take, each against the slow way they stand
// for: checker memory's collections hash by content whatever their insertion order, a fork
// shares the ring comparison's rows copy-on-write, and blkfront's shadow entries are hashed
// without the identity map only while nothing else holds one.
import { describe, expect, it } from 'vitest';
import type { WorldConfig } from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled } from '../../impl/world/enabled.ts';
import { fingerprint } from '../../impl/world/fork.ts';
import type { World } from '../../impl/world/world.ts';
import { STEP_INVARIANTS } from '../invariants/index.ts';
import type { InvariantChecker } from '../invariants/invariant.ts';
import { RingChanges, snapshot } from '../invariants/ring-changes.ts';
import { configsOf, SMALL_BOUNDS } from './bounds.ts';
import { forkRun, performStep, type RunState, runFingerprint, startRun } from './run-state.ts';

const CONFIG: WorldConfig = (() => {
  const made = configsOf(SMALL_BOUNDS);
  if (!made.ok) throw new Error(made.message);
  return made.configs[0]!;
})();

/** A run `steps` deep along the first enabled action (connects, submits, queues). */
function runTo(steps: number): RunState {
  const run = startRun(CONFIG, HONEST_DRIVERS, STEP_INVARIANTS);
  for (let i = 0; i < steps; i++) {
    const actions = enabled(run.world);
    expect(performStep(run, actions[0]!)).toBeUndefined();
  }
  return run;
}

/** A run over one world with a single checker holding `memory`. */
function withMemory(world: World, memory: object): RunState {
  const checker = { ...memory, check: () => [] } as InvariantChecker;
  return { world, checkers: [checker] };
}

describe('run state: checker memory', () => {
  const world = runTo(3).world;

  it('a Map or Set hashes by its members, not the order they were added in', () => {
    const key = (memory: object) => runFingerprint(withMemory(world, memory));
    const ascending = key({
      rings: new Map([
        [1, { ids: [4] }],
        [2, { ids: [] }],
      ]),
    });
    const descending = key({
      rings: new Map([
        [2, { ids: [] }],
        [1, { ids: [4] }],
      ]),
    });
    expect(descending).toBe(ascending);
    expect(
      key({
        rings: new Map([
          [1, { ids: [5] }],
          [2, { ids: [] }],
        ]),
      }),
    ).not.toBe(ascending);
    expect(key({ released: new Set([3, 1]) })).toBe(key({ released: new Set([1, 3]) }));
    expect(key({ released: new Set([1, 2]) })).not.toBe(key({ released: new Set([1, 3]) }));
    // A Set is not the Map of its members to anything else.
    expect(key({ released: new Set([1]) })).not.toBe(key({ released: new Map([[1, 1]]) }));
  });
});

describe('run state: the ring comparison forks copy-on-write', () => {
  /** The run's shared comparison's rows match its own world's numbers after its last step. */
  function rowsMatch(run: RunState): boolean {
    const changes = run.checkers
      .map((c) => (c as { changes?: unknown }).changes)
      .find((c) => c instanceof RingChanges);
    expect(changes).toBeDefined();
    const own: number[] = [];
    snapshot(run.world, own);
    const last = (changes as unknown as { last: Float64Array }).last;
    return [...last].join() === own.join();
  }

  it('a fork and its original step apart, each comparing with its own world', () => {
    // Deep enough that the rings are mapped and a request is on its way.
    let base = runTo(12);
    for (let depth = 0; depth < 12; depth++) {
      const actions = enabled(base.world);
      if (actions.length < 2) break;
      const fork = forkRun(base);
      expect(performStep(fork, actions[0]!)).toBeUndefined();
      expect(performStep(base, actions[actions.length - 1]!)).toBeUndefined();
      expect(rowsMatch(fork)).toBe(true);
      expect(rowsMatch(base)).toBe(true);
      base = fork;
    }
  });
});

describe('fingerprint: shadow entries owned by their array', () => {
  it('a fresh fingerprint refuses a world where something else holds a shadow entry', () => {
    const world = runTo(12).world;
    const rings = world.front.device.rings;
    expect(rings.length).toBeGreaterThan(0);
    expect(() => fingerprint(world, { fresh: true })).not.toThrow();
    const aliased = { ...world, stray: rings[0]!.shadow[0] } as World;
    expect(() => fingerprint(aliased, { fresh: true })).toThrow(/owned/);
  });
});
