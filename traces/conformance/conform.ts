// `blkif conform`'s library: parse a xenstored trace, check every device session structurally
// (check.ts), then run the model configured like the run (replay-plan.ts, model-replay.ts) and
// compare, per session and per connection, the model's visible writes with the real ones,
// modulo grant references, event-channel ports and domids. The first divergence is reported.

import { BE, FE } from '../../model/xenstore-keys.ts';
import { xenbusStateName } from '../../model/xenbus-state.ts';
import {
  checkSession,
  connectionLabel,
  type Divergence,
  deviceLabel,
  divergence,
  flatten,
} from './check.ts';
import { type DeviceDir, type DeviceSession, extractDevices } from './extract.ts';
import {
  type ConnectionRole,
  type ConnectionWrites,
  type ModelWrite,
  replayLineage,
} from './model-replay.ts';
import { type ParseIssue, parseXsTrace, type Result } from './parse-xs-trace.ts';
import { lineagesOf, planOf, teardownLine } from './replay-plan.ts';
import { type StateStep, summarizeDevice } from './summarize-device.ts';

/**
 * What the comparison leaves out, and why. The kernels' connections are compared in full; of
 * dom0 userspace only the protocol's keys, because the rest is libxl's bookkeeping the drivers
 * never read and the world writes only a subset of (params, script, removable, bootable, dev,
 * type, mode, device-type, discard-enable, specification, frontend, frontend-id, backend,
 * backend-id, virtual-device, trusted, protocol) or the hotplug script's output
 * (physical-device, physical-device-path, hotplug-status), whose values name host devices.
 */
export const TOOLSTACK_COMPARED_KEYS: ReadonlySet<string> = new Set([BE.state, BE.online]);

/** Values that are the guest's or the hypervisor's choice: grant references and ports. */
function opaqueKey(key: string): boolean {
  const leaf = key.slice(key.lastIndexOf('/') + 1);
  return leaf === FE.eventChannel || /^ring-ref\d*$/.test(leaf);
}

export interface SessionVerdict {
  readonly device: string;
  readonly domid: number;
  readonly devid: number;
  readonly divergence: Divergence | undefined;
  /** Writes compared with the model's, over all connections. */
  readonly writesCompared: number;
  /** The trace line where comparison with the model stopped (the toolstack's teardown). */
  readonly comparedBefore: number | undefined;
  /** blkback's writes were compared past that line too (a save the lineage restores, a destroy). */
  readonly backendThroughTeardown: boolean;
  /** What ended the session when blkback's Closed was compared past the teardown. */
  readonly closedAfter?: 'save' | 'destroy' | undefined;
  /**
   * Set when the real session did less than the model configured like it: every write it made
   * is the model's, in the model's order, but it stopped before the model would have (the trace
   * ends, the toolstack removed the device, the guest never loaded its driver).
   */
  readonly partial: PartialStop | undefined;
}

/** Where and why a real session stopped short of the model's run. */
export interface PartialStop {
  /** Both ends' xenbus states when it stopped, e.g. "frontend Initialising (1), backend InitWait (2)". */
  readonly states: string;
  /** The session's last trace line that counts: the teardown, or its last request. */
  readonly line: number;
  readonly why: string;
  /** The first write the model would have made next, on the first connection that stopped. */
  readonly next: string;
}

export interface ConformOptions {
  /** Only sessions of this device: a device id (51712) or domid/devid (1/51712). */
  readonly device?: string;
}

export interface ConformIssue {
  readonly line: number;
  readonly message: string;
}

export function conformTrace(
  text: string,
  options: ConformOptions,
): Result<SessionVerdict[], ConformIssue> {
  const parsed = parseXsTrace(text);
  if (!parsed.ok) return { ok: false, error: issueOf(parsed.error) };
  const sessions = extractDevices(parsed.value);
  const lastLine = text.replace(/\n$/, '').split('\n').length;
  const verdicts = new Map<DeviceSession, SessionVerdict>();
  for (const lineage of lineagesOf(sessions)) {
    if (!lineage.sessions.some((session) => selected(session, options.device))) continue;
    // The replay runs even when a session breaks a structural rule: the lineage's other sessions
    // still get their comparison, and the structural divergence is reported first.
    const plan = planOf(lineage);
    const replay = replayLineage(plan);
    lineage.sessions.forEach((session, index) => {
      const structural = checkSession(session);
      const last = index === lineage.sessions.length - 1;
      // blkback's Closed after libxl's forced destroy is the model's too: after a save the
      // lineage restores, and after an xl destroy that ends it.
      const closedAfter = !last ? 'save' : plan.faults.at(-1) === 'destroy' ? 'destroy' : undefined;
      const saved = closedAfter !== undefined;
      const compared = compareWithModel(session, replay.sessions[index], replay.failure, saved);
      const found = structural ?? compared.divergence;
      const partial =
        found === undefined && compared.short !== undefined
          ? partialStop(session, compared.short, lastLine)
          : undefined;
      verdicts.set(session, {
        ...verdictOf(session, found, compared.count, saved, partial),
        closedAfter,
      });
    });
  }
  const out: SessionVerdict[] = [];
  for (const session of sessions) {
    const verdict = verdicts.get(session);
    if (verdict !== undefined && selected(session, options.device)) out.push(verdict);
  }
  return { ok: true, value: out };
}

