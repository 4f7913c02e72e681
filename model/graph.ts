// The only import of @xstate/graph. Two views of a machine:
// - machineEdges(): every transition the definition declares (one edge per transition
//   definition, root transitions included), with its event, guard, targets and effects — what
//   the diagrams draw and what coverage is measured against;
// - explore(): every reachable snapshot under a finite event generator (getAdjacencyMap), each
//   step with the definition edges it took, so tests can assert effects at every step and prove
//   that no declared edge is left unwalked.

import { getAdjacencyMap, getShortestPaths, getStateNodes } from '@xstate/graph';
import {
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
  type StateValue,
  transition,
} from 'xstate';
import { xenbusStateName } from './xenbus-state.ts';

export interface MachineEdge {
  /** Stable identity of one transition definition: `<source id>:<event>:<index>`. */
  readonly key: string;
  /** The state node id (the machine id for root transitions, which apply in every state). */
  readonly sourceId: string;
  /** Target state node ids; empty for a transition that only runs effects. */
  readonly targetIds: readonly string[];
  readonly eventType: string;
  readonly guard: string | undefined;
  /** Effect labels in order, e.g. `switchState(Connected)`, `allocateRings(…)`. */
  readonly effects: readonly string[];
  readonly reenter: boolean;
}

interface ActionItem {
  readonly type?: unknown;
  readonly params?: unknown;
}

interface TransitionDef {
  readonly source: { readonly id: string };
  readonly target?: readonly { readonly id: string }[] | undefined;
  readonly eventType: string;
  readonly guard?: unknown;
  readonly actions: readonly unknown[];
  readonly reenter?: boolean;
}

interface NodeLike {
  readonly id: string;
  readonly transitions: Map<string, readonly TransitionDef[]>;
}

/** Actions that are bookkeeping, not effects: the cached-state assign and xstate built-ins. */
function isEffectName(name: string): boolean {
  return name !== 'cacheState' && !name.startsWith('xstate.');
}

