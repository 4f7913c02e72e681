// step(world, action): performs exactly one action. The only mutator of a world; its result
// depends only on the world and the action. What each kind does lives with its actor
// (impl/world/actors/); this is the table lookup.
import { rowOf } from './actors/index.ts';
import type { Action } from './action.ts';
import type { World } from './world.ts';

export function step(world: World, action: Action): void {
  world.stepCount += 1;
  rowOf(action).perform(world, action);
}
