// Runs the model configured like a recorded run and collects, per device session and per
// xenstore connection, the writes that became visible (a transaction's writes at its commit, in
// request order), so a checker can set them beside the real ones.
//
// One world covers one guest's lineage of a device: the first session, then one session per
// save/restore (a migration in the fault plan: new domid, new directories, the next backend).
// The schedule is ordinary: the fair drain of properties/run.ts to quiescence, and the faults
// the trace shows (save, detach) started at quiescence, each followed by another drain.

import type { Action } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import { enabled } from '../../impl/world/enabled.ts';
import { initWorld } from '../../impl/world/init.ts';
import { step } from '../../impl/world/step.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../model/xenstore-paths.ts';
import type { World } from '../../impl/world/world.ts';
import type { TxId } from '../../impl/xen/xenstore.ts';
import { Ledger } from '../../properties/ledger.ts';
import { drainWorld } from '../../properties/run.ts';
import type { Violation } from '../../properties/invariants/violation.ts';
import { classifyPath, type DeviceDir } from './extract.ts';

/** The xenstore connections of a device session: guest kernel, dom0 kernel, dom0 userspace. */
export type ConnectionRole = 'frontend' | 'backend' | 'toolstack';

export interface ModelWrite {
  readonly dir: DeviceDir;
  /** Relative to the device directory. */
  readonly key: string;
  readonly value: string;
  /** Writes that became visible together (one transaction, or one plain write) share it. */
  readonly group: number;
}

export interface ConnectionWrites extends Record<ConnectionRole, ModelWrite[]> {
  /** The group in which the toolstack removed the frontend directory; undefined if it never did. */
  teardownGroup: number | undefined;
}

/** A fault the trace shows, started once the world is quiescent (a destroy: where it came). */
export type ReplayFault = 'save' | 'detach' | 'destroy';

/** How many writes each kernel had made on the device when the recorded run's destroy came. */
export interface WriteCounts {
  readonly frontend: number;
  readonly backend: number;
}

export interface ReplayPlan {
  readonly config: WorldConfig;
  readonly faults: readonly ReplayFault[];
  /**
   * An `xl destroy` may come at any point, even before blkfront loaded: the model's destroy is
   * started once its kernels made as many writes as the real ones had (or at quiescence).
   */
  readonly destroyAfter?: WriteCounts;
  /**
   * For each of config.faults.dom0Writes, where the recorded one came (as many kernel writes on
   * the device as before it): the model's is performed there, before any save.
   */
  readonly dom0WritesAfter?: readonly WriteCounts[];
}

export interface ReplayResult {
  /** Index i: the session of world domid i + 1 (the first session, then one per restore). */
  readonly sessions: readonly ConnectionWrites[];
  /** Set when the world did not settle or a driver assertion fired: the model's own failure. */
  readonly failure: string | undefined;
}

/** Bounds on one drain: the control plane of one device settles in a few hundred steps. */
const DRAIN_STEPS_MAX = 20_000;

const FAULT_KINDS: Readonly<Record<ReplayFault, Action['kind']>> = {
  save: 'suspend',
  detach: 'unplug',
  destroy: 'destroy',
};

export function replayLineage(plan: ReplayPlan): ReplayResult {
  const world = initWorld(plan.config, HONEST_DRIVERS, new Ledger());
  const recorder = new WriteRecorder();
  recorder.seedCreation(world);
  recorder.install(world);
  const perform = (action: Action): undefined => {
    recorder.actor = action.actor;
    step(world, action);
    return undefined;
  };
  const startKind = (kind: Action['kind']): string | undefined => {
    const action = enabled(world).find((a) => a.actor === 'toolstack' && a.kind === kind);
    if (action === undefined) return `the model cannot start toolstack ${kind}: it is not enabled`;
    perform(action);
    return undefined;
  };
  const start = (fault: ReplayFault): string | undefined => startKind(FAULT_KINDS[fault]);
  const settle = (until?: WriteCounts): string | undefined => {
    const stop = until === undefined ? undefined : () => recorder.reached(world.guestDomid, until);
    const drained = drainWorld(world, DRAIN_STEPS_MAX, (action) => {
      perform(action);
      return stop?.() === true ? REACHED : undefined;
    });
    return drained.violation === REACHED ? undefined : drained.violation?.message;
  };
  let failure: string | undefined;
  for (const after of plan.dom0WritesAfter ?? []) {
    failure = guarded(() => settle(after) ?? startKind('dom0Write'));
    if (failure !== undefined) break;
  }
  for (const fault of failure === undefined ? plan.faults : []) {
    failure = guarded(() => settle(fault === 'destroy' ? plan.destroyAfter : undefined));
    if (failure === undefined) failure = guarded(() => start(fault));
    if (failure !== undefined) break;
  }
  failure ??= guarded(() => settle());
  return { sessions: recorder.sessions, failure };
}

