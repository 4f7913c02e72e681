// The ledger's own findings (it checks at the guest edge as completions happen).
import { stateless } from './invariant.ts';
import { honestGuest } from './runs.ts';

export const noDuplicateCompletion = stateless({
  code: 'no-duplicate-completion',
  phase: 'step',
  when: honestGuest,
  summary: 'no request completes twice, none completes that was never submitted',
  check: (_world, ledger) => ledger.violations.filter((v) => v.code === 'no-duplicate-completion'),
});

export const dataIntegrity = stateless({
  code: 'data-integrity',
  phase: 'step',
  when: honestGuest,
  summary: 'reads return the last completed write (overlapping concurrent writes in any order)',
  check: (_world, ledger) => ledger.violations.filter((v) => v.code === 'data-integrity'),
});
