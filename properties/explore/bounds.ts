// The configurations an exploration covers, from a few small numbers a user sets: queues, ring
// order, the workload (how many requests, of which kinds), the faults the scheduler may inject
// (each a bounded count), and a family of backends (multi-queue absent, 1, 2, ...). Each member
// of the family is explored on its own; the verdict is over all of them.
import {
  type AbiName,
  type BackendConfig,
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  validateConfig,
  type WorkloadItem,
  type WorkloadOp,
  type WorldConfig,
} from '../../impl/world/config.ts';
import { attacksOf } from '../../impl/world/hostile/attacks.ts';
import type { AttackSpec, HostilePlan, HostileSide } from '../../impl/world/hostile/plan.ts';

export interface ConfigBounds {
  /** vCPUs, and blkfront's max_queues. */
  readonly queues: number;
  /** The backends' multi-queue-max-queues, one configuration each; undefined: not advertised. */
  readonly backendQueues: readonly (number | undefined)[];
  /** Ring page order, both sides (0: one page; blkback advertises max-ring-page-order only above 0). */
  readonly ringOrder: number;
  /** Indirect segments blkfront may use (0: none); the backend offers the same unless told. */
  readonly indirectSegments: number;
  /** The backend's feature-max-indirect-segments when it differs (0: not advertised). */
  readonly backendIndirect?: number;
  readonly persistent: boolean;
  /** The backend's feature_persistent when it differs from the frontend's. */
  readonly backendPersistent?: boolean;
  /** The backend's max_persistent_grants (default Linux's 1056). */
  readonly persistentGrantsMax?: number;
  /** The guest's ABI (a 32-bit guest's ring entries are laid out differently). */
  readonly abi?: AbiName;
  /** What the backend's disk offers for cache flushes (default both: flush and barrier). */
  readonly cache?: 'both' | 'flush' | 'barrier' | 'none';
  readonly requests: number;
  /** The requests' operations, in turn (write, read, write, ...). */
  readonly ops: readonly WorkloadOp[];
  /** Sectors per request, all at sector 0: every read overlaps every write. */
  readonly sectors: number;
  /** Migrations the scheduler may start, each to a backend with this multi-queue setting. */
  readonly migrations: number;
  readonly migrateQueues: number | undefined;
  readonly conflicts: number;
  readonly unplug: boolean;
  readonly close: boolean;
  readonly restart: boolean;
  /**
   * A hostile peer (properties/invariants/honest-side.ts judges the honest side): which side, the
   * attacks the scheduler may pick (each spec one shot), and how many it may take in all.
   */
  readonly hostile?: HostilePlan;
  /** The guest may unbind blkfront (xenbus_dev_remove) at any step. */
  readonly unbind?: boolean;
  /** With unbind: the guest may then kexec into a new kernel (xenbus_reset_frontend). */
  readonly kexec?: boolean;
  /** blkback's probe may fail (xen_blkbk_probe's xenbus_dev_fatal). */
  readonly probeFailure?: boolean;
  /** The toolstack writes trusted = 0: blkfront must bounce (XSA-403). */
  readonly untrusted?: boolean;
  /** The guest's max_event_channels (port 0 reserved): setup_blkring's ENOSPC past it. */
  readonly eventChannels?: number;
}

export const SMALL_BOUNDS: ConfigBounds = {
  queues: 1,
  backendQueues: [1],
  ringOrder: 0,
  indirectSegments: 0,
  persistent: false,
  requests: 2,
  ops: ['write', 'read'],
  sectors: 8,
  migrations: 0,
  migrateQueues: undefined,
  conflicts: 0,
  unplug: false,
  close: false,
  restart: false,
};

