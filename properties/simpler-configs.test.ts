// The shortener's simpler configurations (simpler-configs.ts): each candidate validates and is
// simpler by a measure that never rises (so a shortener keeping candidates ends), and together
// they reach the plainest configuration. And the shortener uses them: a persistent-grant limit
// of 64 that needed a long run of writes comes back as a limit of 0 and one write (explore's
// bound for blkback-persistent-past-limit), the fault threshold and the second vCPU gone; and a
// fault moved earlier brings a counterexample near explore's shortest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  NO_FAULTS,
  validateConfig,
  type WorldConfig,
} from '../impl/world/config.ts';
import { configArb, DEFAULT_SHAPE } from './arbitraries/scenario.ts';
import { configOf } from '../bench/explore.ts';
import { checkProperty, runScenario } from './catalog.ts';
import { MUTANT_BOUNDS } from './explore/mutant-bounds.ts';
import { explore } from './explore/search.ts';
import { MUTANTS } from './mutants/index.ts';
import { propertyOfMutant } from './properties.ts';
import { shortenSchedule } from './shorten.ts';
import { simplerConfigs } from './simpler-configs.ts';

/** What the candidates lower: any candidate has a smaller sum than the configuration it came from. */
function measure(c: WorldConfig): number {
  const f = c.faults;
  const flags = Object.values(f).filter((v) => v === true).length;
  const thresholds = [
    f.faultsAfterRequests,
    f.faultsWithInFlight,
    f.guestUnbindAfterWrites,
    f.eventChannelsMax,
  ].filter((v) => v !== undefined).length;
  return (
    100 * (f.migrations.length + thresholds + (f.dom0Writes?.length ?? 0)) +
    10 * (flags + (f.transactionConflicts > 0 ? 1 : 0) + (c.hostile?.attacks.length ?? 0)) +
    (c.vcpuCount > 1 ? 1 : 0) +
    (c.backend.persistent && c.backend.persistentGrantsMax > 0 ? 1 : 0) +
    (c.frontend.queueCountMax > 1 ? 1 : 0) +
    ((c.backend.queueCountMax ?? 0) > 1 ? 1 : 0) +
    (c.frontend.ringPageOrderMax > 0 ? 1 : 0) +
    (c.frontend.indirectSegmentsMax > 0 ? 1 : 0)
  );
}

describe('simpler configurations', () => {
  it('each candidate validates and is simpler; following them ends', () => {
    fc.assert(
      fc.property(configArb(DEFAULT_SHAPE), (config) => {
        let at = config;
        for (let rounds = 0; ; rounds++) {
          const candidates = simplerConfigs(at);
          for (const candidate of candidates) {
            expect(validateConfig(candidate).ok).toBe(true);
            expect(measure(candidate)).toBeLessThan(measure(at));
          }
          if (candidates.length === 0) break;
          expect(rounds).toBeLessThan(200);
          at = candidates[candidates.length - 1]!;
        }
        // The end of the road is a plain configuration: nothing of the fault plan left.
        expect(at.faults.migrations).toEqual([]);
        expect(at.vcpuCount).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  it('a migration target becomes the first host', () => {
    const target = { ...DEFAULT_BACKEND, barrier: true, flush: false };
    const config: WorldConfig = {
      vcpuCount: 1,
      abi: 'x86_64-abi',
      diskSectors: 256,
      frontend: DEFAULT_FRONTEND,
      backend: { ...DEFAULT_BACKEND, barrier: false },
      workload: [],
      faults: { ...NO_FAULTS, migrations: [target] },
    };
    const started = simplerConfigs(config).filter((c) => c.backend === target);
    expect(started).toHaveLength(1);
    expect(started[0]!.faults.migrations).toEqual([]);
  });
});

describe('an unbind sooner', () => {
  it('is offered before the unbind is taken away', () => {
    const config: WorldConfig = {
      vcpuCount: 1,
      abi: 'x86_64-abi',
      diskSectors: 256,
      frontend: DEFAULT_FRONTEND,
      backend: DEFAULT_BACKEND,
      workload: [],
      faults: { ...NO_FAULTS, guestUnbindAfterWrites: 2 },
    };
    // The plan's candidates come first: the threshold gone, then the unbind at once.
    const unbinds = simplerConfigs(config).map((c) => c.faults.guestUnbindAfterWrites);
    expect(unbinds.slice(0, 2)).toEqual([undefined, 0]);
    expect(unbinds.slice(2).every((after) => after === 2)).toBe(true);
  });
});

describe('the shortener with simpler configurations', () => {
  const name = 'blkback-persistent-past-limit';
  const mutant = MUTANTS.get(name)!;
  const def = propertyOfMutant(mutant)!;
  const writes = Array.from({ length: 24 }, (_, i) => ({
    vcpu: i % 2,
    op: 'write' as const,
    sector: 64 * i,
    sectorCount: 24,
    offsetSectors: 0,
  }));
  const config: WorldConfig = {
    vcpuCount: 2,
    abi: 'x86_64-abi',
    diskSectors: 4096,
    frontend: { ...DEFAULT_FRONTEND, queueCountMax: 1, persistent: true },
    backend: { ...DEFAULT_BACKEND, queueCountMax: undefined, persistentGrantsMax: 64 },
    workload: writes,
    faults: { ...NO_FAULTS, faultsAfterRequests: 20 },
  };

  it(`${name}: the limit lowered to 0, one write, the threshold and a vCPU gone`, () => {
    const scenario = { config, choices: [] };
    const first = runScenario(def, scenario, mutant.drivers, true);
    expect(first.violation?.code).toBe('persistent-cache');
    const actions = first.records.map((r) => r.action);
    const short = shortenSchedule(def, scenario, mutant.drivers, actions, 'persistent-cache');
    const c = short.scenario.config;
    expect(c.backend.persistentGrantsMax).toBe(0);
    expect(c.workload).toHaveLength(1);
    expect(c.vcpuCount).toBe(1);
    expect(c.faults.faultsAfterRequests).toBeUndefined();
    const again = runScenario(def, short.scenario, mutant.drivers, true);
    expect(again.violation?.code).toBe('persistent-cache');
    expect(again.records.length).toBeLessThan(first.records.length / 4);
  });
});

describe('the shortener moves a fault earlier', () => {
  const name = 'backend-ignores-reconnect';
  const mutant = MUTANTS.get(name)!;
  const def = propertyOfMutant(mutant)!;

  it(`${name}: check's counterexample within 1.25 times explore's proven shortest`, () => {
    const row = MUTANT_BOUNDS.get(name)!;
    const shortest = explore({
      config: configOf(row.bounds),
      drivers: mutant.drivers,
      bounds: { depthMax: row.depth, statesMax: 200_000, por: false },
    });
    expect(shortest.outcome).toBe('violation');
    const length = shortest.outcome === 'violation' ? shortest.path.length : 0;
    const failure = checkProperty(def, {
      numRuns: 400,
      seed: 1,
      drivers: mutant.drivers,
      shorten: true,
    }).failure!;
    // Without the move, the unbind stayed after blkfront's whole connection: twice as long.
    expect(failure.trace.steps.length).toBeLessThanOrEqual(1.25 * length);
  });
});
