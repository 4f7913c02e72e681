// The ledger's own findings (it checks at the guest edge as completions happen).
import type { Invariant } from './invariant.ts';

export const noDuplicateCompletion: Invariant = {
  code: 'no-duplicate-completion',
  phase: 'step',
  summary: 'no request completes twice, none completes that was never submitted',
  check: (_world, ledger) => ledger.violations.filter((v) => v.code === 'no-duplicate-completion'),
};

export const dataIntegrity: Invariant = {
  code: 'data-integrity',
  phase: 'step',
  summary: 'reads return the last completed write (overlapping concurrent writes in any order)',
  check: (_world, ledger) => ledger.violations.filter((v) => v.code === 'data-integrity'),
};