function backendOf(bounds: ConfigBounds, queues: number | undefined): BackendConfig {
  const indirect = bounds.backendIndirect ?? bounds.indirectSegments;
  const cache = bounds.cache ?? 'both';
  return {
    ...DEFAULT_BACKEND,
    queueCountMax: queues,
    ringPageOrderMax: bounds.ringOrder === 0 ? undefined : bounds.ringOrder,
    indirectSegmentsMax: indirect === 0 ? undefined : indirect,
    persistent: bounds.backendPersistent ?? bounds.persistent,
    persistentGrantsMax: bounds.persistentGrantsMax ?? DEFAULT_BACKEND.persistentGrantsMax,
    flush: cache === 'both' || cache === 'flush',
    barrier: cache === 'both' || cache === 'barrier',
  };
}

function workloadOf(bounds: ConfigBounds): WorkloadItem[] {
  return Array.from({ length: bounds.requests }, (_, i) => ({
    vcpu: i % bounds.queues,
    op: bounds.ops[i % bounds.ops.length]!,
    sector: 0,
    sectorCount: bounds.sectors,
    offsetSectors: 0,
  }));
}

/** One configuration per backend of the family, or the first reason the bounds are impossible. */
export function configsOf(
  bounds: ConfigBounds,
): { ok: true; configs: readonly WorldConfig[] } | { ok: false; message: string } {
  if (bounds.backendQueues.length === 0) return { ok: false, message: 'no backend to explore' };
  if (bounds.ops.length === 0) return { ok: false, message: 'no request kinds' };
  const configs: WorldConfig[] = [];
  for (const queues of bounds.backendQueues) {
    const config: WorldConfig = {
      vcpuCount: bounds.queues,
      abi: bounds.abi ?? 'x86_64-abi',
      // Room for every request and then some; small, because each state carries the disk.
      diskSectors: Math.max(64, bounds.sectors * 2),
      frontend: {
        ...DEFAULT_FRONTEND,
        queueCountMax: bounds.queues,
        ringPageOrderMax: bounds.ringOrder,
        indirectSegmentsMax: bounds.indirectSegments,
        persistent: bounds.persistent,
      },
      backend: backendOf(bounds, queues),
      workload: workloadOf(bounds),
      faults: {
        migrations: Array.from({ length: bounds.migrations }, () =>
          backendOf(bounds, bounds.migrateQueues),
        ),
        unplug: bounds.unplug,
        frontendClose: bounds.close,
        transactionConflicts: bounds.conflicts,
        backendRestart: bounds.restart,
        ...(bounds.unbind === true ? { guestUnbindAfterWrites: 0 } : {}),
        ...(bounds.unbind === true && bounds.kexec === true ? { guestKexec: true } : {}),
        ...(bounds.probeFailure === true ? { backendProbeFailure: true } : {}),
        ...(bounds.untrusted === true ? { backendUntrusted: true } : {}),
        ...(bounds.eventChannels !== undefined ? { eventChannelsMax: bounds.eventChannels } : {}),
      },
      ...(bounds.hostile === undefined || bounds.hostile.budget === 0
        ? {}
        : { hostile: bounds.hostile }),
    };
    const checked = validateConfig(config);
    if (!checked.ok) {
      const issue = checked.error[0]!;
      return { ok: false, message: `${issue.path} ${issue.message}` };
    }
    configs.push(config);
  }
  return { ok: true, configs };
}

/**
 * A hostile plan for explore: `budget` attacks in all, from every attack of `side` (or those
 * named), each on ring 0 with its value (default 0: the first variant, the smallest jump).
 */
export function hostilePlanOf(
  side: HostileSide,
  budget: number,
  specs?: readonly { readonly attack: string; readonly value?: number }[],
): { ok: true; plan: HostilePlan } | { ok: false; message: string } {
  const known = attacksOf(side);
  const chosen: readonly { readonly attack: string; readonly value?: number }[] =
    specs ?? known.map((attack) => ({ attack }));
  const attacks: AttackSpec[] = [];
  for (const spec of chosen) {
    const attack = known.find((a) => a === spec.attack);
    if (attack === undefined)
      return { ok: false, message: `${spec.attack} is not an attack of a hostile ${side}` };
    attacks.push({ attack, ring: 0, value: spec.value ?? 0 });
  }
  if (attacks.length === 0) return { ok: false, message: 'no attack to take' };
  return { ok: true, plan: { side, attacks, budget } };
}
