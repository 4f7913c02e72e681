// Everything a run depends on, complete after one validation (no defaults deep in impl/). A trace
// stores this object; replay rebuilds the world from it.
import type { Result } from '../xen/result.ts';
import { type HostilePlan, validateHostilePlan } from './hostile/plan.ts';

/** One host's blkback as the toolstack and module parameters set it up. */
export interface BackendConfig {
  /** multi-queue-max-queues; undefined: the backend does not advertise multi-queue. */
  readonly queueCountMax: number | undefined;
  /** max-ring-page-order; undefined: not advertised (single-page rings). */
  readonly ringPageOrderMax: number | undefined;
  /** feature-max-indirect-segments; undefined: not advertised. */
  readonly indirectSegmentsMax: number | undefined;
  /** The feature_persistent module parameter. */
  readonly persistent: boolean;
  readonly persistentGrantsMax: number;
  readonly flush: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

/** blkfront's module parameters. */
export interface FrontendConfig {
  /** max_queues before the clamp to online vCPUs. */
  readonly queueCountMax: number;
  readonly ringPageOrderMax: number;
  readonly indirectSegmentsMax: number;
  readonly persistent: boolean;
}

export type WorkloadOp = 'read' | 'write' | 'flush' | 'discard';

export interface WorkloadItem {
  readonly vcpu: number;
  readonly op: WorkloadOp;
  readonly sector: number;
  readonly sectorCount: number;
  /** Sectors of offset into the first data page (0..7): exercises first_sect. */
  readonly offsetSectors: number;
}

/**
 * One write dom0 userspace makes into a device directory (a `xenstore-write` from a dom0 shell:
 * a mistaken or hostile administrator), with dom0's full permissions.
 */
export interface Dom0Write {
  readonly dir: 'frontend' | 'backend';
  /** Relative to the device directory, e.g. max-ring-page-order. */
  readonly key: string;
  readonly value: string;
}

/** Which faults the scheduler may choose, and with what; when is always the scheduler's choice. */
export interface FaultPlan {
  /** Successive migrations, each to a host with this backend. */
  readonly migrations: readonly BackendConfig[];
  readonly unplug: boolean;
  readonly frontendClose: boolean;
  /** Spurious xenstore transaction conflicts the scheduler may inject. */
  readonly transactionConflicts: number;
  /**
   * The backend's blkback restarts (its domain or driver comes back as a new instance with a
   * fresh directory) while the frontend is connected. Linux blkfront never reconnects on its
   * own, so requests in flight are lost: the model reports it; default properties leave it off.
   */
  readonly backendRestart?: boolean;
  /**
   * The same restart, but only while blkback owes nothing: every request it consumed answered and
   * pushed (a driver domain rebooted between requests). The successor's BACK_RING_ATTACH at
   * rsp_prod then consumes exactly what was never taken, so an honest run survives it. Not
   * offered with a failing probe or hotplug in the plan (the successor would not come up).
   */
  readonly backendRestartIdle?: boolean;
  /**
   * xl destroy of the running guest, once (the conformance replay's toolstack: a recorded run
   * ends in it); the default properties leave it off.
   */
  readonly destroy?: boolean;
  /**
   * The hotplug script may hand blkback a device it cannot open (backend_changed's xen_vbd_create
   * fails, xenbus_dev_fatal): the backend closes before it ever connects.
   */
  readonly hotplugFailure?: boolean;
  /**
   * blkback's probe on the first host may fail (xen_blkbk_probe: xen_blkif_alloc runs out of
   * memory, xenbus_dev_fatal): Closing over Initialising, the device left without a driver.
   */
  readonly backendProbeFailure?: boolean;
  /**
   * The guest may unbind blkfront from the device (sysfs unbind, rmmod xen-blkfront) once blkfront
   * has written its state this many times (the administrator's moment: before it talked, after
   * Initialised or a failure, after Connected): xenbus_dev_remove runs blkfront_remove and writes
   * Closed for it.
   */
  readonly guestUnbindAfterWrites?: number;
  /**
   * Once blkfront is unbound (guestUnbindAfterWrites), the guest may kexec into a new kernel,
   * once: an HVM kernel's xenbus_reset_state drives the backend through Closing and Closed back
   * to InitWait (xenbus_reset_frontend), then a new blkfront starts a second session in the same
   * directory, over the first session's keys.
   */
  readonly guestKexec?: boolean;
  /**
   * The toolstack marks the backend untrusted (LIBXL_DISK_BACKEND_UNTRUSTED): libxl writes the
   * frontend's `trusted` node as 0 and blkfront bounces every data page through its own (XSA-403).
   */
  readonly backendUntrusted?: boolean;
  /** With unplug: the detach may also come before the frontend started talking to blkback. */
  readonly detachEarly?: boolean;
  /**
   * The guest's max_event_channels (xl.cfg; ports 0..max-1, port 0 reserved): a small limit makes
   * setup_blkring's xenbus_alloc_evtchn fail with ENOSPC, and talk_to_blkback goes to Closing.
   */
  readonly eventChannelsMax?: number;
  /**
   * The plan's saves and detaches come only once the guest has submitted this many requests (the
   * toolstack picks its moment; a plan that wants them under load says so).
   */
  readonly faultsAfterRequests?: number;
  /**
   * With faultsAfterRequests: a save or detach of a connected device also waits until this many
   * requests are in flight on its rings (the moment is still the scheduler's choice).
   */
  readonly faultsWithInFlight?: number;
  /**
   * dom0 userspace overwrites driver keys, in this order, each once (the conformance replay of a
   * recorded run with hostile dom0 writes); the default properties have none.
   */
  readonly dom0Writes?: readonly Dom0Write[];
}

export type AbiName = 'x86_64-abi' | 'x86_32-abi';

export interface WorldConfig {
  readonly vcpuCount: number;
  readonly abi: AbiName;
  readonly diskSectors: number;
  readonly frontend: FrontendConfig;
  readonly backend: BackendConfig;
  readonly workload: readonly WorkloadItem[];
  readonly faults: FaultPlan;
  /** A hostile peer, when the run tests the honest side's defences. */
  readonly hostile?: HostilePlan;
}

export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export const DEFAULT_BACKEND: BackendConfig = {
  queueCountMax: 2,
  ringPageOrderMax: 4,
  indirectSegmentsMax: 256,
  persistent: true,
  persistentGrantsMax: 1056,
  flush: true,
  barrier: true,
  discard: true,
};

export const DEFAULT_FRONTEND: FrontendConfig = {
  queueCountMax: 4,
  ringPageOrderMax: 0,
  indirectSegmentsMax: 32,
  persistent: true,
};

export const NO_FAULTS: FaultPlan = {
  migrations: [],
  unplug: false,
  frontendClose: false,
  transactionConflicts: 0,
};

function checkInt(
  issues: ConfigIssue[],
  path: string,
  value: unknown,
  min: number,
  max: number,
): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    issues.push({
      path,
      message: `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`,
    });
  }
}

