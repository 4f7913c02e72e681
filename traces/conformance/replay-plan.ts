// How to configure the model like a recorded run, from the trace alone: the backend's limits and
// features as it advertised and wrote them, the frontend's limits inferred from what it wrote
// (the trace never shows blkfront's module parameters), the save/restore as a migration to a
// host whose backend is the restored session's, and the detach the toolstack performed.

import {
  type BackendConfig,
  DEFAULT_BACKEND,
  DEFAULT_FRONTEND,
  NO_FAULTS,
  type WorldConfig,
} from '../../impl/world/config.ts';
import { NOT_ADVERTISED } from '../../model/negotiate.ts';
import { BE, FE, readUnsigned, XEN_IO_PROTO_ABI_X86_32 } from '../../model/xenstore-keys.ts';
import { flatten } from './check.ts';
import type { DeviceOp, DeviceSession } from './extract.ts';
import type { ReplayFault, ReplayPlan, WriteCounts } from './model-replay.ts';
import type { Dom0Write } from '../../impl/world/config.ts';

/** A dom0 userspace write of the recorded run and where it came. */
export interface TimedDom0Write {
  readonly write: Dom0Write;
  /** The kernels' writes on the device visible before it. */
  readonly after: WriteCounts;
  readonly line: number;
}

/** Sessions of one guest's device: the first, then one per save/restore (new domid). */
export interface Lineage {
  readonly sessions: readonly DeviceSession[];
}

/** A restored session follows the session of its previous domid with the same device id. */
export function lineagesOf(sessions: readonly DeviceSession[]): Lineage[] {
  const lineages: DeviceSession[][] = [];
  for (const session of sessions) {
    const before = lineages.find((lineage) => {
      const last = lineage[lineage.length - 1]!;
      return (
        session.generation === 0 &&
        session.previousDomid === last.domid &&
        session.devid === last.devid
      );
    });
    if (before === undefined) lineages.push([session]);
    else before.push(session);
  }
  return lineages.map((lineage) => ({ sessions: lineage }));
}

function lastWrite(session: DeviceSession, role: 'frontend' | 'backend', key: string) {
  let value: string | undefined;
  for (const op of flatten(session[role])) {
    if (op.kind === 'write' && op.dir === role && op.key === key && op.visibleLine !== null) {
      value = op.value;
    }
  }
  return value;
}

/** The backend's module parameters as its writes show them (absent key: not advertised). */
export function backendConfigOf(session: DeviceSession): BackendConfig {
  const flag = (key: string): boolean => lastWrite(session, 'backend', key) === '1';
  const persistent = lastWrite(session, 'backend', BE.featurePersistent);
  return {
    queueCountMax: readUnsigned(lastWrite(session, 'backend', BE.multiQueueMaxQueues)),
    ringPageOrderMax: readUnsigned(lastWrite(session, 'backend', BE.maxRingPageOrder)),
    indirectSegmentsMax: readUnsigned(lastWrite(session, 'backend', BE.featureMaxIndirectSegments)),
    persistent: persistent === undefined ? DEFAULT_BACKEND.persistent : persistent === '1',
    persistentGrantsMax: DEFAULT_BACKEND.persistentGrantsMax,
    flush: flag(BE.featureFlushCache),
    barrier: flag(BE.featureBarrier),
    discard: flag(BE.featureDiscard),
  };
}

/**
 * The smallest frontend limits that explain every session: the largest queue count and ring
 * order it wrote. vcpuCount equals the queue limit, so the clamp to online vCPUs is a no-op.
 */
function frontendLimits(sessions: readonly DeviceSession[]) {
  let queueCountMax = 1;
  let ringPageOrderMax = 0;
  for (const session of sessions) {
    const queues =
      readUnsigned(lastWrite(session, 'frontend', FE.multiQueueNumQueues)) ??
      NOT_ADVERTISED.queueCount;
    const order =
      readUnsigned(lastWrite(session, 'frontend', FE.ringPageOrder)) ??
      NOT_ADVERTISED.ringPageOrder;
    queueCountMax = Math.max(queueCountMax, queues);
    ringPageOrderMax = Math.max(ringPageOrderMax, Math.min(order, 4));
  }
  return { queueCountMax: Math.min(queueCountMax, 64), ringPageOrderMax };
}

/**
 * Where the toolstack removed the frontend directory after creating it (save, destroy, or the
 * end of a detach): the comparison of the frontend and the toolstack stops there (blkback's is
 * carried through its Closed after a save or a destroy, which the world replays).
 */
