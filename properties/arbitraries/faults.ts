// Fault plans: which faults the scheduler may inject and with what (when is always the schedule's
// choice). Migrations go to generated hosts whose blkback may differ in every limit, including
// one without multi-queue: the frontend must renegotiate and fall back. The arbitrary for
// migration targets lives here (migration scenario suites draw from it too).
import fc from 'fast-check';
import type { BackendConfig, FaultPlan } from '../../impl/world/config.ts';
import { backendConfigArb, swarmBackend } from './config.ts';
import { type Swarm, type SwarmWeights, sometimes } from './swarm.ts';

export const MIGRATION_COUNT_MAX = 2;
export const TRANSACTION_CONFLICTS_MAX = 3;

interface RawFaults {
  readonly migrations: readonly BackendConfig[];
  readonly unplug: boolean;
  readonly frontendClose: boolean;
  readonly transactionConflicts: number;
  readonly detachEarly: boolean;
  /** Usable event channels of the guest under a small max_event_channels (port 0 is reserved). */
  readonly channels: number;
  /** For I/O-heavy runs: how many requests the guest submits before a save may come. */
  readonly loadBeforeSave: number;
}

/** A migration target: any backend, with the run's switched-off features removed. */
export function migrationTargetsArb(
  countMax: number = MIGRATION_COUNT_MAX,
): fc.Arbitrary<readonly BackendConfig[]> {
  return fc.array(backendConfigArb(), { minLength: 1, maxLength: countMax });
}

export const rawFaultsArb: fc.Arbitrary<RawFaults> = fc.record({
  migrations: migrationTargetsArb(),
  unplug: fc.boolean(),
  frontendClose: fc.boolean(),
  transactionConflicts: fc.integer({ min: 1, max: TRANSACTION_CONFLICTS_MAX }),
  detachEarly: sometimes(30),
  channels: fc.integer({ min: 0, max: 3 }),
  loadBeforeSave: fc.integer({ min: 12, max: 64 }),
});

export function faultsOf(raw: RawFaults, swarm: Swarm): FaultPlan {
  return {
    migrations: swarm.migrations ? raw.migrations.map((b) => swarmBackend(b, swarm)) : [],
    unplug: swarm.unplug && raw.unplug,
    frontendClose: swarm.frontendClose && raw.frontendClose,
    transactionConflicts: swarm.transactionConflicts ? raw.transactionConflicts : 0,
    // Only between requests: a crash with requests consumed and unanswered is survivable only
    // when they were answered in order (suites/backend-restart.test.ts), so it stays out; the
    // world leaves it out where the successor would fail (toolstack.ts restartBackendEnabled).
    ...(swarm.backendRestart ? { backendRestartIdle: true } : {}),
    hotplugFailure: swarm.hotplugFailure,
    detachEarly: swarm.unplug && raw.unplug && raw.detachEarly,
    // Not with migrations: a restore onto a host with more queues than channels fails in
    // talk_to_blkback, and blkfront_resume's error path never requeues what it captured.
    ...(swarm.channelLimit && !swarm.migrations ? { eventChannelsMax: raw.channels + 1 } : {}),
    ...(swarm.saveUnderLoad ? { faultsAfterRequests: raw.loadBeforeSave } : {}),
  };
}

export type { RawFaults };

/**
 * Fault draws added after the first ones: drawn after the schedule (scenario.ts), so every seed
 * still draws the configurations and schedules it drew before they existed.
 */
export interface LateFaults {
  /** The guest may unbind blkfront (swarm feature guestUnbind). */
  readonly unbind: boolean;
  /** After how many of blkfront's state writes it may (before it talked, after one, after two). */
  readonly unbindAfterWrites: number;
  /** With a save under load: requests in flight on the rings before a save or detach may come. */
  readonly inFlightBeforeSave: number;
  /** With unbind: the guest may then kexec into a new kernel (xenbus_reset_frontend). */
  readonly kexec: boolean;
  /** blkback's probe may fail (swarm feature backendProbeFailure). */
  readonly probeFailure: boolean;
  /** The toolstack writes trusted = 0 (swarm feature untrustedBackend). */
  readonly untrusted: boolean;
}

export function lateFaultsArb(
  weights: Pick<SwarmWeights, 'guestUnbind' | 'backendProbeFailure' | 'untrustedBackend'>,
): fc.Arbitrary<LateFaults> {
  return fc.record({
    unbind: sometimes(weights.guestUnbind),
    unbindAfterWrites: fc.integer({ min: 0, max: 2 }),
    inFlightBeforeSave: fc.integer({ min: 2, max: 40 }),
    kexec: sometimes(60),
    probeFailure: sometimes(weights.backendProbeFailure),
    untrusted: sometimes(weights.untrustedBackend),
  });
}

export function withLateFaults(faults: FaultPlan, late: LateFaults): FaultPlan {
  return {
    ...faults,
    ...(late.unbind ? { guestUnbindAfterWrites: late.unbindAfterWrites } : {}),
    ...(late.unbind && late.kexec ? { guestKexec: true } : {}),
    ...(late.probeFailure ? { backendProbeFailure: true } : {}),
    ...(late.untrusted ? { backendUntrusted: true } : {}),
    ...(faults.faultsAfterRequests !== undefined
      ? { faultsWithInFlight: late.inFlightBeforeSave }
      : {}),
  };
}
