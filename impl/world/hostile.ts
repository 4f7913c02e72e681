// Hostile peers: a frontend or backend replaced by an adversary that writes arbitrary values into
// the shared ring page or its xenstore nodes at any point. The honest side must report, refuse
// and keep its own accounting intact; it never crashes or completes the wrong request.
import type { World } from './world.ts';

export type HostileSide = 'blkfront' | 'blkback';

/** Which peer is hostile and which attacks the scheduler may pick, how many times in all. */
export interface HostilePlan {
  readonly side: HostileSide;
  readonly attacks: readonly string[];
  readonly budget: number;
}

export interface HostileAction {
  readonly actor: 'hostile';
  readonly kind: 'attack';
  readonly side: HostileSide;
  readonly attack: string;
  readonly ring: number;
  /** The value the adversary writes (an id, an index, a queue count...), generated. */
  readonly value: number;
}

/** Attacks possible now, appended after the honest actions (they are faults). */
export function hostileActions(_world: World, _out: HostileAction[]): void {}

export function performAttack(_world: World, _action: HostileAction): void {}
