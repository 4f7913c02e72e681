import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, EventObject } from 'xstate';
import { backendMachine } from './backend-machine.ts';
import {
  ALL_BACKEND_EVENTS,
  ALL_FRONTEND_EVENTS,
  backendEventsAt,
  EXPLORE_BACKEND_INPUT,
  EXPLORE_FRONTEND_INPUT,
  frontendEventsAt,
} from './explore-events.ts';
import { frontendMachine } from './frontend-machine.ts';
import {
  type Exploration,
  type ExploreOptions,
  explore,
  shortestEventsTo,
  stateValuePath,
} from './graph.ts';
import {
  checkAnswersHandled,
  checkBackendStep,
  checkFrontendStep,
  checkSwitchStates,
} from './machine-checks.ts';
import type { Side } from './xenbus-state.ts';

const frontendOptions = { input: EXPLORE_FRONTEND_INPUT, events: frontendEventsAt };
const backendOptions = { input: EXPLORE_BACKEND_INPUT, events: backendEventsAt };

function violations(
  machine: AnyStateMachine,
  side: Side,
  exploration: Exploration,
  sideCheck: typeof checkFrontendStep,
): string[] {
  const answers = side === 'frontend' ? ALL_FRONTEND_EVENTS : ALL_BACKEND_EVENTS;
  const found: string[] = [];
  for (const step of exploration.steps) {
    const problems = [
      ...checkSwitchStates(side, step),
      ...checkAnswersHandled(machine, side, step, answers),
      ...sideCheck(step),
    ];
    for (const problem of problems) {
      found.push(
        `${stateValuePath(step.from.value)} --${JSON.stringify(step.event)}--> ${problem}`,
      );
    }
  }
  return found;
}

function unwalked(exploration: Exploration): string[] {
  return [...exploration.edgeCounts].filter(([, count]) => count === 0).map(([key]) => key);
}

interface Case {
  readonly side: Side;
  readonly machine: AnyStateMachine;
  readonly options: ExploreOptions<EventObject>;
  readonly check: typeof checkFrontendStep;
}

const cases: Case[] = [
  {
    side: 'frontend',
    machine: frontendMachine,
    options: frontendOptions,
    check: checkFrontendStep,
  },
  { side: 'backend', machine: backendMachine, options: backendOptions, check: checkBackendStep },
];

describe.each(cases)(
  '$side machine, every reachable state and transition',
  ({ side, machine, options, check }) => {
    const exploration = explore(machine, options);

    it('explores a bounded state space', () => {
      expect(exploration.snapshots.length).toBeGreaterThan(10);
      expect(exploration.snapshots.length).toBeLessThan(5000);
    });

    it('emits legal, answered, protocol-respecting effects at every step', () => {
      expect(violations(machine, side, exploration, check)).toEqual([]);
    });

    it('walks every transition the machine declares', () => {
      expect(unwalked(exploration)).toEqual([]);
    });

    it('reaches every state node', () => {
      const reached = new Set(exploration.snapshots.map((s) => stateValuePath(s.value)));
      const leaves = [...reached].sort();
      expect(leaves.length).toBeGreaterThan(8);
      for (const top of ['Initialising', 'Connected', 'Closing', 'Closed']) {
        expect(leaves.some((leaf) => leaf.startsWith(`${top}.`))).toBe(true);
      }
    });
  },
);

describe('coverage and checks have teeth', () => {
  it('an alphabet without commit failures leaves the failure edges unwalked', () => {
    const noFailures = {
      ...frontendOptions,
      events: (snapshot: Parameters<typeof frontendEventsAt>[0]) =>
        frontendEventsAt(snapshot).filter(
          (e) => !(e.type === 'xenstore.transactionEnded' && e.result === 'error'),
        ),
    };
    const missing = unwalked(explore(frontendMachine, noFailures));
    expect(missing).toContain('frontend.Initialising.writingKeys:xenstore.transactionEnded:4');
  });

  it('a frontend that treats EAGAIN as a commit is caught writing Initialised early', () => {
    const broken = frontendMachine.provide({ guards: { commitOk: () => true } });
    const found = violations(
      broken,
      'frontend',
      explore(broken, frontendOptions),
      checkFrontendStep,
    );
    expect(found.some((v) => v.includes('without a committed key transaction'))).toBe(true);
  });

  it('a backend that connects without the vbd is caught', () => {
    const broken = backendMachine.provide({ guards: { vbdOpen: () => true } });
    const found = violations(broken, 'backend', explore(broken, backendOptions), checkBackendStep);
    expect(found.some((v) => v.includes('without an open vbd'))).toBe(true);
  });
});

describe('pinned shortest paths', () => {
  it('frontend: 6 events to Connected (backend already Connected: talk, then connect)', () => {
    const events = shortestEventsTo(frontendMachine, frontendOptions, (s) =>
      s.matches('Connected'),
    );
    expect(events?.map((e) => e.type)).toEqual([
      'device.probe',
      'otherEnd.stateChanged',
      'backend.limitsRead',
      'rings.allocated',
      'xenstore.transactionEnded',
      'backend.deviceInfoRead',
    ]);
  });

  it('backend: 7 events to Connected (hotplug, frontend ready, connect_ring, connect)', () => {
    const events = shortestEventsTo(backendMachine, backendOptions, (s) => s.matches('Connected'));
    expect(events?.length).toBe(7);
    expect(events?.at(-1)?.type).toBe('xenstore.transactionEnded');
  });
});
