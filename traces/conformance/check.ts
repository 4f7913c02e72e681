// Structural conformance of one device session of a real xenstored trace to the model's rules,
// without running the model: every state change is a legal edge of model/xenbus-state.ts with
// the right writer; the frontend's queue count, ring order and key layout follow negotiate_mq /
// talk_to_blkback (model/negotiate.ts, keyLayout) from what it read; blkback's connect reads are
// those of validateFrontendKeys (connect_ring, read_per_ring_refs) in that order, and its writes
// those model/xenstore-keys.ts lists for the world's blkback too (BACKEND_PROBE_KEYS,
// backendConnectKeys: xen_blkbk_probe's features, connect()'s transaction).
// The first divergence, by trace line, is reported in protocol terms.

import {
  type BackendLimits,
  NOT_ADVERTISED,
  validateFrontendKeys,
  XENBUS_MAX_RING_GRANT_ORDER,
} from '../../model/negotiate.ts';
import { isLegalTransition, type StateWriter, xenbusStateName } from '../../model/xenbus-state.ts';
import {
  BACKEND_PROBE_KEYS,
  BE,
  backendConnectKeys,
  FE,
  type KeyTemplate,
  keyLayout,
  readUnsigned,
  XEN_IO_PROTO_ABI_X86_32,
  XEN_IO_PROTO_ABI_X86_64,
} from '../../model/xenstore-keys.ts';
import type {
  DeviceDir,
  DeviceOp,
  DeviceRole,
  DeviceSession,
  ReadResult,
  SequenceItem,
} from './extract.ts';
import {
  type KeyRead,
  type KeyRound,
  type KeyWrite,
  lastRead,
  summarizeDevice,
} from './summarize-device.ts';

/** Which rule a divergence breaks; stable codes for tests and scripts. */
export type ConformRule =
  | 'illegal-transition'
  | 'queue-count'
  | 'ring-page-order'
  | 'key-layout'
  | 'backend-reads'
  | 'backend-writes'
  | 'model-writes'
  | 'model-failed';

export interface Divergence {
  readonly rule: ConformRule;
  /** 'vbd 1/51712', with ' (re-attach N)' for a later session of the same directories. */
  readonly device: string;
  /** The xenstore connection, e.g. "guest 1's kernel (blkfront)". */
  readonly connection: string;
  /** Position in the compared sequence (0-based), when the rule compares sequences. */
  readonly index: number | undefined;
  /** Trace line of the offending request; undefined when the trace lacks what was expected. */
  readonly line: number | undefined;
  readonly expected: string;
  readonly found: string;
  /** One line, in protocol terms, naming the rule. */
  readonly message: string;
}

export function deviceLabel(session: DeviceSession): string {
  const again = session.generation > 0 ? ` (re-attach ${session.generation})` : '';
  return `vbd ${session.domid}/${session.devid}${again}`;
}

export function connectionLabel(session: DeviceSession, role: DeviceRole): string {
  switch (role) {
    case 'frontend':
      return `guest ${session.domid}'s kernel (blkfront)`;
    case 'backend':
      return "dom0's kernel (blkback)";
    case 'toolstack':
      return 'dom0 userspace (libxl, hotplug script)';
    case 'other':
      return 'another connection';
  }
}

interface DivergenceFields {
  readonly rule: ConformRule;
  readonly role: DeviceRole;
  readonly index?: number;
  readonly line: number | undefined;
  readonly expected: string;
  readonly found: string;
  readonly why: string;
}

export function divergence(session: DeviceSession, fields: DivergenceFields): Divergence {
  const device = deviceLabel(session);
  const connection = connectionLabel(session, fields.role);
  const at = fields.line === undefined ? '' : ` (line ${fields.line})`;
  const position = fields.index === undefined ? '' : ` #${fields.index}`;
  return {
    rule: fields.rule,
    device,
    connection,
    index: fields.index,
    line: fields.line,
    expected: fields.expected,
    found: fields.found,
    message:
      `${fields.rule}: ${device}, ${connection}${position}${at}: expected ${fields.expected}, ` +
      `found ${fields.found} — ${fields.why}`,
  };
}

