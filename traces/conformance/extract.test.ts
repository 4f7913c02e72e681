import { describe, expect, it } from 'vitest';
import { absolutePath, type DeviceSession, extractDevices, type SequenceItem } from './extract.ts';
import { parseXsTrace } from './parse-xs-trace.ts';
import { readScenario1 } from './scenario-files.ts';
import { type DeviceSummary, type KeyRead, lastRead, summarizeDevice } from './summarize-device.ts';

const T = '20261122 23:03:19';

function sessionsOf(text: string): DeviceSession[] {
  const parsed = parseXsTrace(text);
  if (!parsed.ok) throw new Error(`line ${parsed.error.line}: ${parsed.error.message}`);
  return extractDevices(parsed.value);
}

function find(sessions: readonly DeviceSession[], domid: number, devid: number): DeviceSession {
  const found = sessions.find((s) => s.domid === domid && s.devid === devid);
  if (found === undefined) throw new Error(`no session for vbd ${domid}/${devid}`);
  return found;
}

const values = (reads: readonly KeyRead[]) =>
  reads.map((r) => [
    r.key,
    r.result.kind === 'value' ? r.result.value : r.result.kind === 'error' ? r.result.errno : '-',
  ]);

const keysOf = (summary: DeviceSummary) => summary.frontend.rounds[0]!.writes.map((w) => w.key);

/** dom0 kernel, a dom0 client, and guest 3 introduced by that client. */
const PRELUDE = [
  'CREATE connection 0xa',
  'CREATE connection 0xb',
  `IN 0xb ${T} INTRODUCE (3 1 1 )`,
  'CREATE connection 0xc',
  `OUT 0xb ${T} INTRODUCE (OK )`,
];

function request(connection: string, op: string, payload: string, reply: string): string[] {
  return [`IN ${connection} ${T} ${op} (${payload})`, `OUT ${connection} ${T} ${reply}`];
}