function issueOf(issue: ParseIssue): ConformIssue {
  return { line: issue.line, message: `${issue.code}: ${issue.message}` };
}

function selected(session: DeviceSession, device: string | undefined): boolean {
  if (device === undefined) return true;
  return device === String(session.devid) || device === `${session.domid}/${session.devid}`;
}

function verdictOf(
  session: DeviceSession,
  found: Divergence | undefined,
  writesCompared: number,
  backendThroughTeardown: boolean,
  partial: PartialStop | undefined,
): SessionVerdict {
  return {
    device: deviceLabel(session),
    domid: session.domid,
    devid: session.devid,
    divergence: found,
    writesCompared,
    comparedBefore: teardownLine(session),
    backendThroughTeardown,
    partial,
  };
}

function stateAt(steps: readonly StateStep[], line: number): string {
  let state: number | 'unparsable' = 0;
  for (const step of steps) if (step.line <= line) state = step.state;
  if (state === 'unparsable') return 'an unparsable state';
  return `${xenbusStateName(state) ?? 'out-of-range'} (${state})`;
}

function sessionLastLine(session: DeviceSession): number {
  let last = session.firstLine;
  for (const role of ['frontend', 'backend', 'toolstack', 'other'] as const) {
    for (const item of session[role]) {
      const line = item.kind === 'transaction' ? (item.endLine ?? item.startLine) : item.line;
      last = Math.max(last, line);
    }
  }
  return last;
}

/** Where a session that did less than the model stopped, and the reason the trace shows. */
function partialStop(session: DeviceSession, short: Short, traceEnd: number): PartialStop {
  const summary = summarizeDevice(session);
  const teardown = teardownLine(session);
  const line = teardown ?? sessionLastLine(session);
  const seen = teardown ?? traceEnd;
  const states =
    `frontend ${stateAt(summary.frontendStates, seen)}, ` +
    `backend ${stateAt(summary.backendStates, seen)}`;
  const silent = !flatten(session.frontend).some((op) => op.kind === 'write');
  const reasons = [
    teardown !== undefined
      ? 'the toolstack removed the frontend directory (xl destroy, save or detach)'
      : `the trace ends (line ${traceEnd}) with the device still there`,
  ];
  if (silent)
    reasons.push(
      `guest ${session.domid}'s kernel never wrote to it (blkfront not loaded, or not yet)`,
    );
  const who = connectionLabel(session, short.role);
  return { states, line, why: reasons.join('; '), next: `${who} would write ${short.next}` };
}

interface RealWrite {
  readonly dir: DeviceDir;
  readonly key: string;
  readonly value: string;
  readonly line: number;
  readonly visibleLine: number;
}

/** A connection's visible writes to the device, in its own order, before the teardown. */
function realWrites(
  session: DeviceSession,
  role: ConnectionRole,
  throughTeardown = false,
): RealWrite[] {
  const before = throughTeardown
    ? Number.MAX_SAFE_INTEGER
    : (teardownLine(session) ?? Number.MAX_SAFE_INTEGER);
  const writes: RealWrite[] = [];
  for (const op of flatten(session[role])) {
    if (op.kind !== 'write' || op.visibleLine === null || op.visibleLine >= before) continue;
    if (op.key === '') continue;
    writes.push({
      dir: op.dir,
      key: op.key,
      value: op.value,
      line: op.line,
      visibleLine: op.visibleLine,
    });
  }
  if (role === 'toolstack') writes.sort((a, b) => a.visibleLine - b.visibleLine || a.line - b.line);
  return writes;
}

function modelWrites(
  model: ConnectionWrites,
  role: ConnectionRole,
  throughTeardown = false,
): ModelWrite[] {
  const before = throughTeardown
    ? Number.MAX_SAFE_INTEGER
    : (model.teardownGroup ?? Number.MAX_SAFE_INTEGER);
  return model[role].filter((write) => write.group < before);
}

/** The model's writes for this session beside the real ones, connection by connection. */
export function compareWithModel(
  session: DeviceSession,
  model: ConnectionWrites | undefined,
  failure: string | undefined,
  /**
   * The session ended in a save the lineage restores: the model replays libxl's destroy of the
   * source, so blkback's writes after it (its Closed) are compared too. An `xl destroy` at the
   * end of a lineage is not replayed, so the comparison stops at the frontend directory's removal.
   */
  savedBackend = false,
): Comparison {
  if (failure !== undefined || model === undefined) {
    const found = divergence(session, {
      rule: 'model-failed',
      role: 'toolstack',
      line: session.firstLine,
      expected: 'the model to run this session to quiescence',
      found: failure ?? 'no session in the model run',
      why: 'the replay could not produce this session (see impl/world)',
    });
    return { divergence: found, count: 0, short: undefined };
  }
  let count = 0;
  let short: Short | undefined;
  for (const role of ['frontend', 'backend'] as const) {
    const compared = compareKernel(
      session,
      role,
      realWrites(session, role, savedBackend && role === 'backend'),
      modelWrites(model, role, savedBackend && role === 'backend'),
    );
    count += compared.count;
    if (compared.divergence !== undefined) return { ...compared, count };
    short ??= compared.short;
  }
  const toolstack = compareToolstack(
    session,
    realWrites(session, 'toolstack'),
    modelWrites(model, 'toolstack'),
  );
  return { ...toolstack, count: count + toolstack.count, short: short ?? toolstack.short };
}