/** Every structural rule over one session; the divergence with the earliest line, if any. */
export function checkSession(session: DeviceSession): Divergence | undefined {
  const summary = summarizeDevice(session);
  const found: Divergence[] = [];
  for (const dir of ['frontend', 'backend'] as const) push(found, checkStates(session, dir));
  for (const round of summary.frontend.rounds) push(found, checkFrontendRound(session, round));
  push(found, checkBackendFeatures(session, summary.backend.writes));
  for (const round of summary.backend.rounds) {
    push(found, checkBackendReads(session, round, summary.backend.writes));
    push(found, checkConnectWrites(session, round));
  }
  let first: Divergence | undefined;
  for (const candidate of found) {
    if (first === undefined || (candidate.line ?? Infinity) < (first.line ?? Infinity)) {
      first = candidate;
    }
  }
  return first;
}

function push(into: Divergence[], found: Divergence | undefined): void {
  if (found !== undefined) into.push(found);
}

/** Ops in the connection's order, transactions opened in place. */
export function flatten(sequence: readonly SequenceItem[]): DeviceOp[] {
  const ops: DeviceOp[] = [];
  for (const item of sequence) {
    if (item.kind === 'transaction') ops.push(...item.ops);
    else ops.push(item);
  }
  return ops;
}

const WRITERS: Record<DeviceRole, readonly StateWriter[]> = {
  // The guest kernel writes the frontend's state as blkfront or as xenbus on its behalf; the
  // line cannot tell them apart, so either edge is accepted.
  frontend: ['frontend', 'xenbus'],
  backend: ['backend', 'xenbus'],
  toolstack: ['toolstack'],
  other: [],
};

interface StateChange {
  readonly to: number | 'unparsable';
  readonly role: DeviceRole;
  readonly line: number;
  readonly visibleLine: number;
}

/** State writes and directory removals of one end, in visibility order. */
function stateChanges(session: DeviceSession, dir: DeviceDir): StateChange[] {
  const changes: StateChange[] = [];
  for (const sequence of [session.frontend, session.backend, session.toolstack, session.other]) {
    for (const op of flatten(sequence)) {
      if (op.dir !== dir) continue;
      if (op.kind === 'write' && op.state !== null && op.visibleLine !== null) {
        changes.push({ to: op.state, role: op.by, line: op.line, visibleLine: op.visibleLine });
      } else if (
        op.kind === 'mutation' &&
        op.op === 'RM' &&
        op.key === '' &&
        op.visibleLine !== null
      ) {
        // A missing node reads Unknown (xenbus_read_driver_state).
        changes.push({ to: 0, role: op.by, line: op.line, visibleLine: op.visibleLine });
      }
    }
  }
  return changes.sort((a, b) => a.visibleLine - b.visibleLine || a.line - b.line);
}

function stateText(state: number | 'unparsable'): string {
  if (state === 'unparsable') return 'an unparsable state';
  return `${xenbusStateName(state) ?? 'out-of-range'} (${state})`;
}

function checkStates(session: DeviceSession, dir: DeviceDir): Divergence | undefined {
  let from = 0;
  for (const change of stateChanges(session, dir)) {
    if (change.to === from) continue;
    const legal =
      change.to !== 'unparsable' &&
      WRITERS[change.role].some((writer) =>
        isLegalTransition(dir, from, change.to as number, writer),
      );
    if (!legal) {
      return divergence(session, {
        rule: 'illegal-transition',
        role: change.role,
        line: change.line,
        expected: `a legal ${dir} state change from ${stateText(from)}`,
        found: `${stateText(from)} → ${stateText(change.to)}`,
        why: `no edge of the ${dir} table in model/xenbus-state.ts has this writer`,
      });
    }
    from = change.to as number;
  }
  return undefined;
}

function readValue(result: ReadResult | undefined): string | undefined {
  return result?.kind === 'value' ? result.value : undefined;
}

function shown(value: number | undefined): string {
  return value === undefined ? 'absent' : String(value);
}

