// Candidate variants: alternatives to the honest drivers that are expected to keep every
// invariant (a different notification strategy, a different place to re-arm an event). Unlike
// the known-bad variants (properties/mutants), nothing here is required to fail: the candidates
// suite runs each on every property, and a candidate that fails is a finding about the protocol
// or the model. Record it here (finding: the code and what it means) rather than deleting the
// candidate, so it stays reproducible; the suite then checks it still fails that way.
import type { Drivers } from '../../impl/world/drivers.ts';
import type { ViolationCode } from '../invariants/violation.ts';
import { backendNotifiesAlways } from './backend-notifies-always.ts';
import { frontendEarlyRearm } from './frontend-early-rearm.ts';
import { persistentGrantLru } from './persistent-grant-lru.ts';

export interface Candidate {
  readonly drivers: Drivers;
  readonly summary: string;
  /** Set once a candidate was found to break an invariant: the code, and what was learnt. */
  readonly finding?: { readonly code: ViolationCode; readonly note: string };
}

const LIST: readonly Candidate[] = [
  {
    drivers: backendNotifiesAlways,
    summary: 'make_response raises the event after every response, ignoring rsp_event',
  },
  {
    drivers: frontendEarlyRearm,
    summary: 'blkif_interrupt re-arms rsp_event before it processes, then re-checks as Linux does',
  },
  {
    drivers: persistentGrantLru,
    summary:
      'blkif_completion reuses the least recently kept persistent grant first (docs/your-driver.md)',
  },
];

export const CANDIDATES: ReadonlyMap<string, Candidate> = new Map(
  LIST.map((c) => [c.drivers.name, c]),
);
