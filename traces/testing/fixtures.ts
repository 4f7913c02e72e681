// Test fixtures shared by traces/ and cli/ tests: a small property and two known-bad driver
// variants defined here, so the tests do not depend on the shared catalog's contents.
import fc from 'fast-check';
import { completeIo } from '../../impl/blkback/ring-worker.ts';
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  NO_FAULTS,
  type WorkloadItem,
  type WorldConfig,
} from '../../impl/world/config.ts';
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { PropertyDef } from '../../properties/catalog.ts';
import { driversByName } from '../../properties/mutants/index.ts';

const WORKLOAD: WorkloadItem[] = [
  { vcpu: 0, op: 'write', sector: 0, sectorCount: 8, offsetSectors: 0 },
  { vcpu: 1, op: 'write', sector: 64, sectorCount: 8, offsetSectors: 0 },
  { vcpu: 0, op: 'read', sector: 0, sectorCount: 8, offsetSectors: 0 },
  { vcpu: 1, op: 'read', sector: 64, sectorCount: 8, offsetSectors: 0 },
];

export const FIXTURE_CONFIG: WorldConfig = {
  vcpuCount: 2,
  abi: 'x86_64-abi',
  diskSectors: 1024,
  frontend: { ...DEFAULT_FRONTEND, queueCountMax: 2 },
  backend: { ...DEFAULT_BACKEND },
  workload: WORKLOAD,
  faults: NO_FAULTS,
};

/** blkback writes the disk with the first byte of every write flipped: data-integrity (safety). */
export const CORRUPTING_DRIVERS: Drivers = {
  name: 'test-corrupt-writes',
  blkfront: HONEST_DRIVERS.blkfront,
  blkback: {
    ...HONEST_DRIVERS.blkback,
    completeIo: (ring, slot, env) => {
      const pending = ring.inflight.get(slot);
      const page = pending?.kind === 'write' ? pending.segments[0]?.page : undefined;
      const at = (pending?.segments[0]?.firstSect ?? 0) * 512;
      if (page !== undefined) page[at] = (page[at] ?? 0) ^ 0xff;
      return completeIo(ring, slot, env);
    },
  },
};

/** blkfront ignores every interrupt: requests are never completed (liveness). */
export const DEAF_DRIVERS: Drivers = {
  name: 'test-deaf-frontend',
  blkfront: { ...HONEST_DRIVERS.blkfront, processResponses: () => 'ignored' },
  blkback: HONEST_DRIVERS.blkback,
};

export const FIXTURE_PROPERTY: PropertyDef = {
  name: 'fixture-io',
  summary: 'two vCPUs write then read back two extents',
  codes: ['data-integrity', 'no-lost-request'],
  scenario: fc.record({
    config: fc.constant(FIXTURE_CONFIG),
    choices: fc.array(fc.nat(30), { maxLength: 120 }),
  }),
  defaultRuns: 20,
  stepsMax: 400,
  drainStepsMax: 4000,
};

const FIXTURE_DRIVERS = new Map([CORRUPTING_DRIVERS, DEAF_DRIVERS].map((d) => [d.name, d]));

/** The registry lookup plus the fixtures' variants. */
export function fixtureDrivers(name: string): Drivers | undefined {
  return FIXTURE_DRIVERS.get(name) ?? driversByName(name);
}
