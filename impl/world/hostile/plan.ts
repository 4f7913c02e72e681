// The adversary's plan, part of the run's configuration: which peer is hostile, the attacks the
// scheduler may pick from (each spec one shot), and how many it may take in all. A trace stores
// the plan; validateHostilePlan is how a hand-written or edited one is refused.
import { assert } from '../../assert.ts';
import type { ConfigIssue } from '../config.ts';
import { type HostileAttack, isAttackOf } from './attacks.ts';

/** The peer that is hostile: its domain runs its honest driver and also writes what it likes. */
export type HostileSide = 'blkfront' | 'blkback';

/** One attack the scheduler may pick: which ring (modulo the rings there are) and with what value. */
export interface AttackSpec {
  readonly attack: HostileAttack;
  readonly ring: number;
  /** Generated: an id offset, an index distance, a variant selector, a repeat count. */
  readonly value: number;
}

/** Which peer is hostile, the attacks the scheduler may choose from, how many it may take in all. */
export interface HostilePlan {
  readonly side: HostileSide;
  readonly attacks: readonly AttackSpec[];
  readonly budget: number;
  /**
   * The adversary follows its plan in order, each write once the honest driver has handled the
   * last (bound, its watch events fired, no callback or transaction under way): a peer domain
   * that watches the honest side's state node and answers each reaction, as a malicious backend
   * walking blkfront's blkback_changed through a chosen sequence would.
   */
  readonly paced?: boolean;
}

/** One attack as the scheduler takes it: the spec's ring resolved to the ring it hits now. */
export interface HostileAction {
  readonly actor: 'hostile';
  readonly kind: 'attack';
  readonly side: HostileSide;
  readonly attack: HostileAttack;
  readonly ring: number;
  /** The value the adversary writes (an id, an index, a queue count...), generated. */
  readonly value: number;
}

const BUDGET_MAX = 10_000;
/** Far above any queue count a backend could advertise: the target is taken modulo the rings. */
const SPEC_RING_MAX = 1023;
const SPEC_VALUE_MAX = 0xffff_ffff;

export function validateHostilePlan(plan: HostilePlan): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (plan.side !== 'blkfront' && plan.side !== 'blkback') {
    issues.push({
      path: 'hostile.side',
      message: `must be blkfront or blkback, got ${JSON.stringify(plan.side)}`,
    });
    return issues;
  }
  if (!Number.isInteger(plan.budget) || plan.budget < 0 || plan.budget > BUDGET_MAX) {
    issues.push({
      path: 'hostile.budget',
      message: `must be an integer in 0..10000, got ${JSON.stringify(plan.budget)}`,
    });
  }
  if (plan.paced !== undefined && typeof plan.paced !== 'boolean') {
    issues.push({
      path: 'hostile.paced',
      message: `must be a boolean, got ${JSON.stringify(plan.paced)}`,
    });
  }
  plan.attacks.forEach((spec, i) => {
    validateSpec(plan.side, spec, `hostile.attacks[${i}]`, issues);
  });
  assert(
    issues.every((issue) => issue.path.startsWith('hostile.')),
    'plan issues name the plan',
  );
  return issues;
}

/** One spec: an attack of the hostile side, a ring selector and a uint32 value. */
function validateSpec(
  side: HostileSide,
  spec: AttackSpec,
  path: string,
  issues: ConfigIssue[],
): void {
  const before = issues.length;
  if (!isAttackOf(side, spec.attack)) {
    issues.push({
      path,
      message: `${JSON.stringify(spec.attack)} is not an attack of a hostile ${side}`,
    });
  }
  if (!Number.isInteger(spec.ring) || spec.ring < 0 || spec.ring > SPEC_RING_MAX) {
    issues.push({
      path: `${path}.ring`,
      message: `must be an integer in 0..1023, got ${JSON.stringify(spec.ring)}`,
    });
  }
  if (!Number.isInteger(spec.value) || spec.value < 0 || spec.value > SPEC_VALUE_MAX) {
    issues.push({
      path: `${path}.value`,
      message: `must be an integer in 0..2^32-1, got ${JSON.stringify(spec.value)}`,
    });
  }
  assert(issues.length - before <= 3, 'at most one issue per field of a spec');
}
