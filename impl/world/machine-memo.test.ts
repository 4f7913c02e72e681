import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { backendMachine } from '../../model/backend-machine.ts';
import {
  backendEventsAt,
  EXPLORE_BACKEND_INPUT,
  EXPLORE_FRONTEND_INPUT,
  frontendEventsAt,
} from '../../model/explore-events.ts';
import { frontendMachine } from '../../model/frontend-machine.ts';
import { type Exploration, explore } from '../../model/graph.ts';
import { MachineMemo } from './machine-memo.ts';

const plain = (s: AnyMachineSnapshot) => ({ value: s.value, context: s.context, status: s.status });

const cases: { name: string; machine: AnyStateMachine; exploration: Exploration }[] = [
  {
    name: 'frontend',
    machine: frontendMachine,
    exploration: explore(frontendMachine, {
      input: EXPLORE_FRONTEND_INPUT,
      events: frontendEventsAt,
    }),
  },
  {
    name: 'backend',
    machine: backendMachine,
    exploration: explore(backendMachine, { input: EXPLORE_BACKEND_INPUT, events: backendEventsAt }),
  },
];

describe.each(cases)('machine memo, $name machine', ({ machine, exploration }) => {
  // Every reachable transition, as xstate's own transition() computes it, against the memo's
  // answer: the same state, context, status and actions (type and params), with a small bound so
  // that clearing and re-interning are exercised as well as hits.
  it.each([4096, 7])('agrees with transition() on every reachable step (bound %i)', (bound) => {
    const memo = new MachineMemo(machine, bound);
    expect(exploration.steps.length).toBeGreaterThan(20);
    for (const round of [0, 1]) {
      for (const { from, event, to, actions } of exploration.steps) {
        const [next, got] = memo.transition(from as never, event as never);
        expect(plain(next as AnyMachineSnapshot), `round ${round}`).toEqual(plain(to));
        expect(got).toEqual(actions.map((a) => ({ type: a.type, params: a.params })));
        expect(memo.size).toBeLessThanOrEqual(bound);
      }
    }
  });

  it('agrees with transition() when every state key hashes alike (one chain of states)', () => {
    const memo = new MachineMemo(machine, 4096, () => 7);
    for (const round of [0, 1]) {
      for (const { from, event, to, actions } of exploration.steps) {
        const [next, got] = memo.transition(from as never, event as never);
        expect(plain(next as AnyMachineSnapshot), `round ${round}`).toEqual(plain(to));
        expect(got).toEqual(actions.map((a) => ({ type: a.type, params: a.params })));
      }
    }
    // Equal states found through the chain are one object, as with distinct hashes.
    const { from, event } = exploration.steps[0]!;
    const [a] = memo.transition(from as never, event as never);
    const [b] = new MachineMemo(machine, 4096, () => 7).transition(from as never, event as never);
    expect(memo.transition(a, event as never)[0]).toBe(memo.transition(a, event as never)[0]);
    expect(plain(b as AnyMachineSnapshot)).toEqual(plain(a as AnyMachineSnapshot));
  });

  it('a full memo forgets its oldest states first and keeps its newest', () => {
    const bound = 7;
    const memo = new MachineMemo(machine, bound);
    const results = exploration.steps.map(({ from, event }) => ({
      from,
      event,
      result: memo.transition(from as never, event as never),
    }));
    expect(memo.size).toBeLessThanOrEqual(bound);
    // Once warm it sits at its bound instead of swinging back to empty.
    expect(memo.size).toBeGreaterThan(bound / 2);
    const last = results[results.length - 1]!;
    expect(memo.transition(last.from as never, last.event as never)).toBe(last.result);
    const first = results[0]!;
    expect(memo.transition(first.from as never, first.event as never)).not.toBe(first.result);
  });

  it('hands out one object per state: a repeated step is found by identity', () => {
    const memo = new MachineMemo(machine);
    const { from, event } = exploration.steps[0]!;
    const first = memo.transition(from as never, event as never);
    expect(memo.transition(from as never, event as never)).toBe(first);
    const [next] = first;
    const again = memo.transition(next, event as never);
    expect(memo.transition(next, event as never)).toBe(again);
  });

  it('its entries hold no actor (nothing in a result refers to an actor scope)', () => {
    const memo = new MachineMemo(machine);
    for (const { from, event } of exploration.steps) {
      const [, actions] = memo.transition(from as never, event as never);
      for (const action of actions) expect(Object.keys(action).sort()).toEqual(['params', 'type']);
    }
  });
});
