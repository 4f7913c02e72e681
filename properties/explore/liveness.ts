// The liveness pass over a finished search: a state from which no fault-free path reaches a
// quiescent state is one where the fair drain can never finish (it takes only fault-free steps,
// so it cannot escape either). States left unexpanded at the depth bound count as able to: what
// lies beyond them is outside the bounds. Under sleep sets some fault-free moves were never
// taken; for the few states that look stuck their targets are worked out before judging them.
import { assert } from '../../impl/assert.ts';
import type { StateGraph } from './search.ts';

/** Which states reach a quiescent or unexpanded one along the fault-free edges. */
function canFinish(graph: StateGraph, extraFrom: number[], extraTo: number[]): Uint8Array {
  const n = graph.parent.length;
  const from = graph.edgeFrom.concat(extraFrom);
  const to = graph.edgeTo.concat(extraTo);
  // Reverse adjacency in compressed rows: start[t]..start[t+1] lists the sources of edges into t.
  const start = new Int32Array(n + 1);
  for (const t of to) start[t + 1]! += 1;
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const fill = start.slice(0, n);
  const sources = new Int32Array(to.length);
  for (let e = 0; e < to.length; e++) sources[fill[to[e]!]!++] = from[e]!;
  const good = new Uint8Array(n);
  const queue: number[] = [];
  for (let id = 0; id < n; id++) {
    if (graph.mark[id] !== 0) {
      good[id] = 1;
      queue.push(id);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const t = queue[head]!;
    for (let k = start[t]!; k < start[t + 1]!; k++) {
      const s = sources[k]!;
      if (good[s] === 0) {
        good[s] = 1;
        queue.push(s);
      }
    }
  }
  return good;
}

/**
 * The first state (in discovery order: the shallowest) that cannot reach quiescence, or
 * undefined. `resolveSlept(id)` returns the targets of the fault-free actions sleep sets skipped
 * at `id`.
 */
export function findUnlive(
  graph: StateGraph,
  resolveSlept: (id: number) => readonly number[],
): number | undefined {
  const extraFrom: number[] = [];
  const extraTo: number[] = [];
  const resolved = new Set<number>();
  for (;;) {
    const good = canFinish(graph, extraFrom, extraTo);
    const stuck: number[] = [];
    for (let id = 0; id < good.length; id++) if (good[id] === 0) stuck.push(id);
    if (stuck.length === 0) return undefined;
    let added = false;
    for (const id of stuck) {
      if (resolved.has(id)) continue;
      resolved.add(id);
      for (const target of resolveSlept(id)) {
        extraFrom.push(id);
        extraTo.push(target);
        added = true;
      }
    }
    if (!added) {
      assert(stuck[0]! < good.length, 'explore: a stuck state is a known state');
      return stuck[0];
    }
  }
}