describe('extractDevices on small traces', () => {
  it('resolves relative paths against the issuing domain', () => {
    expect(absolutePath({ kind: 'guest', domid: 3 }, 'device/vbd/5/state')).toBe(
      '/local/domain/3/device/vbd/5/state',
    );
    expect(absolutePath({ kind: 'dom0-kernel' }, 'backend/vbd/3/5')).toBe(
      '/local/domain/0/backend/vbd/3/5',
    );
    expect(absolutePath({ kind: 'dom0-user', id: 1 }, '@releaseDomain')).toBe('@releaseDomain');
  });

  it('marks aborted and conflicting transactions, keeping their writes out of the summary', () => {
    const lines = [
      ...PRELUDE,
      ...request('0xb', 'WRITE', '/local/domain/3/device/vbd/5/state 1', 'WRITE (OK )'),
      ...request('0xc', 'TRANSACTION_START', ' ', 'TRANSACTION_START (9 )'),
      ...request('0xc', 'WRITE', 'device/vbd/5/state 3', 'WRITE (OK )'),
      ...request('0xc', 'TRANSACTION_END', 'F ', 'TRANSACTION_END (OK )'),
      ...request('0xc', 'TRANSACTION_START', ' ', 'TRANSACTION_START (10 )'),
      ...request('0xc', 'WRITE', 'device/vbd/5/state 3', 'WRITE (OK )'),
      ...request('0xc', 'TRANSACTION_END', 'T ', 'ERROR (EAGAIN )'),
      ...request('0xc', 'TRANSACTION_START', ' ', 'TRANSACTION_START (11 )'),
      ...request(
        '0xc',
        'READ',
        '/local/domain/0/backend/vbd/3/5/multi-queue-max-queues ',
        'ERROR (ENOENT )',
      ),
      ...request('0xc', 'WRITE', 'device/vbd/5/ring-ref 8', 'WRITE (OK )'),
      ...request('0xc', 'WRITE', 'device/vbd/5/state 3', 'WRITE (OK )'),
      ...request('0xc', 'TRANSACTION_END', 'T ', 'TRANSACTION_END (OK )'),
    ];
    const session = find(sessionsOf(`${lines.join('\n')}\n`), 3, 5);
    const outcomes = session.frontend.map((item: SequenceItem) =>
      item.kind === 'transaction' ? [item.id, item.outcome] : item.kind,
    );
    expect(outcomes).toEqual([
      [9, 'aborted'],
      [10, 'conflict'],
      [11, 'committed'],
    ]);
    const summary = summarizeDevice(session);
    expect(summary.frontendStates.map((s) => [s.state, s.by])).toEqual([
      [1, 'toolstack'],
      [3, 'frontend'],
    ]);
    expect(summary.frontend.rounds).toHaveLength(1);
    expect(values(summary.frontend.rounds[0]!.readsBefore)).toEqual([
      ['multi-queue-max-queues', 'ENOENT'],
    ]);
    expect(lastRead(summary.frontend.reads, 'multi-queue-max-queues')).toEqual({
      kind: 'error',
      errno: 'ENOENT',
    });
  });

  it('starts a new session when the toolstack recreates a used backend directory', () => {
    const backend = '/local/domain/0/backend/vbd/3/5';
    const lines = [
      ...PRELUDE,
      ...request('0xb', 'MKDIR', `${backend} `, 'MKDIR (OK )'),
      ...request('0xa', 'WRITE', 'backend/vbd/3/5/state 2', 'WRITE (OK )'),
      ...request('0xb', 'RM', '/local/domain/0/backend/vbd/3 ', 'RM (OK )'),
      ...request('0xb', 'MKDIR', `${backend} `, 'MKDIR (OK )'),
      ...request('0xa', 'WRITE', 'backend/vbd/3/5/state 2', 'WRITE (OK )'),
    ];
    const sessions = sessionsOf(`${lines.join('\n')}\n`);
    expect(sessions.map((s) => s.generation)).toEqual([0, 1]);
    // The RM of an ancestor directory is part of the first session's story.
    expect(sessions[0]!.toolstack.map((op) => (op.kind === 'mutation' ? op.op : op.kind))).toEqual([
      'MKDIR',
      'RM',
    ]);
    expect(summarizeDevice(sessions[1]!).backendStates.map((s) => s.state)).toEqual([2]);
  });

  it('decodes a garbage state value as unparsable instead of failing', () => {
    const lines = [
      ...PRELUDE,
      ...request('0xc', 'WRITE', 'device/vbd/5/state connected', 'WRITE (OK )'),
    ];
    const summary = summarizeDevice(find(sessionsOf(`${lines.join('\n')}\n`), 3, 5));
    expect(summary.frontendStates.map((s) => s.state)).toEqual(['unparsable']);
  });
});

