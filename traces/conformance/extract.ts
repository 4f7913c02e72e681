// Per-device view of a parsed xenstored trace: for each vbd (backend directory
// /local/domain/0/backend/vbd/<domid>/<devid>, frontend directory
// /local/domain/<domid>/device/vbd/<devid>), what the frontend (guest <domid>'s kernel), the
// backend (dom0's kernel) and the toolstack (dom0 userspace) did to it, in the order each
// connection did it. This is plain data for the conformance checker: no model is consulted.
//
// Sessions: a save/restore gives the guest a new domid, hence a new frontend and backend
// directory and a new session. A second session with the same domid and devid starts when the
// toolstack recreates the backend directory (MKDIR) after dom0's kernel had already used it,
// as libxl does on re-attach (libxl__device_generic_add).

import type { ConnectionLabel, XsOpName, XsTraceEvent } from './parse-xs-trace.ts';

export type DeviceRole = 'frontend' | 'backend' | 'toolstack' | 'other';
export type DeviceDir = 'frontend' | 'backend';

export type ReadResult =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'error'; readonly errno: string }
  /** The connection closed before the reply. */
  | { readonly kind: 'none' };

interface OpBase {
  readonly line: number;
  readonly by: DeviceRole;
  readonly connection: ConnectionLabel;
  readonly connectionSerial: number;
  readonly dir: DeviceDir;
  /** Absolute path, relative paths resolved against the issuer's /local/domain/<id>/. */
  readonly path: string;
  /** Path below the device directory, '' for the directory itself. */
  readonly key: string;
  readonly tx: number | null;
}

export interface DeviceRead extends OpBase {
  readonly kind: 'read';
  readonly result: ReadResult;
}

export interface DeviceWrite extends OpBase {
  readonly kind: 'write';
  readonly value: string;
  /** For key 'state': the XenbusState number, or 'unparsable' (a peer wrote garbage). */
  readonly state: number | 'unparsable' | null;
  /** Where the value became visible: the reply, or the committing TRANSACTION_END; null when
   *  the write failed or its transaction was aborted. */
  readonly visibleLine: number | null;
  readonly result: ReadResult;
}

/** RM, MKDIR, SET_PERMS: mutations with no value worth decoding. */
export interface DeviceMutation extends OpBase {
  readonly kind: 'mutation';
  readonly op: XsOpName;
  readonly args: readonly string[];
  readonly visibleLine: number | null;
  readonly result: ReadResult;
}

/** DIRECTORY, WATCH, UNWATCH, GET_PERMS and any op the trace carried that we do not decode. */
export interface DeviceOther extends OpBase {
  readonly kind: 'other';
  readonly op: XsOpName;
  readonly args: readonly string[];
  readonly result: ReadResult;
}

export interface DeviceWatchEvent extends OpBase {
  readonly kind: 'watch-event';
  readonly token: string;
}

export type DeviceOp = DeviceRead | DeviceWrite | DeviceMutation | DeviceOther | DeviceWatchEvent;

export type TransactionOutcome = 'committed' | 'aborted' | 'conflict' | 'unfinished';

export interface DeviceTransaction {
  readonly kind: 'transaction';
  readonly id: number;
  readonly by: DeviceRole;
  readonly connection: ConnectionLabel;
  readonly connectionSerial: number;
  readonly startLine: number;
  /** Line of the TRANSACTION_END request; null when the trace never ends it. */
  readonly endLine: number | null;
  readonly outcome: TransactionOutcome;
  /** This device's ops inside the transaction, in request order. */
  readonly ops: DeviceOp[];
}

export type SequenceItem = DeviceOp | DeviceTransaction;

export interface DeviceSession {
  readonly domid: number;
  readonly devid: number;
  /** 0 for the first session of this (domid, devid), then 1, 2, ... on re-attach. */
  readonly generation: number;
  readonly frontendPath: string;
  readonly backendPath: string;
  readonly firstLine: number;
  /** The domid this guest kernel had before a save/restore: on resume Linux re-registers its
   *  old watches (xs_resume), so the restored kernel touches the old device's directories. */
  readonly previousDomid: number | null;
  /** Each sequence in the issuing connection's order; a transaction sits at its END. */
  readonly frontend: SequenceItem[];
  readonly backend: SequenceItem[];
  readonly toolstack: SequenceItem[];
  /** Ops on the device by another guest: a well-behaved run has none. */
  readonly other: SequenceItem[];
}

const BACKEND_RE = /^\/local\/domain\/0\/backend\/vbd\/(\d+)\/(\d+)(?:\/(.*))?$/;
const FRONTEND_RE = /^\/local\/domain\/(\d+)\/device\/vbd\/(\d+)(?:\/(.*))?$/;

/** Ops whose first argument is a path (xs_wire.h). */
const PATH_OPS: ReadonlySet<string> = new Set([
  'READ',
  'WRITE',
  'MKDIR',
  'RM',
  'DIRECTORY',
  'DIRECTORY_PART',
  'GET_PERMS',
  'SET_PERMS',
  'WATCH',
  'UNWATCH',
  'WATCH_EVENT',
]);
const MUTATION_OPS: ReadonlySet<string> = new Set(['RM', 'MKDIR', 'SET_PERMS']);