/** Stops a drain early (not a violation): the model reached the recorded run's point. */
const REACHED = {
  code: 'no-lost-request',
  step: -1,
  message: 'the replay reached the recorded point',
} as const satisfies Violation;

function guarded(run: () => string | undefined): string | undefined {
  try {
    return run();
  } catch (error) {
    return error instanceof Error ? `the model failed: ${error.message}` : String(error);
  }
}

interface PendingTx {
  readonly role: ConnectionRole;
  readonly writes: [string, string][];
  readonly removed: string[];
}

/** Captures visible writes by wrapping the world's xenstore instance. */
class WriteRecorder {
  readonly sessions: ConnectionWrites[] = [];
  actor: Action['actor'] = 'toolstack';
  private group = 0;
  /** The path blkback announced it is about to write (world.observe), told apart from libxl's. */
  private kernelPath: string | undefined;
  private readonly open = new Map<TxId, PendingTx>();

  /** initWorld already ran createDevice: its one transaction, read back from the store. */
  seedCreation(world: World): void {
    this.group += 1;
    for (const dir of [frontendPath(world.guestDomid), backendPath(world.guestDomid)]) {
      for (const [path, value] of world.xs.snapshot(dir)) {
        if (path !== dir) this.record('toolstack', path, value);
      }
    }
  }

  install(world: World): void {
    // blkback writes inside a toolstack step (the Closed after libxl's destroy) are the kernel's.
    world.observe = (note) => {
      if (note.kind === 'xenstoreWrite' && note.dom === BACKEND_DOMID) this.kernelPath = note.path;
    };
    const xs = world.xs;
    const write = xs.write.bind(xs);
    const start = xs.transactionStart.bind(xs);
    const end = xs.transactionEnd.bind(xs);
    const rm = xs.rm.bind(xs);
    xs.rm = (dom, path, tx) => {
      const result = rm(dom, path, tx);
      if (!result.ok) return result;
      const pending = tx === undefined ? undefined : this.open.get(tx);
      if (pending !== undefined) {
        pending.removed.push(path);
      } else {
        this.group += 1;
        this.removed(path);
      }
      return result;
    };
    xs.write = (dom, path, value, tx) => {
      const result = write(dom, path, value, tx);
      if (!result.ok) return result;
      const pending = tx === undefined ? undefined : this.open.get(tx);
      if (pending !== undefined) {
        pending.writes.push([path, value]);
      } else {
        this.group += 1;
        const kernel = dom === BACKEND_DOMID && this.kernelPath === path;
        this.kernelPath = undefined;
        this.record(kernel ? 'backend' : this.roleOf(dom), path, value);
      }
      return result;
    };
    xs.transactionStart = (dom) => {
      const tx = start(dom);
      this.open.set(tx, { role: this.roleOf(dom), writes: [], removed: [] });
      return tx;
    };
    xs.transactionEnd = (dom, tx, commit) => {
      const result = end(dom, tx, commit);
      const pending = this.open.get(tx);
      this.open.delete(tx);
      if (pending !== undefined && commit && result.ok) {
        this.group += 1;
        for (const [path, value] of pending.writes) this.record(pending.role, path, value);
        for (const path of pending.removed) this.removed(path);
      }
      return result;
    };
  }

  /** The kernels of guest `domid`'s session made at least these writes on the device. */
  reached(domid: number, counts: WriteCounts): boolean {
    const session = this.sessions[domid - 1];
    if (session === undefined) return counts.frontend === 0 && counts.backend === 0;
    return session.frontend.length >= counts.frontend && session.backend.length >= counts.backend;
  }

  /** dom0's writes come from the kernel (blkback) or from userspace (libxl, hotplug script). */
  private roleOf(dom: number): ConnectionRole {
    if (dom !== BACKEND_DOMID) return 'frontend';
    return this.actor === 'toolstack' ? 'toolstack' : 'backend';
  }

  private sessionOf(domid: number): ConnectionWrites {
    while (this.sessions.length < domid) {
      this.sessions.push({ frontend: [], backend: [], toolstack: [], teardownGroup: undefined });
    }
    return this.sessions[domid - 1]!;
  }

  private record(role: ConnectionRole, path: string, value: string): void {
    const ref = classifyPath(path);
    if (ref === null || ref.key === '' || ref.domid < 1) return;
    this.sessionOf(ref.domid)[role].push({ dir: ref.dir, key: ref.key, value, group: this.group });
  }

  private removed(path: string): void {
    const ref = classifyPath(path);
    if (ref === null || ref.key !== '' || ref.dir !== 'frontend' || ref.domid < 1) return;
    const session = this.sessionOf(ref.domid);
    session.teardownGroup ??= this.group;
  }
}
