// What an exploration reached within its bounds, in the words of the property suite's coverage
// report (properties/coverage.ts): action kinds taken (transitions), xenbus state edges each side
// took, machine states the reached states are in. Within bounds, an edge or state listed as not
// reached is unreachable, not merely unsampled: every interleaving up to the bound was tried.
import type { Action } from '../../impl/world/action.ts';
import { actionKey } from '../../impl/world/action.ts';
import type { World } from '../../impl/world/world.ts';
import { stateValuePath } from '../../model/graph.ts';
import { ACTION_KEYS, creditState, edgeName, emptyCounts, section } from '../coverage.ts';
import type { TransitionHook } from './search.ts';

export class ExploreCoverage {
  readonly actions = new Map<string, number>(ACTION_KEYS.map((k) => [k, 0]));
  readonly xenbusEdges: Map<string, number>;
  readonly machineStates: Map<string, number>;

  constructor() {
    const counts = emptyCounts();
    this.xenbusEdges = counts.xenbusEdges;
    this.machineStates = counts.machineStates;
  }

  /** The search's transition hook: one transition, and the state it reached when it is new. */
  readonly hook: TransitionHook = (child: World, action: Action, fresh: boolean, from: number) => {
    const key = actionKey(action);
    this.actions.set(key, (this.actions.get(key) ?? 0) + 1);
    // The state writes this step made: the child's log past the parent's.
    for (let i = from; i < child.stateWrites.length; i++) {
      const w = child.stateWrites[i]!;
      const edge = edgeName(w.side, w.from, w.to, w.writer);
      this.xenbusEdges.set(edge, (this.xenbusEdges.get(edge) ?? 0) + 1);
    }
    if (!fresh) return;
    creditState(this.machineStates, 'frontend', stateValuePath(child.front.snapshot.value));
    creditState(this.machineStates, 'backend', stateValuePath(child.host.back.snapshot.value));
  };

  /** The report: every action kind, then the edges and machine states not reached. */
  report(states: number): string {
    return [
      `coverage within the bounds (${states.toLocaleString('en-US')} states)`,
      ...section('action kinds (transitions)', this.actions, true),
      ...section(
        'xenbus state edges of the drivers (transitions; unreachable listed)',
        this.xenbusEdges,
        false,
      ),
      ...section(
        'machine states (states in or under them; unreachable listed)',
        this.machineStates,
        false,
      ),
    ].join('\n');
  }
}
