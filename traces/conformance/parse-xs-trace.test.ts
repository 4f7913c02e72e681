import { describe, expect, it } from 'vitest';
import { type ConnectionLabel, parseXsTrace, type XsTraceEvent } from './parse-xs-trace.ts';
import { readScenario1 } from './scenario-files.ts';

const T = '20261122 23:03:19';

function trace(lines: readonly string[]): string {
  return `${lines.join('\n')}\n`;
}

function parsed(lines: readonly string[]): XsTraceEvent[] {
  const result = parseXsTrace(trace(lines));
  if (!result.ok)
    throw new Error(`unexpected issue: line ${result.error.line}: ${result.error.message}`);
  return result.value;
}

function issueOf(text: string) {
  const result = parseXsTrace(text);
  if (result.ok) throw new Error('expected a ParseIssue');
  return result.error;
}

describe('parseXsTrace on small traces', () => {
  const dom0 = [
    'CREATE connection 0xa',
    `IN 0xa ${T} WATCH (backend tok )`,
    `OUT 0xa ${T} WATCH (OK )`,
  ];

  it('pairs replies in request order, keeps watch events apart and skips noise', () => {
    const events = parsed([
      '***',
      'CREATE connection 0xa',
      'wrl: dom    0     14  msec      10000 credit       -7200 reserve          0 discard',
      `IN 0xa ${T} READ (memory/target )`,
      `IN 0xa ${T} WRITE (control/feature-poweroff 1)`,
      `OUT 0xa ${T} WATCH_EVENT (memory/target FFFF )`,
      `OUT 0xa ${T} READ (163840)`,
      `OUT 0xa ${T} ERROR (EACCES )`,
      'CREATE watch 0x5',
      // ignore_connection: a client that hung up with a request in flight (a real capture had it).
      'CONN 0xa ignored, reason 2',
    ]);
    expect(events.map((e) => [e.line, e.op, e.args])).toEqual([
      [4, 'READ', ['memory/target']],
      [5, 'WRITE', ['control/feature-poweroff', '1']],
      [6, 'WATCH_EVENT', ['memory/target', 'FFFF']],
    ]);
    expect(events[0]!.reply).toEqual({ kind: 'ok', args: ['163840'], line: 7 });
    expect(events[1]!.reply).toEqual({ kind: 'error', errno: 'EACCES', line: 8 });
    expect(events[2]!.reply).toEqual({ kind: 'none' });
  });

  it('keeps spaces in WRITE values and READ answers, and empty values', () => {
    const events = parsed([
      ...dom0,
      `IN 0xa ${T} WRITE (params /dev/disk/by-id/a b)`,
      `OUT 0xa ${T} WRITE (OK )`,
      `IN 0xa ${T} READ (params )`,
      `OUT 0xa ${T} READ (/dev/disk/by-id/a b)`,
      `IN 0xa ${T} WRITE (control/shutdown )`,
      `OUT 0xa ${T} WRITE (OK )`,
      `IN 0xa ${T} DIRECTORY (device/vbd/1/state )`,
      `OUT 0xa ${T} DIRECTORY ()`,
    ]);
    expect(events[1]!.args).toEqual(['params', '/dev/disk/by-id/a b']);
    expect(events[2]!.reply).toMatchObject({ kind: 'ok', args: ['/dev/disk/by-id/a b'] });
    expect(events[3]!.args).toEqual(['control/shutdown', '']);
    expect(events[4]!.reply).toMatchObject({ kind: 'ok', args: [] });
  });

  it('labels dom0 kernel, the guest created during INTRODUCE, and clients per lifetime', () => {
    const events = parsed([
      ...dom0,
      'CREATE connection 0xb',
      `IN 0xb ${T} INTRODUCE (7 732161 1 )`,
      'CREATE connection 0xc',
      `OUT 0xb ${T} INTRODUCE (OK )`,
      `IN 0xc ${T} READ (device/vbd/51712/state )`,
      `OUT 0xc ${T} READ (1)`,
      'DESTROY connection 0xb',
      'CREATE connection 0xb',
      `IN 0xb ${T} READ (/local/domain/7/device/vbd/51712/state )`,
      `OUT 0xb ${T} READ (1)`,
    ]);
    const labels: ConnectionLabel[] = events.map((e) => e.connection);
    expect(labels).toEqual([
      { kind: 'dom0-kernel' },
      { kind: 'dom0-user', id: 1 },
      { kind: 'guest', domid: 7 },
      // Same heap address after DESTROY: a new client, not the old one.
      { kind: 'dom0-user', id: 2 },
    ]);
  });

  it('infers transactions from the START reply to the END request', () => {
    const events = parsed([
      ...dom0,
      `IN 0xa ${T} TRANSACTION_START ( )`,
      // Sent before the START reply: it cannot carry the new id.
      `IN 0xa ${T} WRITE (control/feature-poweroff 1)`,
      `OUT 0xa ${T} TRANSACTION_START (5 )`,
      `OUT 0xa ${T} WRITE (OK )`,
      `IN 0xa ${T} READ (control/shutdown )`,
      `IN 0xa ${T} TRANSACTION_END (F )`,
      `IN 0xa ${T} WRITE (control/feature-reboot 1)`,
      `OUT 0xa ${T} ERROR (ENOENT )`,
      `OUT 0xa ${T} TRANSACTION_END (OK )`,
      `OUT 0xa ${T} WRITE (OK )`,
    ]);
    expect(events.slice(1).map((e) => [e.op, e.tx])).toEqual([
      ['TRANSACTION_START', 5],
      ['WRITE', null],
      ['READ', 5],
      ['TRANSACTION_END', 5],
      ['WRITE', null],
    ]);
  });

  it('keeps unknown operations as they are', () => {
    const events = parsed([
      ...dom0,
      `IN 0xa ${T} FROBNICATE (x y )`,
      `OUT 0xa ${T} FROBNICATE (OK )`,
    ]);
    expect(events[1]).toMatchObject({ op: 'FROBNICATE', args: ['x', 'y'], reply: { kind: 'ok' } });
  });

  it.each([
    ['a garbled line', [...dom0, `IN 0xa ${T} READ (memory/tar`], 4, 'malformed-line'],
    ['an unknown line', [...dom0, 'hello world'], 4, 'malformed-line'],
    ['a request before CREATE', [...dom0, `IN 0xf ${T} READ (x )`], 4, 'unknown-connection'],
    ['a reply with no request', [...dom0, `OUT 0xa ${T} READ (1)`], 4, 'unmatched-reply'],
    [
      'a reply of the wrong op',
      [...dom0, `IN 0xa ${T} READ (x )`, `OUT 0xa ${T} WRITE (OK )`],
      5,
      'reply-mismatch',
    ],
  ] as const)('reports %s as a ParseIssue with its line', (_name, lines, line, code) => {
    const issue = issueOf(trace(lines));
    expect(issue).toMatchObject({ line, code });
    expect(issue.message).not.toContain('\n');
  });

  it('accepts a trace that stops while a request awaits its reply: the reply is none', () => {
    const result = parseXsTrace(trace([...dom0, `IN 0xa ${T} READ (x )`]));
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.at(-1)).toMatchObject({ op: 'READ', reply: { kind: 'none' } });
  });

  it('reports a file cut mid-line at that line', () => {
    const text = `${trace(dom0)}IN 0xa ${T} WRITE (device/vbd/51712/state 3)`;
    expect(issueOf(text)).toMatchObject({ code: 'truncated', line: 4 });
  });
});

