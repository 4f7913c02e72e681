// The configurations one step simpler than a counterexample's, for the shortener (shorten.ts).
// fast-check shrinks a scenario's configuration with its choice list, but a smaller configuration
// re-aims every choice, so it rarely keeps the failure: check's counterexamples came out with the
// fault plan, thresholds and limits they were drawn with (a migration held back until 12 requests
// were submitted keeps all 12 in the trace; a persistent-grant limit of 64 needs 31 writes where
// a limit of 0 needs one). Each candidate here changes one thing towards the plainest run: a
// fault of the plan gone, a threshold gone, a limit or a count lowered, one vCPU. Only candidates
// the configuration's own validation accepts are offered; the shortener keeps one when the same
// invariant still breaks, in no more steps.
import type { FaultPlan, WorldConfig } from '../impl/world/config.ts';
import { validateConfig } from '../impl/world/config.ts';

/** The fault plan's flags that start a fault, each of which a candidate turns off. */
const FAULT_FLAGS = [
  'unplug',
  'frontendClose',
  'backendRestart',
  'backendRestartIdle',
  'destroy',
  'hotplugFailure',
  'backendProbeFailure',
  'guestKexec',
  'backendUntrusted',
  'detachEarly',
] as const;

/** Optional numbers of the plan a candidate removes (the fault then comes with no threshold). */
const FAULT_THRESHOLDS = [
  'faultsAfterRequests',
  'faultsWithInFlight',
  'guestUnbindAfterWrites',
  'eventChannelsMax',
] as const;

/** `plan` without the optional field `key`. */
function without<K extends keyof FaultPlan>(plan: FaultPlan, key: K): FaultPlan {
  const { [key]: _gone, ...rest } = plan;
  return rest as FaultPlan;
}

/** Plans one fault or threshold simpler than `plan`, most of the run's length first. */
function simplerPlans(plan: FaultPlan): FaultPlan[] {
  const out: FaultPlan[] = [];
  // A threshold holds every fault back until the guest has done that much: all of it stays in
  // the trace, and no workload item can go while it stands.
  for (const key of FAULT_THRESHOLDS) if (plan[key] !== undefined) out.push(without(plan, key));
  // The unbind is the fault itself: sooner, rather than gone (its threshold counts blkfront's
  // state writes, so 0 is before blkfront has talked).
  const unbindAfter = plan.guestUnbindAfterWrites;
  if (unbindAfter !== undefined && unbindAfter > 0)
    out.push({ ...plan, guestUnbindAfterWrites: 0 });
  for (let i = plan.migrations.length - 1; i >= 0; i--)
    out.push({ ...plan, migrations: plan.migrations.filter((_, k) => k !== i) });
  for (const key of FAULT_FLAGS) if (plan[key] === true) out.push({ ...plan, [key]: false });
  if (plan.transactionConflicts > 0) out.push({ ...plan, transactionConflicts: 0 });
  const writes = plan.dom0Writes ?? [];
  for (let i = writes.length - 1; i >= 0; i--)
    out.push({ ...plan, dom0Writes: writes.filter((_, k) => k !== i) });
  return out;
}

/**
 * The run started on the host of the first migration, one migration fewer: a bug of the backend
 * the guest migrates to needs no migration to show, when that backend's own session shows it.
 */
function startOnTarget(config: WorldConfig): WorldConfig[] {
  const [target, ...rest] = config.faults.migrations;
  if (target === undefined) return [];
  return [{ ...config, backend: target, faults: { ...config.faults, migrations: rest } }];
}

/** Hostile plans with one attack fewer (never none: a hostile run's plan names one at least). */
function simplerHostile(config: WorldConfig): WorldConfig[] {
  const hostile = config.hostile;
  if (hostile === undefined || hostile.attacks.length < 2) return [];
  const out: WorldConfig[] = [];
  for (let i = hostile.attacks.length - 1; i >= 0; i--)
    out.push({
      ...config,
      hostile: { ...hostile, attacks: hostile.attacks.filter((_, k) => k !== i) },
    });
  return out;
}

/** One vCPU, every item on it; the drivers' limits and counts lowered, one at a time. */
function simplerShapes(config: WorldConfig): WorldConfig[] {
  const out: WorldConfig[] = [];
  const { frontend, backend } = config;
  if (config.vcpuCount > 1)
    out.push({
      ...config,
      vcpuCount: 1,
      workload: config.workload.map((item) => ({ ...item, vcpu: 0 })),
    });
  if (backend.persistent && backend.persistentGrantsMax > 0)
    out.push({ ...config, backend: { ...backend, persistentGrantsMax: 0 } });
  if (frontend.queueCountMax > 1)
    out.push({ ...config, frontend: { ...frontend, queueCountMax: 1 } });
  if (backend.queueCountMax !== undefined && backend.queueCountMax > 1)
    out.push({ ...config, backend: { ...backend, queueCountMax: 1 } });
  if (frontend.ringPageOrderMax > 0)
    out.push({ ...config, frontend: { ...frontend, ringPageOrderMax: 0 } });
  if (frontend.indirectSegmentsMax > 0)
    out.push({ ...config, frontend: { ...frontend, indirectSegmentsMax: 0 } });
  return out;
}

/**
 * Every configuration one change simpler than `config` that validates: the fault plan's
 * thresholds, faults and writes first (they hold most of a trace's length), a migration's target
 * as the first host, then the hostile plan's attacks, then the vCPUs, limits and counts. Each
 * removes something that never comes back or lowers a limit; only the target host can bring a
 * higher limit back, and it costs a migration, of which there are few: a shortener that keeps
 * candidates ends.
 */
export function simplerConfigs(config: WorldConfig): WorldConfig[] {
  const candidates = [
    ...simplerPlans(config.faults).map((faults) => ({ ...config, faults })),
    ...startOnTarget(config),
    ...simplerHostile(config),
    ...simplerShapes(config),
  ];
  return candidates.filter((candidate) => validateConfig(candidate).ok);
}
