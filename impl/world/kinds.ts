// The table of action kinds: for each actor and kind, what the step does, how it reads in a
// report, and whether taking it starts a fault. step(), describeAction(), isFaultStart() and the
// fair drain's actor order all read this one table, filled by the actor modules in actors/.
import type { Action } from './action.ts';
import type { World } from './world.ts';

export type Actor = Action['actor'];
export type ActionOf<A extends Actor, K extends Action['kind'] = Action['kind']> = Extract<
  Action,
  { readonly actor: A; readonly kind: K }
>;

export interface KindRow<A extends Action> {
  /** Performs the action: the world's only mutation for this kind. */
  readonly perform: (world: World, action: A) => void;
  /** One line for reports and renderers (the fast-check toString lesson). */
  readonly describe: (action: A) => string;
  /** Taking it starts a fault (a conflict, a suspend, an attack): the fair drain never does. */
  readonly faultStart: boolean;
}

/** An actor's kinds, each row typed by its own action. */
export type ActorKinds<A extends Actor> = {
  readonly [K in ActionOf<A>['kind']]: KindRow<ActionOf<A, K>>;
};

/** One place per actor: its name and the rows of its action kinds. */
export interface ActorModule<A extends Actor> {
  readonly actor: A;
  readonly kinds: ActorKinds<A>;
}
