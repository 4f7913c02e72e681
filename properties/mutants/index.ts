// Known-bad variants of the drivers, by name. Each replaces one driver routine (impl/ has no
// mutant flags) and is caught by the invariant named in its entry. Traces store the name.
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { ViolationCode } from '../invariants/violation.ts';
import { assumeMultiQueue } from './assume-multi-queue.ts';
import { backendNeverCloses } from './backend-never-closes.ts';
import { backendSkipsFinalCheck } from './backend-skips-final-check.ts';
import { collectAfterFree } from './collect-after-free.ts';
import { completeTwice } from './complete-twice.ts';
import { connectedBeforeBackend } from './connected-before-backend.ts';
import { dropGrantOnCompletion } from './drop-grant-on-completion.ts';
import { frontendSkipsFinalCheck } from './frontend-skips-final-check.ts';
import { publishPastPrivate } from './publish-past-private.ts';
import { queueDirsFromOne } from './queue-dirs-from-one.ts';
import { writeBecomesRead } from './write-becomes-read.ts';
import { wrongResponseOperation } from './wrong-response-operation.ts';

export interface Mutant {
  readonly drivers: Drivers;
  /** The invariant expected to catch it (the teeth test checks the first report line). */
  readonly caughtBy: ViolationCode;
  readonly summary: string;
}

const LIST: readonly Mutant[] = [
  collectAfterFree,
  {
    drivers: completeTwice,
    caughtBy: 'no-duplicate-completion',
    summary: 'blkif_completion ends every request twice',
  },
  {
    drivers: dropGrantOnCompletion,
    caughtBy: 'grant-leak',
    summary: 'blkif_completion forgets to return one grant entry to rinfo->grants',
  },
  {
    drivers: publishPastPrivate,
    caughtBy: 'ring-bounds',
    summary: 'flush_requests publishes req_prod one past req_prod_pvt',
  },
  {
    drivers: queueDirsFromOne,
    caughtBy: 'queue-layout',
    summary: 'talk_to_blkback numbers queue directories from queue-1',
  },
  {
    drivers: assumeMultiQueue,
    caughtBy: 'single-queue-fallback',
    summary: 'negotiate_mq treats a missing multi-queue-max-queues as no limit',
  },
  {
    drivers: connectedBeforeBackend,
    caughtBy: 'illegal-xenbus-transition',
    summary: 'the frontend writes Connected instead of Initialised after committing its keys',
  },
  {
    drivers: backendNeverCloses,
    caughtBy: 'teardown-liveness',
    summary: "blkback disconnects on the frontend's Closed but never writes Closed itself",
  },
  {
    drivers: backendSkipsFinalCheck,
    caughtBy: 'lost-wakeup',
    summary: 'the blkback ring thread sleeps without RING_FINAL_CHECK_FOR_REQUESTS',
  },
  {
    drivers: frontendSkipsFinalCheck,
    caughtBy: 'lost-wakeup',
    summary: 'blkif_interrupt arms rsp_event and returns without the final re-check',
  },
  {
    drivers: writeBecomesRead,
    caughtBy: 'data-integrity',
    summary: 'blkback completes a WRITE by reading the disk into the guest pages',
  },
  {
    drivers: wrongResponseOperation,
    caughtBy: 'protocol-error',
    summary: 'make_response echoes BLKIF_OP_INDIRECT instead of the inner operation',
  },
];

export const MUTANTS: ReadonlyMap<string, Mutant> = new Map(LIST.map((m) => [m.drivers.name, m]));

export function driversByName(name: string): Drivers | undefined {
  if (name === HONEST_DRIVERS.name) return HONEST_DRIVERS;
  return MUTANTS.get(name)?.drivers;
}