export function teardownLine(session: DeviceSession): number | undefined {
  const ops = flatten(session.toolstack).filter(
    (op): op is Extract<DeviceOp, { kind: 'mutation' }> =>
      op.kind === 'mutation' && op.dir === 'frontend' && op.key === '' && op.visibleLine !== null,
  );
  const created = ops.findIndex((op) => op.op === 'MKDIR');
  for (const op of ops.slice(created + 1)) if (op.op === 'RM') return op.visibleLine!;
  return undefined;
}

/** libxl's detach: backend state Closing while the frontend directory is still there. */
function detached(session: DeviceSession): boolean {
  const teardown = teardownLine(session) ?? Number.MAX_SAFE_INTEGER;
  return flatten(session.toolstack).some(
    (op) =>
      op.kind === 'write' &&
      op.dir === 'backend' &&
      op.key === BE.state &&
      op.value === '5' &&
      op.visibleLine !== null &&
      op.visibleLine < teardown,
  );
}

/**
 * Keys dom0 userspace writes in an ordinary run outside libxl's creation transaction: the block
 * hotplug script's (physical-device, its path, hotplug-status or -error) and libxl's teardown
 * (online, state). Any other plain write is an administrator's xenstore-write.
 */
const TOOLSTACK_KEYS: ReadonlySet<string> = new Set([
  BE.state,
  'online',
  'physical-device',
  'physical-device-path',
  'hotplug-status',
  'hotplug-error',
]);

/**
 * dom0 userspace's own writes into the device (a xenstore-write from a dom0 shell during the
 * handshake), each with how many writes the kernels had made when it became visible. Only the
 * first session's: the replay performs them before any save.
 */
export function dom0WritesOf(session: DeviceSession): TimedDom0Write[] {
  const found: TimedDom0Write[] = [];
  for (const op of flatten(session.toolstack)) {
    if (op.kind !== 'write' || op.tx !== null || op.visibleLine === null) continue;
    if (op.key === '' || TOOLSTACK_KEYS.has(op.key)) continue;
    found.push({
      write: { dir: op.dir, key: op.key, value: op.value },
      after: {
        frontend: writesBefore(session, 'frontend', op.visibleLine),
        backend: writesBefore(session, 'backend', op.visibleLine),
      },
      line: op.line,
    });
  }
  return found;
}

export function planOf(lineage: Lineage): ReplayPlan {
  const sessions = lineage.sessions;
  const first = sessions[0]!;
  const frontend = frontendLimits(sessions);
  const protocol = lastWrite(first, 'frontend', FE.protocol);
  const sectors = readUnsigned(lastWrite(first, 'backend', BE.sectors)) ?? 8192;
  const faults: ReplayFault[] = sessions.slice(1).map(() => 'save');
  const last = sessions[sessions.length - 1]!;
  const teardown = teardownLine(last);
  if (detached(last)) faults.push('detach');
  else if (teardown !== undefined) faults.push('destroy');
  const dom0Writes = dom0WritesOf(first);
  const config: WorldConfig = {
    vcpuCount: Math.max(1, frontend.queueCountMax),
    abi: protocol === XEN_IO_PROTO_ABI_X86_32 ? 'x86_32-abi' : 'x86_64-abi',
    diskSectors: Math.min(Math.max(sectors, 8), 1 << 24),
    frontend: {
      ...DEFAULT_FRONTEND,
      queueCountMax: frontend.queueCountMax,
      ringPageOrderMax: frontend.ringPageOrderMax,
      persistent: lastWrite(first, 'frontend', FE.featurePersistent) !== '0',
    },
    backend: backendConfigOf(first),
    workload: [],
    faults: {
      ...NO_FAULTS,
      migrations: sessions.slice(1).map(backendConfigOf),
      unplug: faults.includes('detach'),
      destroy: faults.includes('destroy'),
      ...(dom0Writes.length === 0 ? {} : { dom0Writes: dom0Writes.map((w) => w.write) }),
    },
  };
  const timed = dom0Writes.length === 0 ? {} : { dom0WritesAfter: dom0Writes.map((w) => w.after) };
  if (teardown === undefined || !faults.includes('destroy')) return { config, faults, ...timed };
  const destroyAfter = {
    frontend: writesBefore(last, 'frontend', teardown),
    backend: writesBefore(last, 'backend', teardown),
  };
  return { config, faults, destroyAfter, ...timed };
}

/** A kernel's visible writes to the device (either directory) that became visible before `line`. */
function writesBefore(session: DeviceSession, role: 'frontend' | 'backend', line: number): number {
  return flatten(session[role]).filter(
    (op) =>
      op.kind === 'write' && op.key !== '' && op.visibleLine !== null && op.visibleLine < line,
  ).length;
}
