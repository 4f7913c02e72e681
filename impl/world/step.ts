// step(world, action): performs exactly one action. The only mutator of a world; its result
// depends only on the world and the action. What each kind does lives with its actor
// (impl/world/actors/); this is the table lookup.
import { rowOf } from './actors/index.ts';
import type { Action } from './action.ts';
import type { World } from './world.ts';
import { assert } from '../assert.ts';

export function step(world: World, action: Action): void {
  const count = world.stepCount + 1;
  world.stepCount = count;
  rowOf(action).perform(world, action);
  // One action per step: no action's handler steps the world again.
  assert(world.stepCount === count, 'action %s took more than one step', action.kind);
}