export function homeDomid(label: ConnectionLabel): number {
  return label.kind === 'guest' ? label.domid : 0;
}

/** xenstored resolves a relative path against the caller's home (canonicalize()). */
export function absolutePath(label: ConnectionLabel, path: string): string {
  if (path.startsWith('/') || path.startsWith('@')) return path;
  return `/local/domain/${homeDomid(label)}/${path}`;
}

interface DeviceRef {
  readonly domid: number;
  readonly devid: number;
  readonly dir: DeviceDir;
  readonly key: string;
}

export function classifyPath(path: string): DeviceRef | null {
  const backend = BACKEND_RE.exec(path);
  if (backend !== null) {
    return {
      domid: Number(backend[1]),
      devid: Number(backend[2]),
      dir: 'backend',
      key: backend[3] ?? '',
    };
  }
  const frontend = FRONTEND_RE.exec(path);
  if (frontend !== null) {
    return {
      domid: Number(frontend[1]),
      devid: Number(frontend[2]),
      dir: 'frontend',
      key: frontend[3] ?? '',
    };
  }
  return null;
}

export function roleOf(label: ConnectionLabel, domid: number): DeviceRole {
  if (label.kind === 'dom0-kernel') return 'backend';
  if (label.kind === 'dom0-user') return 'toolstack';
  return label.domid === domid ? 'frontend' : 'other';
}

interface TxInfo {
  readonly startLine: number;
  readonly endLine: number | null;
  readonly outcome: TransactionOutcome;
  /** Where committed writes became visible: the TRANSACTION_END reply. */
  readonly commitLine: number | null;
}

function txKey(serial: number, id: number): string {
  return `${serial}:${id}`;
}

/** Outcome of every transaction, so a write can be marked visible or not as it is met. */
function transactionsOf(events: readonly XsTraceEvent[]): Map<string, TxInfo> {
  const starts = new Map<string, number>();
  const infos = new Map<string, TxInfo>();
  for (const event of events) {
    if (event.tx === null) continue;
    const key = txKey(event.connectionSerial, event.tx);
    if (event.op === 'TRANSACTION_START') {
      starts.set(key, event.line);
      infos.set(key, {
        startLine: event.line,
        endLine: null,
        outcome: 'unfinished',
        commitLine: null,
      });
    } else if (event.op === 'TRANSACTION_END') {
      const commit = event.args[0] === 'T';
      const reply = event.reply;
      let outcome: TransactionOutcome = 'unfinished';
      if (reply.kind === 'ok') outcome = commit ? 'committed' : 'aborted';
      else if (reply.kind === 'error') outcome = commit ? 'conflict' : 'aborted';
      const commitLine = outcome === 'committed' && reply.kind === 'ok' ? reply.line : null;
      infos.set(key, {
        startLine: starts.get(key) ?? event.line,
        endLine: event.line,
        outcome,
        commitLine,
      });
    }
  }
  return infos;
}

function resultOf(event: XsTraceEvent): ReadResult {
  const reply = event.reply;
  if (reply.kind === 'ok') return { kind: 'value', value: reply.args.join(' ') };
  if (reply.kind === 'error') return { kind: 'error', errno: reply.errno };
  return { kind: 'none' };
}

