// Parser for the I/O trace of C xenstored (`xenstored -T <file>`, Xen 4.17), as written by
// trace_io() in tools/xenstore/xenstored_core.c: one line per message, the payload's NUL
// separators shown as spaces, and no transaction id, domid or request id on the line. What the
// line leaves out is recovered here from the rules that held in the recorded runs (see
// fixtures/conformance/xen-4.17-linux-6.1/README.md):
// - connections: the first one created is dom0's kernel; the one created while an
//   `INTRODUCE (N ...)` request is in flight is guest N's kernel; every other is a dom0
//   userspace client. Heap addresses are reused after DESTROY, so a label belongs to one
//   CREATE..DESTROY lifetime, never to an address.
// - replies come back on a connection in request order (xenstored answers one request at a time
//   per connection), so the n-th reply OUT pairs with the n-th request IN; WATCH_EVENT is not a
//   reply.
// - transactions: a request belongs to the transaction whose TRANSACTION_START reply came before
//   it and whose TRANSACTION_END it precedes. A request sent before the START reply cannot carry
//   the new id, so it is outside. Linux runs every xenbus watch callback (blkfront's and
//   blkback's otherend_changed, hence their transactions) in the single xenwatch thread, so
//   their transactions do not overlap on one connection; an XBT_NIL request of another kernel
//   thread that lands inside an open transaction is attributed to it (the line cannot tell).

import type { Result } from '../../impl/xen/result.ts';

/** Operation names of xs_wire.h (XS_*), spelled as xenstored prints them. */
export const XS_OPS = [
  'CONTROL',
  'DIRECTORY',
  'READ',
  'GET_PERMS',
  'WATCH',
  'UNWATCH',
  'TRANSACTION_START',
  'TRANSACTION_END',
  'INTRODUCE',
  'RELEASE',
  'GET_DOMAIN_PATH',
  'WRITE',
  'MKDIR',
  'RM',
  'SET_PERMS',
  'WATCH_EVENT',
  'ERROR',
  'IS_DOMAIN_INTRODUCED',
  'RESUME',
  'SET_TARGET',
  'RESET_WATCHES',
  'DIRECTORY_PART',
  'GET_FEATURE',
  'SET_FEATURE',
  'GET_QUOTA',
  'SET_QUOTA',
] as const;

export type XsOp = (typeof XS_OPS)[number];
/** A known op, or any other upper-case name the trace carried (kept, not rejected). */
export type XsOpName = XsOp | (string & Record<never, never>);

export type ConnectionLabel =
  | { readonly kind: 'dom0-kernel' }
  | { readonly kind: 'guest'; readonly domid: number }
  | { readonly kind: 'dom0-user'; readonly id: number };

export type XsReply =
  | { readonly kind: 'ok'; readonly args: readonly string[]; readonly line: number }
  | { readonly kind: 'error'; readonly errno: string; readonly line: number }
  /** A WATCH_EVENT (never answered), or a request cut off by DESTROY connection. */
  | { readonly kind: 'none' };

export interface XsTraceEvent {
  /** 1-based line of the IN (request) or OUT (watch event). */
  readonly line: number;
  readonly connection: ConnectionLabel;
  /** Unique per CREATE..DESTROY lifetime, in creation order from 0 (dom0's kernel). */
  readonly connectionSerial: number;
  readonly address: string;
  /** `YYYYMMDD HH:MM:SS` as printed; ordering within a second comes from `line`. */
  readonly time: string;
  readonly op: XsOpName;
  /** Payload fields: WRITE is [path, value]; a value may contain spaces. */
  readonly args: readonly string[];
  readonly reply: XsReply;
  /** Transaction inferred as described at the top of this file; null outside any. */
  readonly tx: number | null;
}

export type ParseIssueCode =
  | 'malformed-line'
  | 'unknown-connection'
  | 'unmatched-reply'
  | 'reply-mismatch'
  | 'truncated';

export interface ParseIssue {
  readonly code: ParseIssueCode;
  readonly line: number;
  readonly message: string;
}

export type { Result };

interface Connection {
  readonly label: ConnectionLabel;
  readonly serial: number;
  readonly address: string;
  readonly pending: MutableEvent[];
  /** Index into `pending` of the next request to be answered. */
  head: number;
  /** Transactions whose START reply was seen and whose END was not yet sent, innermost last. */
  readonly openTx: number[];
}

type MutableEvent = { -readonly [K in keyof XsTraceEvent]: XsTraceEvent[K] };

