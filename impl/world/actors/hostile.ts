// The adversary as an actor: one kind, an attack of the hostile plan (impl/world/hostile/ holds
// the attacks themselves, one row each). Every attack starts a fault: the fair drain never takes
// one.
import type { Action } from '../action.ts';
import { attackActions, describeAttack, performAttack } from '../hostile/attacks.ts';
import type { HostileAction } from '../hostile/plan.ts';
import type { ActorModule } from '../kinds.ts';
import type { World } from '../world.ts';

export const HOSTILE: ActorModule<'hostile'> = {
  actor: 'hostile',
  kinds: {
    attack: { perform: performAttack, describe: describeAttack, faultStart: true },
  },
};

/** The attacks possible now, after every honest action (they are faults). */
export function attacksEnabled(world: World, out: Action[]): void {
  if (world.config.hostile !== undefined) attackActions(world, out as HostileAction[]);
}
