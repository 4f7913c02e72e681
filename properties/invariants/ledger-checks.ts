// The ledger's own findings (it checks at the guest edge as completions happen).
import type { Ledger } from '../ledger.ts';
import { stateless } from './invariant.ts';
import { honestGuest } from './runs.ts';
import type { Violation, ViolationCode } from './violation.ts';

const NONE: readonly Violation[] = [];

/** The ledger's findings of `code`; nothing is allocated while it has none (every step). */
function findings(ledger: Ledger, code: ViolationCode): readonly Violation[] {
  if (ledger.violations.length === 0) return NONE;
  return ledger.violations.filter((v) => v.code === code);
}

export const noDuplicateCompletion = stateless({
  code: 'no-duplicate-completion',
  phase: 'step',
  when: honestGuest,
  summary: 'no request completes twice, none completes that was never submitted',
  check: (_world, ledger) => findings(ledger, 'no-duplicate-completion'),
});

export const dataIntegrity = stateless({
  code: 'data-integrity',
  phase: 'step',
  when: honestGuest,
  summary: 'reads return the last completed write (overlapping concurrent writes in any order)',
  check: (_world, ledger) => findings(ledger, 'data-integrity'),
});