/** talk_to_blkback's transaction: negotiated from what the frontend read just before. */
function checkFrontendRound(session: DeviceSession, round: KeyRound): Divergence | undefined {
  const beQueues = readUnsigned(readValue(lastRead(round.readsBefore, BE.multiQueueMaxQueues)));
  const beOrder = readUnsigned(readValue(lastRead(round.readsBefore, BE.maxRingPageOrder)));
  const writes = round.writes.filter((write) => write.key !== FE.state);
  const numQueues = writes.find((write) => write.key === FE.multiQueueNumQueues);
  const queueCount = numQueues === undefined ? 1 : readUnsigned(numQueues.value);
  const queueMax = Math.max(1, beQueues ?? NOT_ADVERTISED.queueCount);
  if (queueCount === undefined || queueCount < 1 || queueCount > queueMax) {
    return divergence(session, {
      rule: 'queue-count',
      role: 'frontend',
      line: numQueues?.line,
      expected: queueMax === 1 ? 'one queue with flat keys' : `1..${queueMax} queues`,
      found: `multi-queue-num-queues ${numQueues?.value ?? 'absent'}`,
      why:
        `negotiate_mq gives min(backend multi-queue-max-queues, frontend max) and the ` +
        `frontend read multi-queue-max-queues ${shown(beQueues)}`,
    });
  }
  const orderWrite = writes.find((write) => write.key === FE.ringPageOrder);
  const order = orderWrite === undefined ? 0 : readUnsigned(orderWrite.value);
  const orderMax = Math.min(beOrder ?? NOT_ADVERTISED.ringPageOrder, XENBUS_MAX_RING_GRANT_ORDER);
  if (order === undefined || order > orderMax) {
    return divergence(session, {
      rule: 'ring-page-order',
      role: 'frontend',
      line: orderWrite?.line,
      expected: `ring-page-order 0..${orderMax}`,
      found: `ring-page-order ${orderWrite?.value ?? 'absent'}`,
      why:
        `talk_to_blkback takes min(frontend max, backend max-ring-page-order) and the ` +
        `frontend read max-ring-page-order ${shown(beOrder)}`,
    });
  }
  return checkLayout(session, writes, keyLayout(queueCount, order), round.endLine);
}

function checkLayout(
  session: DeviceSession,
  writes: readonly KeyWrite[],
  layout: readonly KeyTemplate[],
  endLine: number,
): Divergence | undefined {
  const length = Math.max(writes.length, layout.length);
  for (let index = 0; index < length; index++) {
    const write = writes[index];
    const template = layout[index];
    if (template !== undefined && write !== undefined && fitsTemplate(write, template)) continue;
    return divergence(session, {
      rule: 'key-layout',
      role: 'frontend',
      index,
      line: write?.line ?? endLine,
      expected: template === undefined ? 'no more keys' : describeTemplate(template),
      found: write === undefined ? 'the end of the transaction' : `${write.key} = ${write.value}`,
      why: 'talk_to_blkback writes exactly keyLayout(queues, ring-page-order) in one transaction',
    });
  }
  return undefined;
}

function fitsTemplate(write: KeyWrite, template: KeyTemplate): boolean {
  if (write.key !== template.path) return false;
  const value = template.value;
  switch (value.kind) {
    case 'number':
      return write.value === String(value.value);
    case 'ringRef':
    case 'eventChannel':
      // Grant references and ports are the guest's choice: any unsigned value.
      return /^\d+$/.test(write.value);
    case 'protocol':
      return write.value === XEN_IO_PROTO_ABI_X86_64 || write.value === XEN_IO_PROTO_ABI_X86_32;
    case 'featurePersistent':
      return write.value === '0' || write.value === '1';
  }
}

function describeTemplate(template: KeyTemplate): string {
  const value = template.value;
  switch (value.kind) {
    case 'number':
      return `${template.path} = ${value.value}`;
    case 'ringRef':
      return `${template.path} = <grant ref>`;
    case 'eventChannel':
      return `${template.path} = <port>`;
    case 'protocol':
      return `${template.path} = <ABI>`;
    case 'featurePersistent':
      return `${template.path} = 0|1`;
  }
}

const PROBE_KEYS: readonly string[] = BACKEND_PROBE_KEYS;

