// The registry: every invariant the suite checks, by phase.
import { grantAccounting, grantAccountingFull } from './grant-accounting.ts';
import { grantPermission } from './grant-permission.ts';
import { persistentCache } from './persistent-cache.ts';
import type { Invariant } from './invariant.ts';
import { dataIntegrity, noDuplicateCompletion } from './ledger-checks.ts';
import { honestSide, honestSideAtQuiescence } from './honest-side.ts';
import { lostWakeup } from './lost-wakeup.ts';
import { noLeak } from './no-leak.ts';
import { noLostRequest } from './no-lost-request.ts';
import { queueLayout, singleQueueFallback } from './queue-layout.ts';
import { protocolError } from './protocol-error.ts';
import { readOnce } from './read-once.ts';
import { ringBounds } from './ring-bounds.ts';
import { ringIsolation } from './ring-isolation.ts';
import { releaseOnce, releaseOnceAtQuiescence } from './release-once.ts';
import { answered } from './answered.ts';
import { featureNegotiation } from './feature-negotiation.ts';
import { teardownLiveness } from './teardown-liveness.ts';
import { legalXenbusTransitions } from './xenbus-transitions.ts';

// Within a phase the first finding is the one reported, so the more specific check comes first:
// a lost wake-up also leaves requests incomplete, and names the ring and indices that explain it.
export const INVARIANTS: readonly Invariant[] = [
  noDuplicateCompletion,
  dataIntegrity,
  ringBounds,
  readOnce,
  noLeak,
  protocolError,
  // Before grant accounting: an entry moved to another ring also breaks both rings' counts.
  ringIsolation,
  grantAccounting,
  grantPermission,
  persistentCache,
  releaseOnce,
  answered,
  legalXenbusTransitions,
  // Each judges only the runs its `when` names (runs.ts): hostile-peer runs skip what trusts the peer.
  honestSide,
  // Before the layout: a wrong advertisement also makes the frontend use another queue count.
  featureNegotiation,
  singleQueueFallback,
  queueLayout,
  lostWakeup,
  noLostRequest,
  teardownLiveness,
  grantAccountingFull,
  releaseOnceAtQuiescence,
  honestSideAtQuiescence,
];

export const STEP_INVARIANTS: readonly Invariant[] = INVARIANTS.filter((i) => i.phase === 'step');
export const QUIESCENCE_INVARIANTS: readonly Invariant[] = INVARIANTS.filter(
  (i) => i.phase === 'quiescence',
);

export { type Invariant, type InvariantChecker, startCheckers } from './invariant.ts';
export { formatViolation, type Violation, type ViolationCode } from './violation.ts';