function paramText(name: string, value: unknown): string {
  if (name === 'state' && typeof value === 'number') return xenbusStateName(value) ?? String(value);
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function effectLabel(action: unknown): string | undefined {
  const item = (typeof action === 'object' && action !== null ? action : {}) as ActionItem;
  if (typeof item.type !== 'string' || !isEffectName(item.type)) return undefined;
  if (item.params === undefined) return item.type;
  if (typeof item.params === 'function') return `${item.type}(…)`;
  const values = Object.entries(item.params as Record<string, unknown>).map(([k, v]) =>
    paramText(k, v),
  );
  return `${item.type}(${values.join(', ')})`;
}

function guardLabel(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String(guard.type);
  return 'guard';
}

function toEdge(def: TransitionDef, index: number): MachineEdge {
  const effects: string[] = [];
  for (const action of def.actions) {
    const label = effectLabel(action);
    if (label !== undefined) effects.push(label);
  }
  return {
    key: `${def.source.id}:${def.eventType}:${index}`,
    sourceId: def.source.id,
    targetIds: (def.target ?? []).map((node) => node.id),
    eventType: def.eventType,
    guard: guardLabel(def.guard),
    effects,
    reenter: def.reenter === true,
  };
}

/** Every transition the machine declares, in definition order. */
export function machineEdges(machine: AnyStateMachine): MachineEdge[] {
  const nodes = [machine.root, ...getStateNodes(machine.root)] as unknown as NodeLike[];
  const edges: MachineEdge[] = [];
  for (const node of nodes) {
    for (const defs of node.transitions.values()) {
      defs.forEach((def, index) => {
        edges.push(toEdge(def, index));
      });
    }
  }
  return edges;
}

export interface MachineState {
  /** e.g. 'frontend.Initialising.probing'. */
  readonly id: string;
  /** The parent's id (the machine id for top-level states). */
  readonly parentId: string;
  /** The last path segment, e.g. 'probing'. */
  readonly key: string;
  readonly tags: readonly string[];
  /** The initial child of its parent. */
  readonly initial: boolean;
}

/** Every state node (compound and leaf), root excluded, in definition order. */
export function machineStates(machine: AnyStateMachine): MachineState[] {
  return getStateNodes(machine.root).map((node) => {
    const parent = node.parent;
    const initialTargets = parent?.initial?.target ?? [];
    return {
      id: node.id,
      parentId: parent?.id ?? machine.id,
      key: node.key,
      tags: [...node.tags],
      initial: initialTargets.some((target) => target === node),
    };
  });
}

/** The keys of the definition edges `event` takes from `snapshot` (empty: ignored). */
export function takenEdgeKeys(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: EventObject,
): string[] {
  const defs = machine.getTransitionData(snapshot, event) as unknown as TransitionDef[];
  return defs.map((def) => {
    const siblings = (def.source as unknown as NodeLike).transitions.get(def.eventType) ?? [];
    return `${def.source.id}:${def.eventType}:${siblings.indexOf(def)}`;
  });
}

export interface ExploredStep {
  readonly from: AnyMachineSnapshot;
  readonly event: EventObject;
  readonly to: AnyMachineSnapshot;
  /** The resolved actions transition() returned (feed them to effectsOf). */
  readonly actions: readonly { readonly type: string; readonly params?: unknown }[];
  readonly edgeKeys: readonly string[];
}

export interface Exploration {
  readonly snapshots: readonly AnyMachineSnapshot[];
  /** Steps that took at least one edge (ignored events are left out). */
  readonly steps: readonly ExploredStep[];
  /** Edge key → how many explored steps took it; every declared edge is present (maybe 0). */
  readonly edgeCounts: ReadonlyMap<string, number>;
}

interface AdjacencyVertex {
  readonly state: AnyMachineSnapshot;
  readonly transitions: Record<string, { readonly event: EventObject }>;
}

export interface ExploreOptions<TEvent extends EventObject> {
  readonly input: unknown;
  /** The events to try from a snapshot (the world's possible deliveries there). */
  readonly events: (snapshot: AnyMachineSnapshot) => readonly TEvent[];
  /** Safety bound on the number of snapshots (Infinity when not given). */
  readonly limit?: number;
}

/** Breadth-first exploration of every reachable snapshot, with the edges each step took. */
export function explore<TEvent extends EventObject>(
  machine: AnyStateMachine,
  options: ExploreOptions<TEvent>,
): Exploration {
  const adjacency = getAdjacencyMap(machine, {
    input: options.input,
    events: options.events as (snapshot: unknown) => readonly EventObject[],
    limit: options.limit ?? Number.POSITIVE_INFINITY,
  });
  const edgeCounts = new Map<string, number>();
  for (const edge of machineEdges(machine)) edgeCounts.set(edge.key, 0);
  const snapshots: AnyMachineSnapshot[] = [];
  const steps: ExploredStep[] = [];
  for (const vertex of Object.values(adjacency) as AdjacencyVertex[]) {
    const from = vertex.state;
    snapshots.push(from);
    for (const { event } of Object.values(vertex.transitions)) {
      const edgeKeys = takenEdgeKeys(machine, from, event);
      if (edgeKeys.length === 0) continue;
      const [to, actions] = transition(machine, from, event);
      for (const key of edgeKeys) edgeCounts.set(key, (edgeCounts.get(key) ?? 0) + 1);
      steps.push({ from, event, to, actions, edgeKeys });
    }
  }
  return { snapshots, steps, edgeCounts };
}

/** The shortest event sequence from the initial snapshot to one matching `reached`. */
export function shortestEventsTo<TEvent extends EventObject>(
  machine: AnyStateMachine,
  options: ExploreOptions<TEvent>,
  reached: (snapshot: AnyMachineSnapshot) => boolean,
): TEvent[] | undefined {
  const paths = getShortestPaths(machine, {
    input: options.input,
    events: options.events as (snapshot: unknown) => readonly EventObject[],
    toState: reached as (snapshot: unknown) => boolean,
  });
  let best: TEvent[] | undefined;
  for (const path of paths) {
    const events = path.steps.slice(1).map((step) => (step as { event: TEvent }).event);
    if (best === undefined || events.length < best.length) best = events;
  }
  return best;
}

/** `{ Initialised: 'waitingBackend' }` → 'Initialised.waitingBackend'. */
export function stateValuePath(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? ['', ''];
  return child === undefined ? key : `${key}.${stateValuePath(child as StateValue)}`;
}