interface ParserState {
  readonly events: MutableEvent[];
  readonly live: Map<string, Connection>;
  serialNext: number;
  userIdNext: number;
  /** INTRODUCE requests sent, not yet answered, and not yet matched to a new connection. */
  readonly introducing: MutableEvent[];
}

const MESSAGE_RE = /^(IN|OUT) (0x[0-9a-fA-F]+) (\d{8} \d{2}:\d{2}:\d{2}) ([A-Z_]+) \((.*)\)$/;
const LIFETIME_RE = /^(CREATE|DESTROY) (connection|watch|transaction|node) (0x[0-9a-fA-F]+)$/;
const NOISE_PREFIXES = ['wrl:', '***', 'Checking store', 'xenstored'];
/**
 * ignore_connection's note when xenstored stops serving a connection (its client hung up with a
 * request in flight): the DESTROY that follows is what the checker reads, and the request stays
 * unanswered as it was.
 */
const IGNORED_RE = /^CONN 0x[0-9a-fA-F]+ ignored, reason \d+$/;

function issue(code: ParseIssueCode, line: number, message: string): Result<never, ParseIssue> {
  return { ok: false, error: { code, line, message } };
}

export function parseXsTrace(text: string): Result<XsTraceEvent[], ParseIssue> {
  const state: ParserState = {
    events: [],
    live: new Map(),
    serialNext: 0,
    userIdNext: 1,
    introducing: [],
  };
  const lines = text.split('\n');
  // A file that does not end with a newline was cut mid-write; its last line is suspect even
  // when it happens to parse, because a WRITE value may have lost its tail.
  const last = lines.length - 1;
  if (lines[last] !== '') {
    return issue('truncated', last + 1, 'trace ends without a newline: last line was cut off');
  }
  for (let index = 0; index < last; index++) {
    const raw = lines[index]!;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const outcome = parseLine(state, text, index + 1);
    if (!outcome.ok) return outcome;
  }
  // A trace may stop while requests await their answers (the log was switched off, the host
  // stopped): those keep reply 'none', like requests cut off by a connection's close. What was
  // recorded up to there is a prefix of a real run, and checked as one.
  return { ok: true, value: state.events };
}

function parseLine(state: ParserState, text: string, line: number): Result<null, ParseIssue> {
  const message = MESSAGE_RE.exec(text);
  if (message !== null) {
    const [, direction, address, time, op, payload] = message as unknown as [
      string,
      'IN' | 'OUT',
      string,
      string,
      string,
      string,
    ];
    const connection = state.live.get(address);
    if (connection === undefined) {
      return issue(
        'unknown-connection',
        line,
        `${direction} on connection ${address} before its CREATE connection line`,
      );
    }
    if (direction === 'IN') return request(state, connection, { line, time, op, payload });
    return response(state, connection, { line, time, op, payload });
  }
  const lifetime = LIFETIME_RE.exec(text);
  if (lifetime !== null) {
    if (lifetime[2] !== 'connection') return { ok: true, value: null };
    if (lifetime[1] === 'CREATE') return create(state, lifetime[3]!, line);
    return destroy(state, lifetime[3]!, line);
  }
  if (
    text.trim() === '' ||
    NOISE_PREFIXES.some((prefix) => text.startsWith(prefix)) ||
    IGNORED_RE.test(text)
  ) {
    return { ok: true, value: null };
  }
  const shown = text.length > 60 ? `${text.slice(0, 60)}...` : text;
  return issue('malformed-line', line, `unrecognised trace line: ${JSON.stringify(shown)}`);
}

function create(state: ParserState, address: string, line: number): Result<null, ParseIssue> {
  if (state.live.has(address)) {
    return issue('malformed-line', line, `CREATE connection ${address} while it is still live`);
  }
  const serial = state.serialNext++;
  const introduce = state.introducing[state.introducing.length - 1];
  let label: ConnectionLabel;
  if (serial === 0) {
    label = { kind: 'dom0-kernel' };
  } else if (introduce !== undefined) {
    const domid = Number(introduce.args[0]);
    // One guest connection per INTRODUCE: a second CREATE while it is still in flight is an
    // ordinary client.
    state.introducing.pop();
    label = { kind: 'guest', domid };
  } else {
    label = { kind: 'dom0-user', id: state.userIdNext++ };
  }
  state.live.set(address, { label, serial, address, pending: [], head: 0, openTx: [] });
  return { ok: true, value: null };
}

