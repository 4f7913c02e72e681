// Every actor of the world, each one module with its action kinds. The order of this list is the
// fair drain's round-robin order (xenstored first: control-plane progress, then the backend,
// event delivery, the frontend, the guest, the toolstack); the hostile peer is never drained.
import type { Action } from '../action.ts';
import type { Actor, ActorKinds, KindRow } from '../kinds.ts';
import { BLKBACK } from './blkback.ts';
import { BLKFRONT } from './blkfront.ts';
import { GUEST } from './guest.ts';
import { HOSTILE } from './hostile.ts';
import { HYPERVISOR } from './hypervisor.ts';
import { TOOLSTACK } from './toolstack.ts';
import { XENSTORED } from './xenstored.ts';

export const ACTORS = [
  XENSTORED,
  BLKBACK,
  HYPERVISOR,
  BLKFRONT,
  GUEST,
  TOOLSTACK,
  HOSTILE,
] as const;

/** The actors the fair drain visits, in turn. */
export const DRAIN_ACTORS: readonly Actor[] = ACTORS.filter((m) => m.actor !== 'hostile').map(
  (m) => m.actor,
);

/** actor -> kind -> row: step() and describeAction() look an action up here. */
export const KINDS: { readonly [A in Actor]: ActorKinds<A> } = {
  xenstored: XENSTORED.kinds,
  blkback: BLKBACK.kinds,
  hypervisor: HYPERVISOR.kinds,
  blkfront: BLKFRONT.kinds,
  guest: GUEST.kinds,
  toolstack: TOOLSTACK.kinds,
  hostile: HOSTILE.kinds,
};

/** The row of `action`'s kind (typed loosely: each row takes exactly its own action). */
export function rowOf(action: Action): KindRow<Action> {
  const kinds = KINDS[action.actor] as unknown as Record<string, KindRow<Action> | undefined>;
  const row = kinds[action.kind];
  if (row === undefined) throw new TypeError(`no action kind ${action.actor}.${action.kind}`);
  return row;
}
