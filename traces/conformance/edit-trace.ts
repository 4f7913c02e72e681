// Deliberately wrong copies of a real trace, made by editing a few lines of its text, so a
// conformance checker can be shown to reject what the real drivers never do (issue 8):
// - a frontend that writes queue-N keys after reading multi-queue-max-queues = 1;
// - a frontend state jump Initialising (1) -> Connected (4).
// Editing the text rather than the parsed events keeps the copies honest: they go through the
// same parser as a user's trace.

import type { DeviceSession, DeviceWrite } from './extract.ts';
import { extractDevices } from './extract.ts';
import type { Result, XsTraceEvent } from './parse-xs-trace.ts';
import { parseXsTrace } from './parse-xs-trace.ts';
import { summarizeDevice } from './summarize-device.ts';

export interface EditedTrace {
  readonly text: string;
  /** 1-based numbers of the lines that changed. */
  readonly lines: readonly number[];
  /** One line saying what was changed, in protocol terms. */
  readonly description: string;
}

const PAYLOAD_RE = /\((.*)\)$/;

/** Replace the payload of a READ reply line: `OUT ... READ (2)` -> `OUT ... READ (1)`. */
export function withReadValue(line: string, value: string): string {
  return line.replace(PAYLOAD_RE, `(${value})`);
}

/** Replace the value of a WRITE request line, keeping its path. */
export function withWriteValue(line: string, value: string): string {
  return line.replace(PAYLOAD_RE, (_whole, payload: string) => {
    const space = payload.indexOf(' ');
    const path = space < 0 ? payload : payload.slice(0, space);
    return `(${path} ${value})`;
  });
}

export function replaceLines(text: string, edits: ReadonlyMap<number, (line: string) => string>) {
  const lines = text.split('\n');
  for (const [number, edit] of edits) {
    const line = lines[number - 1];
    if (line !== undefined) lines[number - 1] = edit(line);
  }
  return lines.join('\n');
}

interface Parsed {
  readonly sessions: DeviceSession[];
  readonly byLine: Map<number, XsTraceEvent>;
}

function parse(text: string): Result<Parsed, string> {
  const parsed = parseXsTrace(text);
  if (!parsed.ok) return { ok: false, error: `line ${parsed.error.line}: ${parsed.error.message}` };
  const byLine = new Map<number, XsTraceEvent>();
  for (const event of parsed.value) byLine.set(event.line, event);
  return { ok: true, value: { sessions: extractDevices(parsed.value), byLine } };
}

/** The first multi-queue session: its backend now advertises, and its frontend reads,
 *  multi-queue-max-queues = 1, while the frontend still writes multi-queue-num-queues and
 *  queue-N/ keys. */
export function editQueuesDespiteSingleQueueBackend(text: string): Result<EditedTrace, string> {
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  for (const session of parsed.value.sessions) {
    const round = summarizeDevice(session).frontend.rounds[0];
    if (round === undefined || !round.writes.some((w) => w.key === 'multi-queue-num-queues'))
      continue;
    const edits = new Map<number, (line: string) => string>();
    for (const read of round.readsBefore) {
      if (read.key !== 'multi-queue-max-queues') continue;
      const reply = parsed.value.byLine.get(read.line)?.reply;
      if (reply?.kind === 'ok') edits.set(reply.line, (line) => withReadValue(line, '1'));
    }
    if (edits.size === 0) continue;
    for (const write of writesOf(session.backend)) {
      if (write.key === 'multi-queue-max-queues')
        edits.set(write.line, (line) => withWriteValue(line, '1'));
    }
    return {
      ok: true,
      value: {
        text: replaceLines(text, edits),
        lines: [...edits.keys()].sort((a, b) => a - b),
        description:
          `vbd ${session.domid}/${session.devid}: backend advertises and frontend reads ` +
          'multi-queue-max-queues 1, frontend still writes queue-N keys',
      },
    };
  }
  return {
    ok: false,
    error: 'no frontend read multi-queue-max-queues and then wrote queue-N keys',
  };
}

/** The first frontend write of state 3 (Initialised) becomes 4 (Connected): the frontend
 *  jumps from the toolstack's 1 straight to 4. */
export function editFrontendStateJump(text: string): Result<EditedTrace, string> {
  const parsed = parse(text);
  if (!parsed.ok) return parsed;
  for (const session of parsed.value.sessions) {
    const write = writesOf(session.frontend).find(
      (w) => w.dir === 'frontend' && w.key === 'state' && w.state === 3,
    );
    if (write === undefined) continue;
    return {
      ok: true,
      value: {
        text: replaceLines(text, new Map([[write.line, (line) => withWriteValue(line, '4')]])),
        lines: [write.line],
        description: `vbd ${session.domid}/${session.devid}: frontend writes state 4, not 3`,
      },
    };
  }
  return { ok: false, error: 'no frontend wrote state 3' };
}

function writesOf(sequence: DeviceSession['frontend']): DeviceWrite[] {
  const writes: DeviceWrite[] = [];
  for (const item of sequence) {
    const ops = item.kind === 'transaction' ? item.ops : [item];
    for (const op of ops) if (op.kind === 'write') writes.push(op);
  }
  return writes;
}

/** The first `lines` lines of a trace: what a recording stopped there would hold. */
export function cutAfter(text: string, lines: number): string {
  return `${text.split('\n').slice(0, lines).join('\n')}\n`;
}

/** New lines inserted after line `after` (1-based), the rest moved down. */
export function insertAfter(text: string, after: number, added: readonly string[]): string {
  const lines = text.split('\n');
  lines.splice(after, 0, ...added);
  return lines.join('\n');
}

/**
 * Every line of a session at which one of its ends changes state (a state write becoming
 * visible, or the directory's removal), in trace order: the points at which to cut a copy.
 */
export function stateChangeLines(session: DeviceSession): number[] {
  const summary = summarizeDevice(session);
  const lines = new Set<number>();
  for (const step of [...summary.frontendStates, ...summary.backendStates]) lines.add(step.line);
  for (const mutation of summary.toolstack) {
    if (mutation.op === 'RM' && mutation.key === '') lines.add(mutation.visibleLine);
  }
  return [...lines].sort((a, b) => a - b);
}
