// One loop for both drivers' control planes: an event goes into the side's machine through the
// pure transition, the effects it returns are executed in order, and the events they answer with
// (a xenstore read, a commit's result) go in next, all within the one world step that started it
// — the xenwatch thread runs the whole callback before it takes the next watch event.
import { assert } from '../assert.ts';
import type { World } from './world.ts';

/** Bound on effect/answer chains in one step: a machine that loops would be our bug. */
const CHAIN_MAX = 64;

/** Where a side keeps its machine: the snapshot and the state xenbus_switch_state compares with. */
export interface MachineHolder<S> {
  snapshot: S;
  cachedState: number;
}

export interface MachineSide<S, E, F extends { readonly type: string }, C> {
  readonly side: 'frontend' | 'backend';
  /** The pure transition: next snapshot and the effects to run, nothing executed. */
  readonly next: (snapshot: S, event: E) => readonly [S, readonly F[]];
  /** Executes one effect; returns the event that answers it, if any. */
  readonly perform: (world: World, context: C, effect: F) => E | undefined;
}

export function settle<
  S extends { readonly context: { readonly xenbusState: number } },
  E,
  F extends { readonly type: string },
  C,
>(
  world: World,
  machine: MachineSide<S, E, F, C>,
  holder: MachineHolder<S>,
  context: C,
  first: E,
): void {
  const pending: E[] = [first];
  for (let n = 0; pending.length > 0; n++) {
    assert(n < CHAIN_MAX, '%s effect chain does not settle', machine.side);
    const event = pending.shift()!;
    // xenbus_switch_state compares with dev->state as it was before this transition.
    holder.cachedState = holder.snapshot.context.xenbusState;
    const [snapshot, effects] = machine.next(holder.snapshot, event);
    holder.snapshot = snapshot;
    for (const effect of effects) {
      world.observe?.({ kind: 'effect', side: machine.side, effect: effect.type });
      const answer = machine.perform(world, context, effect);
      if (answer !== undefined) pending.push(answer);
    }
  }
  assert(pending.length === 0, '%s machine settled', machine.side);
}