/** A connection whose real writes are a strict prefix of the model's: what the model did next. */
export interface Short {
  readonly role: ConnectionRole;
  /** The model's next write (or transaction) on that connection, in protocol terms. */
  readonly next: string;
}

export interface Comparison {
  readonly divergence: Divergence | undefined;
  readonly count: number;
  /** The real session stopped before the model on some connection (none did anything else). */
  readonly short: Short | undefined;
}

function shownKey(role: ConnectionRole, dir: DeviceDir, key: string): string {
  return role === dir ? key : `${dir}/${key}`;
}

function sameWrite(real: RealWrite, model: ModelWrite): boolean {
  if (real.dir !== model.dir || real.key !== model.key) return false;
  if (opaqueKey(real.key)) return /^\d+$/.test(real.value) && /^\d+$/.test(model.value);
  return real.value === model.value;
}

/** A kernel's writes in order: the model's sequence and the driver's must be the same. */
function compareKernel(
  session: DeviceSession,
  role: 'frontend' | 'backend',
  real: readonly RealWrite[],
  model: readonly ModelWrite[],
): Comparison {
  const length = Math.max(real.length, model.length);
  const show = (w: { dir: DeviceDir; key: string; value: string }): string =>
    `${shownKey(role, w.dir, w.key)} = ${opaqueKey(w.key) ? '<any>' : w.value}`;
  for (let index = 0; index < length; index++) {
    const found = real[index];
    const expected = model[index];
    if (found !== undefined && expected !== undefined && sameWrite(found, expected)) continue;
    if (found === undefined && expected !== undefined) {
      // Prefix-closed: the real driver stopped here; everything it did was the model's.
      return { divergence: undefined, count: index, short: { role, next: show(expected) } };
    }
    return {
      short: undefined,
      count: index,
      divergence: divergence(session, {
        rule: 'model-writes',
        role,
        index,
        line: found?.line,
        expected: expected === undefined ? 'no further write' : `a write of ${show(expected)}`,
        found:
          found === undefined
            ? 'no further write'
            : `${shownKey(role, found.dir, found.key)} = ${found.value}`,
        why: 'the model configured like this run writes differently on this connection',
      }),
    };
  }
  return { divergence: undefined, count: length, short: undefined };
}

interface Group {
  readonly writes: string[];
  readonly line: number | undefined;
}

function groupsOf<T extends { dir: DeviceDir; key: string; value: string }>(
  writes: readonly T[],
  groupOf: (write: T) => number,
  lineOf: (write: T) => number | undefined,
): Group[] {
  const groups: Group[] = [];
  let current: number | undefined;
  for (const write of writes) {
    if (!TOOLSTACK_COMPARED_KEYS.has(write.key)) continue;
    const text = `${write.dir}/${write.key} = ${write.value}`;
    if (groupOf(write) !== current || groups.length === 0) {
      current = groupOf(write);
      groups.push({ writes: [], line: lineOf(write) });
    }
    groups[groups.length - 1]!.writes.push(text);
  }
  for (const group of groups) group.writes.sort();
  return groups;
}

/**
 * dom0 userspace is several connections (libxl, each hotplug script run), so only the order of
 * what became visible together means anything: each transaction is compared as a set.
 */
function compareToolstack(
  session: DeviceSession,
  real: readonly RealWrite[],
  model: readonly ModelWrite[],
): Comparison {
  const realGroups = groupsOf(
    real,
    (w) => w.visibleLine,
    (w) => w.line,
  );
  const modelGroups = groupsOf(
    model,
    (w) => w.group,
    () => undefined,
  );
  const length = Math.max(realGroups.length, modelGroups.length);
  let count = 0;
  for (let index = 0; index < length; index++) {
    const found = realGroups[index];
    const expected = modelGroups[index];
    const same =
      found !== undefined &&
      expected !== undefined &&
      found.writes.join('\n') === expected.writes.join('\n');
    if (same) {
      count += found.writes.length;
      continue;
    }
    if (found === undefined && expected !== undefined) {
      const next = `{${expected.writes.join(', ')}}`;
      return { divergence: undefined, count, short: { role: 'toolstack', next } };
    }
    return {
      short: undefined,
      count,
      divergence: divergence(session, {
        rule: 'model-writes',
        role: 'toolstack',
        index,
        line: found?.line,
        expected: expected === undefined ? 'no further change' : `{${expected.writes.join(', ')}}`,
        found: found === undefined ? 'no further change' : `{${found.writes.join(', ')}}`,
        why: 'the model toolstack changes the protocol keys differently at this point',
      }),
    };
  }
  return { divergence: undefined, count, short: undefined };
}