export function decodeState(value: string): number | 'unparsable' {
  // xenbus_read_driver_state() scans "%d"; anything else leaves the state unknown.
  return /^\d{1,10}$/.test(value) ? Number(value) : 'unparsable';
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface SessionBuild {
  readonly session: DeviceSession;
  readonly transactions: Map<string, Mutable<DeviceTransaction>>;
  removedFrontend: boolean;
  removedBackend: boolean;
}

interface Extraction {
  readonly transactions: Map<string, TxInfo>;
  readonly current: Map<string, SessionBuild>;
  readonly all: SessionBuild[];
}

export function extractDevices(events: readonly XsTraceEvent[]): DeviceSession[] {
  const state: Extraction = { transactions: transactionsOf(events), current: new Map(), all: [] };
  for (const event of events) {
    if (!PATH_OPS.has(event.op)) continue;
    const rawPath = event.args[0];
    if (rawPath === undefined) continue;
    const path = absolutePath(event.connection, rawPath);
    const ref = classifyPath(path);
    if (ref !== null) {
      const build = sessionFor(state, ref, event);
      add(state, build, makeOp(state, event, path, ref));
    } else if (event.op === 'RM') {
      removeAncestor(state, event, path);
    }
  }
  for (const build of state.all) {
    for (const sequence of [
      build.session.frontend,
      build.session.backend,
      build.session.toolstack,
    ]) {
      sequence.sort((a, b) => positionOf(a) - positionOf(b));
    }
    build.session.other.sort((a, b) => positionOf(a) - positionOf(b));
  }
  linkRestores(state.all);
  return state.all.map((build) => build.session);
}

function linkRestores(builds: readonly SessionBuild[]): void {
  for (const build of builds) {
    for (const item of build.session.other) {
      if (item.connection.kind !== 'guest') continue;
      const domid = item.connection.domid;
      const devid = build.session.devid;
      for (const later of builds) {
        const session: Mutable<DeviceSession> = later.session;
        if (session.domid === domid && session.devid === devid)
          session.previousDomid = build.session.domid;
      }
    }
  }
}

function positionOf(item: SequenceItem): number {
  if (item.kind !== 'transaction') return item.line;
  return item.endLine ?? Number.MAX_SAFE_INTEGER;
}

function sessionFor(state: Extraction, ref: DeviceRef, event: XsTraceEvent): SessionBuild {
  const id = `${ref.domid}/${ref.devid}`;
  const found = state.current.get(id);
  const recreated =
    found !== undefined &&
    event.op === 'MKDIR' &&
    event.connection.kind === 'dom0-user' &&
    ref.dir === 'backend' &&
    ref.key === '' &&
    found.session.backend.length > 0;
  if (found !== undefined && !recreated) return found;
  const build: SessionBuild = {
    session: {
      domid: ref.domid,
      devid: ref.devid,
      generation: found === undefined ? 0 : found.session.generation + 1,
      frontendPath: `/local/domain/${ref.domid}/device/vbd/${ref.devid}`,
      backendPath: `/local/domain/0/backend/vbd/${ref.domid}/${ref.devid}`,
      firstLine: event.line,
      previousDomid: null,
      frontend: [],
      backend: [],
      toolstack: [],
      other: [],
    },
    transactions: new Map(),
    removedFrontend: false,
    removedBackend: false,
  };
  state.current.set(id, build);
  state.all.push(build);
  return build;
}

/** An RM of /local/domain/<domid> or of backend/vbd/<domid> removes the device's directories. */
function removeAncestor(state: Extraction, event: XsTraceEvent, path: string): void {
  const prefix = `${path}/`;
  for (const build of state.current.values()) {
    const session = build.session;
    if (!build.removedFrontend && session.frontendPath.startsWith(prefix)) {
      add(state, build, makeOp(state, event, path, { ...session, dir: 'frontend', key: '' }));
    }
    if (!build.removedBackend && session.backendPath.startsWith(prefix)) {
      add(state, build, makeOp(state, event, path, { ...session, dir: 'backend', key: '' }));
    }
  }
}

function add(state: Extraction, build: SessionBuild, op: DeviceOp): void {
  // libxl removes both directories before it creates them, and again on detach or destroy.
  const visible = (op.kind === 'mutation' || op.kind === 'write') && op.visibleLine !== null;
  if (visible) {
    const removed = op.kind === 'mutation' && op.op === 'RM' && op.key === '';
    if (op.dir === 'frontend') build.removedFrontend = removed;
    else build.removedBackend = removed;
  }
  const session = build.session;
  const sequence = session[op.by];
  if (op.tx === null) {
    sequence.push(op);
    return;
  }
  const key = txKey(op.connectionSerial, op.tx);
  let transaction = build.transactions.get(key);
  if (transaction === undefined) {
    const info = state.transactions.get(key);
    transaction = {
      kind: 'transaction',
      id: op.tx,
      by: op.by,
      connection: op.connection,
      connectionSerial: op.connectionSerial,
      startLine: info?.startLine ?? op.line,
      endLine: info?.endLine ?? null,
      outcome: info?.outcome ?? 'unfinished',
      ops: [],
    };
    build.transactions.set(key, transaction);
    sequence.push(transaction);
  }
  transaction.ops.push(op);
}

function visibleLineOf(state: Extraction, event: XsTraceEvent): number | null {
  if (event.reply.kind !== 'ok') return null;
  if (event.tx === null) return event.reply.line;
  return state.transactions.get(txKey(event.connectionSerial, event.tx))?.commitLine ?? null;
}

function makeOp(state: Extraction, event: XsTraceEvent, path: string, ref: DeviceRef): DeviceOp {
  const base: OpBase = {
    line: event.line,
    by: roleOf(event.connection, ref.domid),
    connection: event.connection,
    connectionSerial: event.connectionSerial,
    dir: ref.dir,
    path,
    key: ref.key,
    tx: event.tx,
  };
  const result = resultOf(event);
  switch (event.op) {
    case 'READ':
      return { ...base, kind: 'read', result };
    case 'WRITE': {
      const value = event.args[1] ?? '';
      const state_ = ref.key === 'state' ? decodeState(value) : null;
      return {
        ...base,
        kind: 'write',
        value,
        state: state_,
        visibleLine: visibleLineOf(state, event),
        result,
      };
    }
    case 'WATCH_EVENT':
      return { ...base, kind: 'watch-event', token: event.args[1] ?? '' };
    default:
      if (MUTATION_OPS.has(event.op)) {
        const visibleLine = visibleLineOf(state, event);
        return { ...base, kind: 'mutation', op: event.op, args: event.args, visibleLine, result };
      }
      return { ...base, kind: 'other', op: event.op, args: event.args, result };
  }
}
