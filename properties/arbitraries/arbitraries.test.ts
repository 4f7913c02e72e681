import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type WorldConfig, validateConfig } from '../../impl/world/config.ts';
import { PROPERTIES } from '../properties.ts';
import { configArb, DEFAULT_SHAPE, scenarioArb } from './scenario.ts';
import { sometimes } from './swarm.ts';

const valid = (config: WorldConfig): boolean => validateConfig(config).ok;

describe('arbitraries', () => {
  it('every property generates configurations that pass validateConfig', () => {
    for (const def of PROPERTIES) {
      fc.assert(
        fc.property(def.scenario, (s) => valid(s.config)),
        { numRuns: 150 },
      );
    }
  });

  it('the validity property fails on a broken arbitrary (a workload item beyond the disk)', () => {
    const broken = configArb(DEFAULT_SHAPE).map((c) => ({
      ...c,
      workload: [
        ...c.workload,
        { vcpu: 0, op: 'read' as const, sector: c.diskSectors, sectorCount: 1, offsetSectors: 0 },
      ],
    }));
    expect(fc.check(fc.property(broken, valid), { numRuns: 50 }).failed).toBe(true);
  });

  it('reaches the ranges the issue names', () => {
    const seen = {
      feZero: false,
      feSixteen: false,
      beAbsent: false,
      beSixteen: false,
      order4: false,
      x86_32: false,
      migrations2: false,
      conflicts3: false,
      indirectSized: false,
      offset7: false,
      vcpus8: false,
      flush: false,
      discard: false,
    };
    for (const { config: c } of fc.sample(scenarioArb(), { numRuns: 3000, seed: 1 })) {
      seen.feZero ||= c.frontend.queueCountMax === 0;
      seen.feSixteen ||= c.frontend.queueCountMax === 16;
      seen.beAbsent ||= c.backend.queueCountMax === undefined;
      seen.beSixteen ||= c.backend.queueCountMax === 16;
      seen.order4 ||= c.frontend.ringPageOrderMax === 4 && c.backend.ringPageOrderMax === 4;
      seen.x86_32 ||= c.abi === 'x86_32-abi';
      seen.migrations2 ||= c.faults.migrations.length === 2;
      seen.conflicts3 ||= c.faults.transactionConflicts === 3;
      seen.indirectSized ||= c.workload.some((w) => w.sectorCount > 11 * 8);
      seen.offset7 ||= c.workload.some((w) => w.offsetSectors === 7);
      seen.vcpus8 ||= c.vcpuCount === 8;
      seen.flush ||= c.workload.some((w) => w.op === 'flush');
      seen.discard ||= c.workload.some((w) => w.op === 'discard');
    }
    expect(
      Object.entries(seen)
        .filter(([, v]) => !v)
        .map(([k]) => k),
    ).toEqual([]);
  });

  it('swarm switches shrink to off: a failure that does not need the feature drops it', () => {
    const out = fc.check(
      fc.property(sometimes(90), fc.nat(), (_on, n) => n < 5),
      { numRuns: 50 },
    );
    expect(out.counterexample).toEqual([false, 5]);
    expect(fc.sample(sometimes(0), 50).every((v) => !v)).toBe(true);
    expect(fc.sample(sometimes(100), 50).every((v) => v)).toBe(true);
  });
});
