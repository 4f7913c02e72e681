// The facts about one device session that a conformance checker compares with the model: the
// state sequences of both ends, what each end read from the other before it wrote its own
// keys (the negotiation inputs), and what it wrote (the negotiation outputs). Only writes that
// became visible count (committed, or outside any transaction); an aborted transaction's
// writes stay in the extracted sequences, marked, and are left out here.

import type {
  DeviceDir,
  DeviceOp,
  DeviceRole,
  DeviceSession,
  ReadResult,
  SequenceItem,
} from './extract.ts';

export interface StateStep {
  readonly state: number | 'unparsable';
  readonly by: DeviceRole;
  /** Where the write became visible (reply, or committing TRANSACTION_END). */
  readonly line: number;
}

export interface KeyRead {
  readonly key: string;
  readonly result: ReadResult;
  readonly line: number;
  readonly tx: number | null;
}

export interface KeyWrite {
  readonly key: string;
  readonly value: string;
  readonly line: number;
  readonly visibleLine: number;
  readonly tx: number | null;
}

/** One committed transaction of an end that wrote keys other than `state` in its own
 *  directory (blkfront's talk_to_blkback, blkback's connect), with the reads of the other
 *  end's directory it made since its previous round: the inputs of that negotiation. */
export interface KeyRound {
  readonly tx: number;
  readonly endLine: number;
  readonly readsBefore: readonly KeyRead[];
  readonly writes: readonly KeyWrite[];
}

export interface SideSummary {
  /** This end's own visible writes of its `state`, in order. */
  readonly states: readonly StateStep[];
  /** Its READs of the other end's directory, in order. */
  readonly reads: readonly KeyRead[];
  /** Its visible writes in its own directory, `state` included, in order. */
  readonly writes: readonly KeyWrite[];
  readonly rounds: readonly KeyRound[];
}

export interface ToolstackMutation {
  readonly dir: DeviceDir;
  readonly op: string;
  readonly path: string;
  readonly key: string;
  readonly value: string | null;
  readonly visibleLine: number;
}

export interface DeviceSummary {
  readonly domid: number;
  readonly devid: number;
  readonly generation: number;
  readonly previousDomid: number | null;
  readonly frontendPath: string;
  readonly backendPath: string;
  /** Every visible write of the frontend's `state`, by anyone (the toolstack writes 1). */
  readonly frontendStates: readonly StateStep[];
  /** Every visible write of the backend's `state`, by anyone (the toolstack writes 1 and 5). */
  readonly backendStates: readonly StateStep[];
  readonly frontend: SideSummary;
  readonly backend: SideSummary;
  /** Visible WRITE, MKDIR, RM by dom0 userspace, in visibility order. */
  readonly toolstack: readonly ToolstackMutation[];
}

/** Ops in the connection's order, transactions opened in place. */
function* flatten(sequence: readonly SequenceItem[]): Generator<DeviceOp> {
  for (const item of sequence) {
    if (item.kind === 'transaction') yield* item.ops;
    else yield item;
  }
}

export function summarizeDevice(session: DeviceSession): DeviceSummary {
  const frontend = summarizeSide(session.frontend, 'frontend');
  const backend = summarizeSide(session.backend, 'backend');
  return {
    domid: session.domid,
    devid: session.devid,
    generation: session.generation,
    previousDomid: session.previousDomid,
    frontendPath: session.frontendPath,
    backendPath: session.backendPath,
    frontendStates: statesOf(session, 'frontend'),
    backendStates: statesOf(session, 'backend'),
    frontend,
    backend,
    toolstack: toolstackOf(session.toolstack),
  };
}

function summarizeSide(sequence: readonly SequenceItem[], own: DeviceDir): SideSummary {
  const states: StateStep[] = [];
  const reads: KeyRead[] = [];
  const writes: KeyWrite[] = [];
  for (const op of flatten(sequence)) {
    if (op.kind === 'read' && op.dir !== own) {
      reads.push({ key: op.key, result: op.result, line: op.line, tx: op.tx });
    }
    if (op.kind !== 'write' || op.dir !== own || op.visibleLine === null) continue;
    writes.push({
      key: op.key,
      value: op.value,
      line: op.line,
      visibleLine: op.visibleLine,
      tx: op.tx,
    });
    if (op.state !== null) states.push({ state: op.state, by: op.by, line: op.visibleLine });
  }
  return { states, reads, writes, rounds: roundsOf(sequence, own, reads) };
}

function roundsOf(sequence: readonly SequenceItem[], own: DeviceDir, reads: readonly KeyRead[]) {
  const rounds: KeyRound[] = [];
  let readsFrom = 0;
  for (const item of sequence) {
    if (item.kind !== 'transaction' || item.outcome !== 'committed' || item.endLine === null)
      continue;
    const writes: KeyWrite[] = [];
    for (const op of item.ops) {
      if (op.kind !== 'write' || op.dir !== own || op.visibleLine === null) continue;
      writes.push({
        key: op.key,
        value: op.value,
        line: op.line,
        visibleLine: op.visibleLine,
        tx: op.tx,
      });
    }
    if (!writes.some((write) => write.key !== 'state')) continue;
    const endLine = item.endLine;
    let readsTo = readsFrom;
    while (readsTo < reads.length && reads[readsTo]!.line < endLine) readsTo++;
    rounds.push({ tx: item.id, endLine, readsBefore: reads.slice(readsFrom, readsTo), writes });
    readsFrom = readsTo;
  }
  return rounds;
}

function statesOf(session: DeviceSession, dir: DeviceDir): StateStep[] {
  const steps: StateStep[] = [];
  for (const sequence of [session.frontend, session.backend, session.toolstack, session.other]) {
    for (const op of flatten(sequence)) {
      if (op.kind !== 'write' || op.dir !== dir || op.state === null || op.visibleLine === null)
        continue;
      steps.push({ state: op.state, by: op.by, line: op.visibleLine });
    }
  }
  // Across connections only visibility order means anything: the trace's interleaving of
  // connections is one of many, but a write is seen by everyone from its visible line on.
  return steps.sort((a, b) => a.line - b.line);
}

function toolstackOf(sequence: readonly SequenceItem[]): ToolstackMutation[] {
  const mutations: ToolstackMutation[] = [];
  for (const op of flatten(sequence)) {
    if (op.kind === 'write' && op.visibleLine !== null) {
      const { dir, path, key, value, visibleLine } = op;
      mutations.push({ dir, op: 'WRITE', path, key, value, visibleLine });
    } else if (op.kind === 'mutation' && op.op !== 'SET_PERMS' && op.visibleLine !== null) {
      const { dir, path, key, visibleLine } = op;
      mutations.push({ dir, op: op.op, path, key, value: null, visibleLine });
    }
  }
  return mutations.sort((a, b) => a.visibleLine - b.visibleLine);
}

/** The value an end last read for `key`: the string, 'ENOENT'-style errno, or undefined when
 *  it never read it. Reading order matters: blkfront acts on the last value it saw. */
export function lastRead(reads: readonly KeyRead[], key: string): ReadResult | undefined {
  for (let index = reads.length - 1; index >= 0; index--) {
    const read = reads[index]!;
    if (read.key === key) return read.result;
  }
  return undefined;
}
