// XState's transition() is pure: the same snapshot (state value and context) and event always give
// the same next snapshot and actions. It is also the costliest call of a control-plane step, and
// property runs repeat the same connect sequence thousands of times, so results are memoised by
// their inputs. Snapshots are never mutated (the world only replaces them), so sharing is safe.
import { type AnyStateMachine, type EventFromLogic, type SnapshotFrom, transition } from 'xstate';

type Result<M extends AnyStateMachine> = ReturnType<typeof transition<M>>;

/** Bounded: a machine has few distinct (state, context, event) triples; past this, stop caching. */
const ENTRIES_MAX = 50_000;

export function memoizedTransition<M extends AnyStateMachine>(machine: M) {
  const cache = new Map<string, Result<M>>();
  return (snapshot: SnapshotFrom<M>, event: EventFromLogic<M>): Result<M> => {
    const s = snapshot as unknown as { value: unknown; context: unknown; status: string };
    const key = JSON.stringify([s.value, s.context, s.status, event]);
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const result = transition(machine, snapshot, event);
    if (cache.size < ENTRIES_MAX) cache.set(key, result);
    return result;
  };
}