function checkBackend(issues: ConfigIssue[], path: string, b: BackendConfig): void {
  if (b.queueCountMax !== undefined)
    checkInt(issues, `${path}.queueCountMax`, b.queueCountMax, 1, 1024);
  if (b.ringPageOrderMax !== undefined)
    checkInt(issues, `${path}.ringPageOrderMax`, b.ringPageOrderMax, 0, 4);
  if (b.indirectSegmentsMax !== undefined)
    checkInt(issues, `${path}.indirectSegmentsMax`, b.indirectSegmentsMax, 0, 4096);
  checkInt(issues, `${path}.persistentGrantsMax`, b.persistentGrantsMax, 0, 1 << 20);
}

/** A key below the device directory: no absolute path, no empty or dot segment. */
const RELATIVE_KEY = /^(?!.*(?:^|\/)\.{0,2}(?:\/|$))[A-Za-z0-9_./-]{1,256}$/;

function checkDom0Write(issues: ConfigIssue[], path: string, w: Dom0Write): void {
  if (w.dir !== 'frontend' && w.dir !== 'backend') {
    issues.push({
      path: `${path}.dir`,
      message: `must be frontend or backend, got ${JSON.stringify(w.dir)}`,
    });
  }
  if (typeof w.key !== 'string' || !RELATIVE_KEY.test(w.key)) {
    issues.push({
      path: `${path}.key`,
      message: `must be a key below the device directory, got ${JSON.stringify(w.key)}`,
    });
  }
  if (typeof w.value !== 'string' || w.value.length > 4096) {
    issues.push({ path: `${path}.value`, message: `must be a string of at most 4096 characters` });
  }
}

export function validateConfig(config: WorldConfig): Result<WorldConfig, readonly ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  checkInt(issues, 'vcpuCount', config.vcpuCount, 1, 64);
  if (config.abi !== 'x86_64-abi' && config.abi !== 'x86_32-abi') {
    issues.push({
      path: 'abi',
      message: `must be x86_64-abi or x86_32-abi, got ${JSON.stringify(config.abi)}`,
    });
  }
  checkInt(issues, 'diskSectors', config.diskSectors, 8, 1 << 24);
  if (config.faults.faultsAfterRequests !== undefined)
    checkInt(issues, 'faults.faultsAfterRequests', config.faults.faultsAfterRequests, 0, 1 << 20);
  if (config.faults.faultsWithInFlight !== undefined)
    checkInt(issues, 'faults.faultsWithInFlight', config.faults.faultsWithInFlight, 0, 1 << 20);
  if (config.faults.guestUnbindAfterWrites !== undefined)
    checkInt(
      issues,
      'faults.guestUnbindAfterWrites',
      config.faults.guestUnbindAfterWrites,
      0,
      1 << 20,
    );
  if (config.faults.eventChannelsMax !== undefined)
    checkInt(issues, 'faults.eventChannelsMax', config.faults.eventChannelsMax, 1, 1 << 17);
  checkInt(issues, 'frontend.queueCountMax', config.frontend.queueCountMax, 0, 1024);
  checkInt(issues, 'frontend.ringPageOrderMax', config.frontend.ringPageOrderMax, 0, 4);
  checkInt(issues, 'frontend.indirectSegmentsMax', config.frontend.indirectSegmentsMax, 0, 4096);
  checkBackend(issues, 'backend', config.backend);
  config.faults.migrations.forEach((b, i) => {
    checkBackend(issues, `faults.migrations[${i}]`, b);
  });
  config.workload.forEach((w, i) => {
    const path = `workload[${i}]`;
    checkInt(issues, `${path}.vcpu`, w.vcpu, 0, config.vcpuCount - 1);
    checkInt(issues, `${path}.offsetSectors`, w.offsetSectors, 0, 7);
    const dataless = w.op === 'flush';
    checkInt(issues, `${path}.sectorCount`, w.sectorCount, dataless ? 0 : 1, 8 * 4096);
    if (w.sector + w.sectorCount > config.diskSectors) {
      issues.push({
        path,
        message: `sectors ${w.sector}..${w.sector + w.sectorCount - 1} lie beyond the ${config.diskSectors}-sector disk`,
      });
    }
  });
  config.faults.dom0Writes?.forEach((w, i) => {
    checkDom0Write(issues, `faults.dom0Writes[${i}]`, w);
  });
  if (config.hostile !== undefined) issues.push(...validateHostilePlan(config.hostile));
  return issues.length === 0 ? { ok: true, value: config } : { ok: false, error: issues };
}
