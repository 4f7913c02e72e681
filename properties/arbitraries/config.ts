// Configurations: blkfront's module parameters, blkback's on each host, the guest's vCPUs and
// ABI. Full ranges first, then the run's swarm switches features off as a whole, so shrinking
// a switch to false removes a feature from the counterexample in one step.
import fc from 'fast-check';
import type { AbiName, BackendConfig, FrontendConfig } from '../../impl/world/config.ts';
import type { Swarm } from './swarm.ts';

/** Linux's max_persistent_grants default first (shrink target), then small caches. */
const PERSISTENT_GRANTS_MAX = [1056, 0, 8, 64] as const;

/** Any backend a host may run: multi-queue 1..16 or not advertised, ring order 0..4 or not, ... */
export function backendConfigArb(): fc.Arbitrary<BackendConfig> {
  return fc.record({
    queueCountMax: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined, freq: 4 }),
    ringPageOrderMax: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined, freq: 4 }),
    indirectSegmentsMax: fc.option(
      fc.oneof(fc.constantFrom(32, 256), fc.integer({ min: 0, max: 256 })),
      {
        nil: undefined,
        freq: 4,
      },
    ),
    persistent: fc.boolean(),
    persistentGrantsMax: fc.constantFrom(...PERSISTENT_GRANTS_MAX),
    flush: fc.boolean(),
    barrier: fc.boolean(),
    discard: fc.boolean(),
  });
}

export function frontendConfigArb(): fc.Arbitrary<FrontendConfig> {
  return fc.record({
    queueCountMax: fc.integer({ min: 0, max: 16 }),
    ringPageOrderMax: fc.integer({ min: 0, max: 4 }),
    indirectSegmentsMax: fc.oneof(fc.constantFrom(32, 256), fc.integer({ min: 0, max: 256 })),
    persistent: fc.boolean(),
  });
}

/** A backend with the run's switched-off features removed (what an old or minimal blkback does). */
export function swarmBackend(b: BackendConfig, swarm: Swarm): BackendConfig {
  return {
    queueCountMax: swarm.multiQueue ? b.queueCountMax : undefined,
    ringPageOrderMax: swarm.bigRings ? b.ringPageOrderMax : undefined,
    indirectSegmentsMax: swarm.indirect ? b.indirectSegmentsMax : undefined,
    persistent: swarm.persistent && b.persistent,
    persistentGrantsMax: b.persistentGrantsMax,
    flush: b.flush,
    barrier: b.barrier,
    discard: b.discard,
  };
}

export function swarmFrontend(f: FrontendConfig, swarm: Swarm): FrontendConfig {
  return {
    // Without multi-queue only the backend stops advertising: a frontend that wants several
    // queues against it is the single-queue fallback.
    queueCountMax: f.queueCountMax,
    ringPageOrderMax: swarm.bigRings ? f.ringPageOrderMax : 0,
    indirectSegmentsMax: swarm.indirect ? f.indirectSegmentsMax : 0,
    persistent: swarm.persistent && f.persistent,
  };
}

export function abiOf(swarm: Swarm): AbiName {
  return swarm.x86_32 ? 'x86_32-abi' : 'x86_64-abi';
}

/** 1..8 vCPUs, shrinking to one. */
export const vcpuCountArb: fc.Arbitrary<number> = fc.integer({ min: 1, max: 8 });

/** Small disks make requests overlap, which is what the data oracle needs to say anything. */
export const diskSectorsArb: fc.Arbitrary<number> = fc.constantFrom(256, 64, 1024, 4096);
