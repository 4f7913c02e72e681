// A broken invariant, worded in protocol terms (zod's issue shape: a stable code plus the fields
// a reviewer needs). The first line of every failure report is formatViolation() of the first one.

export type ViolationCode =
  | 'no-lost-request'
  | 'no-duplicate-completion'
  | 'grant-leak'
  | 'ring-isolation'
  | 'ring-bounds'
  | 'illegal-xenbus-transition'
  | 'queue-layout'
  | 'single-queue-fallback'
  | 'lost-wakeup'
  | 'data-integrity'
  | 'protocol-error'
  | 'driver-crash'
  | 'honest-side'
  | 'teardown-liveness'
  | 'feature-negotiation'
  | 'read-once'
  | 'release-once'
  | 'grant-permission'
  | 'no-leak'
  | 'persistent-cache'
  | 'answered'
  | 'canary';

export interface Violation {
  readonly code: ViolationCode;
  readonly step: number;
  readonly ring?: number;
  readonly requestId?: number;
  readonly gref?: number;
  readonly key?: string;
  readonly message: string;
}

/** Safety violations are found after a step; liveness ones only at quiescence. */
export const LIVENESS_CODES: ReadonlySet<ViolationCode> = new Set([
  'no-lost-request',
  'lost-wakeup',
  'teardown-liveness',
]);

export function formatViolation(v: Violation): string {
  const where: string[] = [];
  if (v.ring !== undefined) where.push(`ring ${v.ring}`);
  if (v.requestId !== undefined) where.push(`request id ${v.requestId}`);
  if (v.gref !== undefined) where.push(`gref ${v.gref}`);
  if (v.key !== undefined) where.push(`key ${v.key}`);
  const at = where.length > 0 ? `: ${where.join(', ')}` : '';
  return `${v.code} at step ${v.step}${at} — ${v.message}`;
}

/**
 * What a check that found nothing returns: one frozen array. A step checker runs after every
 * step of every run, and a new empty array per check was about a tenth of what a checked step
 * allocated.
 */
export const NO_VIOLATIONS: readonly Violation[] = Object.freeze([]);

/**
 * A checker's list of this check's findings, kept from check to check: `start` empties it (a
 * check that threw leaves nothing behind) and `take` hands what was found to the caller as an
 * array of its own. Explorer forks share one (run-state.ts's NOT_MEMORY: 'renewed').
 */
export class FindingList {
  private readonly items: Violation[] = [];

  start(): Violation[] {
    this.items.length = 0;
    return this.items;
  }

  take(): readonly Violation[] {
    const items = this.items;
    if (items.length === 0) return NO_VIOLATIONS;
    const found = items.slice();
    items.length = 0;
    return found;
  }
}
