// The smallest world the scenario tests start from: one vCPU, a 256-sector disk, the default
// drivers' parameters, no faults but the ones a test names.
import {
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  type FaultPlan,
  NO_FAULTS,
  type WorkloadItem,
  type WorldConfig,
} from '../../impl/world/config.ts';

/** One write of a page at sector 0 (the persistent-grant and second-session tests' workload). */
export const ONE_WRITE: readonly WorkloadItem[] = [
  { vcpu: 0, op: 'write', sector: 0, sectorCount: 8, offsetSectors: 0 },
];

export function oneDisk(
  faults: Partial<FaultPlan>,
  workload: readonly WorkloadItem[] = [],
): WorldConfig {
  return {
    vcpuCount: 1,
    abi: 'x86_64-abi',
    diskSectors: 256,
    frontend: DEFAULT_FRONTEND,
    backend: DEFAULT_BACKEND,
    workload,
    faults: { ...NO_FAULTS, ...faults },
  };
}