/** Before its first state change blkback writes only its probe keys, once each, in order. */
function checkBackendFeatures(
  session: DeviceSession,
  writes: readonly KeyWrite[],
): Divergence | undefined {
  let next = 0;
  for (const [index, write] of writes.entries()) {
    if (write.key === BE.state) return undefined;
    const at = PROBE_KEYS.indexOf(write.key, next);
    if (at < 0) {
      return divergence(session, {
        rule: 'backend-writes',
        role: 'backend',
        index,
        line: write.line,
        expected: `one of ${PROBE_KEYS.slice(next).join(', ') || 'no more keys'} before InitWait`,
        found: `${write.key} = ${write.value}`,
        why: 'xen_blkbk_probe advertises its limits once, in this order, then switches to InitWait',
      });
    }
    next = at + 1;
  }
  return undefined;
}

function checkConnectWrites(session: DeviceSession, round: KeyRound): Divergence | undefined {
  const writes = round.writes.filter((write) => write.key !== BE.state);
  const expected = backendConnectKeys(writes.some((write) => write.key === BE.discardGranularity));
  const length = Math.max(writes.length, expected.length);
  for (let index = 0; index < length; index++) {
    const write = writes[index];
    if (write !== undefined && write.key === expected[index]) continue;
    return divergence(session, {
      rule: 'backend-writes',
      role: 'backend',
      index,
      line: write?.line ?? round.endLine,
      expected: expected[index] ?? 'no more keys',
      found: write === undefined ? 'the end of the transaction' : `${write.key} = ${write.value}`,
      why: "connect() writes the device's features and geometry in one transaction, in this order",
    });
  }
  return undefined;
}

/**
 * connect_ring's reads: replay validateFrontendKeys against the answers blkback actually got and
 * require the same keys in the same order, starting at its read of `protocol`. The backend's
 * limits are what it advertised; its feature_persistent parameter is not in the trace and is
 * taken as on when it read the frontend's feature-persistent (Linux skips the read when off).
 */
function checkBackendReads(
  session: DeviceSession,
  round: KeyRound,
  ownWrites: readonly KeyWrite[],
): Divergence | undefined {
  const reads = round.readsBefore;
  let start = -1;
  for (let index = reads.length - 1; index >= 0; index--) {
    if (reads[index]!.key === FE.protocol) {
      start = index;
      break;
    }
  }
  const window = start < 0 ? [] : reads.slice(start);
  const expected = expectedConnectReads(window, advertisedLimits(ownWrites, round, window));
  for (let index = 0; index < expected.length; index++) {
    const read = window[index];
    if (read !== undefined && read.key === expected[index]) continue;
    return divergence(session, {
      rule: 'backend-reads',
      role: 'backend',
      index,
      line: read?.line ?? round.endLine,
      expected: `a read of ${expected[index]}`,
      found: read === undefined ? 'no such read before connect' : `a read of ${read.key}`,
      why: 'connect_ring / read_per_ring_refs read the frontend keys in this order',
    });
  }
  return undefined;
}

function advertisedLimits(
  ownWrites: readonly KeyWrite[],
  round: KeyRound,
  window: readonly KeyRead[],
): BackendLimits {
  let queueCountMax: number | undefined;
  let ringPageOrderMax: number | undefined;
  for (const write of ownWrites) {
    if (write.visibleLine >= round.endLine) break;
    if (write.key === BE.multiQueueMaxQueues) queueCountMax = readUnsigned(write.value);
    if (write.key === BE.maxRingPageOrder) ringPageOrderMax = readUnsigned(write.value);
  }
  return {
    queueCountMax: queueCountMax ?? NOT_ADVERTISED.queueCount,
    ringPageOrderMax: ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder,
    persistent: window.some((read) => read.key === FE.featurePersistent),
  };
}

function expectedConnectReads(window: readonly KeyRead[], limits: BackendLimits): string[] {
  const answers = new Map<string, string | undefined>();
  for (const read of window) {
    if (!answers.has(read.key)) answers.set(read.key, readValue(read.result));
  }
  const asked: string[] = [];
  validateFrontendKeys(
    (key) => {
      asked.push(key);
      return answers.get(key);
    },
    limits,
    'frontend',
  );
  return asked;
}