function destroy(state: ParserState, address: string, line: number): Result<null, ParseIssue> {
  const connection = state.live.get(address);
  if (connection === undefined) {
    return issue(
      'unknown-connection',
      line,
      `DESTROY connection ${address} that was never created`,
    );
  }
  // Requests cut off by the close keep reply 'none': the client went away before the answer.
  state.live.delete(address);
  return { ok: true, value: null };
}

interface RawMessage {
  readonly line: number;
  readonly time: string;
  readonly op: string;
  readonly payload: string;
}

function request(state: ParserState, connection: Connection, raw: RawMessage) {
  const args = splitRequest(raw.op, raw.payload);
  if (raw.op === 'INTRODUCE' && !/^\d+$/.test(args[0] ?? '')) {
    return issue('malformed-line', raw.line, `INTRODUCE without a numeric domid: (${raw.payload})`);
  }
  const event: MutableEvent = {
    line: raw.line,
    connection: connection.label,
    connectionSerial: connection.serial,
    address: connection.address,
    time: raw.time,
    op: raw.op,
    args,
    reply: { kind: 'none' },
    tx: connection.openTx[connection.openTx.length - 1] ?? null,
  };
  if (raw.op === 'TRANSACTION_START') event.tx = null;
  if (raw.op === 'TRANSACTION_END') connection.openTx.pop();
  if (raw.op === 'INTRODUCE') state.introducing.push(event);
  connection.pending.push(event);
  state.events.push(event);
  return { ok: true as const, value: null };
}

function response(state: ParserState, connection: Connection, raw: RawMessage) {
  if (raw.op === 'WATCH_EVENT') {
    state.events.push({
      line: raw.line,
      connection: connection.label,
      connectionSerial: connection.serial,
      address: connection.address,
      time: raw.time,
      op: raw.op,
      args: splitFields(raw.payload),
      reply: { kind: 'none' },
      tx: null,
    });
    return { ok: true as const, value: null };
  }
  const asked = connection.pending[connection.head];
  if (asked === undefined) {
    return issue(
      'unmatched-reply',
      raw.line,
      `${raw.op} reply on ${connection.address} with no request pending`,
    );
  }
  if (raw.op !== asked.op && raw.op !== 'ERROR') {
    return issue(
      'reply-mismatch',
      raw.line,
      `${raw.op} reply answers ${asked.op} sent at line ${asked.line} on ${connection.address}`,
    );
  }
  connection.head++;
  if (connection.head > 64 && connection.head * 2 > connection.pending.length) {
    connection.pending.splice(0, connection.head);
    connection.head = 0;
  }
  return answer(state, connection, asked, raw);
}

function answer(state: ParserState, connection: Connection, asked: MutableEvent, raw: RawMessage) {
  if (raw.op === 'ERROR') {
    asked.reply = { kind: 'error', errno: raw.payload.trim(), line: raw.line };
  } else {
    asked.reply = { kind: 'ok', args: splitReply(raw.op, raw.payload), line: raw.line };
  }
  if (asked.op === 'INTRODUCE') {
    const at = state.introducing.indexOf(asked);
    if (at >= 0) state.introducing.splice(at, 1);
  }
  if (asked.op === 'TRANSACTION_START' && asked.reply.kind === 'ok') {
    const id = Number(asked.reply.args[0]);
    if (!Number.isSafeInteger(id)) {
      return issue(
        'malformed-line',
        raw.line,
        `TRANSACTION_START reply without an id: (${raw.payload})`,
      );
    }
    asked.tx = id;
    connection.openTx.push(id);
  }
  return { ok: true as const, value: null };
}

/** Strings in the payload are NUL-terminated, so the printed form ends in one space. */
function splitFields(payload: string): string[] {
  if (payload === '') return [];
  const fields = payload.split(' ');
  if (fields[fields.length - 1] === '') fields.pop();
  return fields;
}

function splitRequest(op: string, payload: string): string[] {
  // A WRITE's value is not NUL-terminated and may hold spaces: everything after the path.
  if (op !== 'WRITE') return splitFields(payload);
  const space = payload.indexOf(' ');
  if (space < 0) return [payload];
  return [payload.slice(0, space), payload.slice(space + 1)];
}

function splitReply(op: string, payload: string): string[] {
  // A READ answer is the raw value (no terminator), spaces included.
  if (op === 'READ') return [payload];
  return splitFields(payload);
}

export function describeLabel(label: ConnectionLabel): string {
  switch (label.kind) {
    case 'dom0-kernel':
      return "dom0's kernel";
    case 'guest':
      return `guest ${label.domid}'s kernel`;
    case 'dom0-user':
      return `dom0 client #${label.id}`;
  }
}