describe(`extractDevices on scenario-1 (Xen 4.17 + Linux 6.1)`, () => {
  const sessions = sessionsOf(readScenario1());

  it('finds the boot disk before and after restore, and the attached second disk', () => {
    expect(sessions.map((s) => [s.domid, s.devid, s.generation, s.previousDomid])).toEqual([
      [1, 51712, 0, null],
      [2, 51712, 0, 1],
      [2, 51728, 0, null],
    ]);
    expect(find(sessions, 2, 51712).backendPath).toBe('/local/domain/0/backend/vbd/2/51712');
  });

  it('guest 1: toolstack 1, frontend 3 then 4; backend 2, 4, 5 by the toolstack at save, 6', () => {
    const summary = summarizeDevice(find(sessions, 1, 51712));
    expect(summary.frontendStates.map((s) => [s.state, s.by])).toEqual([
      [1, 'toolstack'],
      [3, 'frontend'],
      [4, 'frontend'],
    ]);
    expect(summary.backendStates.map((s) => [s.state, s.by])).toEqual([
      [1, 'toolstack'],
      [2, 'backend'],
      [4, 'backend'],
      [5, 'toolstack'],
      [6, 'backend'],
    ]);
  });

  it('guest 1: frontend read multi-queue-max-queues 2, then wrote two queue-N/ key sets', () => {
    const summary = summarizeDevice(find(sessions, 1, 51712));
    const round = summary.frontend.rounds[0]!;
    expect(values(round.readsBefore)).toEqual([
      ['state', '2'],
      ['max-ring-page-order', '4'],
      ['multi-queue-max-queues', '2'],
    ]);
    expect(round.writes.map((w) => [w.key, w.value])).toEqual([
      ['multi-queue-num-queues', '2'],
      ['queue-0/ring-ref', '8'],
      ['queue-0/event-channel', '15'],
      ['queue-1/ring-ref', '9'],
      ['queue-1/event-channel', '16'],
      ['protocol', 'x86_64-abi'],
      ['feature-persistent', '1'],
    ]);
    // State 3 comes in a separate transaction, after the keys are visible.
    expect(summary.frontend.writes.find((w) => w.key === 'state')!.tx).not.toBe(round.tx);
  });

  it('guest 1: backend advertises before InitWait, reads event-channel before ring-ref', () => {
    const summary = summarizeDevice(find(sessions, 1, 51712));
    const beforeInitWait = summary.backend.writes.slice(0, 4).map((w) => [w.key, w.value]);
    expect(beforeInitWait).toEqual([
      ['feature-max-indirect-segments', '256'],
      ['multi-queue-max-queues', '2'],
      ['max-ring-page-order', '4'],
      ['state', '2'],
    ]);
    const connect = summary.backend.rounds[0]!;
    expect(values(connect.readsBefore).slice(-8)).toEqual([
      ['protocol', 'x86_64-abi'],
      ['feature-persistent', '1'],
      ['multi-queue-num-queues', '2'],
      ['ring-page-order', 'ENOENT'],
      ['queue-0/event-channel', '15'],
      ['queue-0/ring-ref', '8'],
      ['queue-1/event-channel', '16'],
      ['queue-1/ring-ref', '9'],
    ]);
    expect(connect.writes.map((w) => w.key)).toContain('feature-persistent');
    expect(connect.writes.map((w) => w.key)).not.toContain('state');
  });

  it('after restore (guest 2): read max-queues 1, wrote flat ring-ref/event-channel', () => {
    const summary = summarizeDevice(find(sessions, 2, 51712));
    const round = summary.frontend.rounds[0]!;
    expect(lastRead(round.readsBefore, 'multi-queue-max-queues')).toEqual({
      kind: 'value',
      value: '1',
    });
    expect(keysOf(summary)).toEqual([
      'ring-ref',
      'event-channel',
      'protocol',
      'feature-persistent',
    ]);
    expect(lastRead(summary.backend.reads, 'multi-queue-num-queues')).toEqual({
      kind: 'error',
      errno: 'ENOENT',
    });
    expect(summary.frontendStates.map((s) => s.state)).toEqual([1, 3, 4]);
    expect(summary.backendStates.map((s) => s.state)).toEqual([1, 2, 4, 5, 6]);
  });

  it('second disk 51728: two queues, then detach sends the frontend from 4 straight to 6', () => {
    const summary = summarizeDevice(find(sessions, 2, 51728));
    expect(lastRead(summary.frontend.rounds[0]!.readsBefore, 'multi-queue-max-queues')).toEqual({
      kind: 'value',
      value: '2',
    });
    expect(keysOf(summary).filter((k) => k.startsWith('queue-'))).toEqual([
      'queue-0/ring-ref',
      'queue-0/event-channel',
      'queue-1/ring-ref',
      'queue-1/event-channel',
    ]);
    expect(summary.frontendStates.map((s) => [s.state, s.by])).toEqual([
      [1, 'toolstack'],
      [3, 'frontend'],
      [4, 'frontend'],
      [6, 'frontend'],
    ]);
    expect(summary.backendStates.map((s) => s.state)).toEqual([1, 2, 4, 5, 6]);
    // libxl clears both directories before creating them, and removes them after detach.
    const removals = summary.toolstack.filter((m) => m.op === 'RM').map((m) => m.dir);
    expect(removals).toEqual(['frontend', 'backend', 'frontend', 'backend']);
    expect(summary.toolstack.at(-1)!.visibleLine).toBeGreaterThan(
      summary.backendStates.at(-1)!.line,
    );
  });
});
