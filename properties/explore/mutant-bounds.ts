// Each known-bad variant with the bounds explore finds it within: the configuration (small), and
// a depth bound. properties/explore/mutants.test.ts explores each and holds the finding to this
// table, so a new variant in properties/mutants needs its row here.
import type { ConfigBounds } from './bounds.ts';

export interface MutantBound {
  /** Changes to SMALL_BOUNDS (1 queue, ring order 0, write then read, no faults). */
  readonly bounds: Partial<ConfigBounds>;
  /**
   * The depth bound it is found within. The breadth-first search's counterexample is a shortest
   * one, so its length is at most this (the world grows: the bound has a little room).
   */
  readonly depth: number;
  /** How it is found: after a step, or at quiescence (the liveness codes). */
  readonly kind: 'step' | 'quiescence';
}

const ONE_WRITE: Partial<ConfigBounds> = { requests: 1, ops: ['write'] };

export const MUTANT_BOUNDS: ReadonlyMap<string, MutantBound> = new Map<string, MutantBound>([
  // Requests in flight when the guest migrates: the resume captures nothing.
  [
    'collect-after-free',
    { bounds: { ...ONE_WRITE, migrations: 1, migrateQueues: 1 }, depth: 32, kind: 'quiescence' },
  ],
  ['complete-twice', { bounds: ONE_WRITE, depth: 18, kind: 'step' }],
  ['drop-grant-on-completion', { bounds: ONE_WRITE, depth: 18, kind: 'step' }],
  ['publish-past-private', { bounds: ONE_WRITE, depth: 14, kind: 'step' }],
  // Directories numbered from 1 only show with two queues.
  [
    'queue-dirs-from-one',
    { bounds: { queues: 2, backendQueues: [2], requests: 0 }, depth: 6, kind: 'step' },
  ],
  // Only a backend without multi-queue shows the missing fallback.
  [
    'assume-multi-queue',
    { bounds: { queues: 2, backendQueues: [undefined], requests: 0 }, depth: 6, kind: 'step' },
  ],
  // Only a frontend that closes asks the backend to reach Closed.
  ['backend-never-closes', { bounds: { requests: 0, close: true }, depth: 16, kind: 'quiescence' }],
  ['connected-before-backend', { bounds: ONE_WRITE, depth: 6, kind: 'step' }],
  // The second request is pushed after the ring thread slept without re-checking.
  ['backend-skips-final-check', { bounds: {}, depth: 24, kind: 'quiescence' }],
  // The second response lands in the window the skipped final check would close.
  [
    'frontend-skips-final-check',
    { bounds: { requests: 2, ops: ['write'] }, depth: 27, kind: 'quiescence' },
  ],
  // A read after the write sees the disk the write never changed.
  ['write-becomes-read', { bounds: {}, depth: 24, kind: 'step' }],
  // Only an indirect request has an inner operation to echo wrongly.
  [
    'wrong-response-operation',
    { bounds: { ...ONE_WRITE, indirectSegments: 32, sectors: 128 }, depth: 18, kind: 'step' },
  ],
]);