describe(`parseXsTrace on scenario-1 (Xen 4.17 + Linux 6.1)`, () => {
  const text = readScenario1();

  it('parses every line and finds dom0 kernel, guest 1 and guest 2', () => {
    const result = parseXsTrace(text);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const kinds = new Set(result.value.map((e) => JSON.stringify(e.connection)));
    expect(kinds).toContain(JSON.stringify({ kind: 'dom0-kernel' }));
    expect(kinds).toContain(JSON.stringify({ kind: 'guest', domid: 1 }));
    expect(kinds).toContain(JSON.stringify({ kind: 'guest', domid: 2 }));
    expect([...kinds].filter((k) => k.includes('guest'))).toHaveLength(2);
    // Every frontend state write came from a guest kernel, every backend one from dom0.
    for (const event of result.value) {
      if (event.op !== 'WRITE') continue;
      if (/^device\/vbd\/\d+\/state$/.test(event.args[0]!))
        expect(event.connection.kind).toBe('guest');
      if (/^backend\/vbd\/\d+\/\d+\/state$/.test(event.args[0]!)) {
        expect(event.connection.kind).toBe('dom0-kernel');
      }
    }
  });

  it('answers every request on a live connection', () => {
    const result = parseXsTrace(text);
    if (!result.ok) throw new Error(result.error.message);
    const unanswered = result.value.filter(
      (e) => e.op !== 'WATCH_EVENT' && e.reply.kind === 'none',
    );
    expect(unanswered).toEqual([]);
  });

  it('reports a garbled line of the real trace at its line number', () => {
    const lines = text.split('\n');
    const target = lines.findIndex((l) => l.includes('multi-queue-max-queues 2)'));
    lines[target] = lines[target]!.slice(0, 30);
    expect(issueOf(lines.join('\n'))).toMatchObject({ code: 'malformed-line', line: target + 1 });
  });

  it('reports the real trace cut in the middle', () => {
    const cut = text.slice(0, Math.floor(text.length / 2));
    const lineCount = cut.split('\n').length;
    const issue = issueOf(cut);
    expect(issue.code).toBe('truncated');
    expect(issue.line).toBe(lineCount);
  });
});
