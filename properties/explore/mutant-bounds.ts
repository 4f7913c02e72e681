// Each known-bad variant with the bounds explore finds it within: the configuration (small), the
// faults and, for a variant only a hostile peer exposes, the attack (a budget of one), and a
// depth bound. properties/explore/mutants.test.ts explores each and holds the finding to this
// table, so a new variant in properties/mutants needs its row here. Rows marked `long` explore
// several thousand states (tens of seconds on this machine): `npm test` runs the others, and
// `BLKIF_EXPLORE_LONG=1 npx vitest run properties/explore/mutants.test.ts` or
// `npm run bench explore` runs them all.
import type { HostileSide } from '../../impl/world/hostile/plan.ts';
import { type ConfigBounds, hostilePlanOf } from './bounds.ts';

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
  /** Thousands of states: left to the long run and the bench. */
  readonly long?: boolean;
}

const W1: Partial<ConfigBounds> = { requests: 1, ops: ['write'] };
const W2: Partial<ConfigBounds> = { requests: 2, ops: ['write'] };
/** A request in flight when the guest migrates to a backend like the first. */
const MIGRATE: Partial<ConfigBounds> = { ...W1, migrations: 1, migrateQueues: 1 };
const INDIRECT: Partial<ConfigBounds> = { ...W1, indirectSegments: 32, sectors: 128 };

/** One attack of a hostile `side` in the bounds (`--hostile side --attacks 1 --attack a:v`). */
function attack(side: HostileSide, name: string, value: number): Partial<ConfigBounds> {
  const made = hostilePlanOf(side, 1, [{ attack: name, value }]);
  if (!made.ok) throw new Error(`mutant-bounds: ${made.message}`);
  return { hostile: made.plan };
}

export const MUTANT_BOUNDS: ReadonlyMap<string, MutantBound> = new Map<string, MutantBound>([
  // The resume captures nothing of what was in flight.
  ['collect-after-free', { bounds: MIGRATE, depth: 32, kind: 'quiescence', long: true }],
  ['requeue-drops-last', { bounds: MIGRATE, depth: 32, kind: 'quiescence', long: true }],
  ['complete-twice', { bounds: W1, depth: 18, kind: 'step' }],
  ['drop-grant-on-completion', { bounds: W1, depth: 18, kind: 'step' }],
  ['publish-past-private', { bounds: W1, depth: 14, kind: 'step' }],
  ['response-never-notifies', { bounds: W1, depth: 20, kind: 'quiescence' }],
  // No persistent grants (SMALL_BOUNDS): only trusted = 0 asks for the bounce. A read: its page
  // is private under the sectors too (a one-page write overwrites all of it with its data).
  [
    'blkfront-ignores-trusted',
    { bounds: { requests: 1, ops: ['read'], untrusted: true }, depth: 14, kind: 'step' },
  ],
  ['response-padding-from-stack', { bounds: W1, depth: 20, kind: 'step' }],
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
  // The backend's probe already advertises the stale queue count.
  [
    'stale-advertisement',
    { bounds: { queues: 2, backendQueues: [2], requests: 0 }, depth: 6, kind: 'step' },
  ],
  // Connected, then xl block-detach: the frontend answers the backend's Closing.
  ['reannounce-on-close', { bounds: { requests: 0, unplug: true }, depth: 16, kind: 'step' }],
  ['backend-never-closes', { bounds: { requests: 0, close: true }, depth: 16, kind: 'quiescence' }],
  // The guest unbinds blkfront before blkback connected: Closed over Initialising.
  [
    'backend-misses-sudden-closed',
    { bounds: { requests: 0, unbind: true }, depth: 8, kind: 'quiescence' },
  ],
  // Unbound before talking, blkback Closed, then the kexec's reset writes Initialising.
  [
    'backend-ignores-reconnect',
    { bounds: { requests: 0, unbind: true, kexec: true }, depth: 12, kind: 'quiescence' },
  ],
  // The failed probe's state stays Initialising under a waiting blkfront.
  [
    'probe-failure-unannounced',
    { bounds: { requests: 0, probeFailure: true }, depth: 4, kind: 'quiescence' },
  ],
  // Two ring pages: their references reversed.
  ['ring-refs-reversed', { bounds: { ringOrder: 1, requests: 0 }, depth: 6, kind: 'step' }],
  ['connected-before-backend', { bounds: W1, depth: 6, kind: 'step' }],
  // A second fetch of a slot field shows at the first request consumed or response processed.
  ['blkback-rereads-request', { bounds: W1, depth: 16, kind: 'step' }],
  ['blkfront-rereads-response', { bounds: W1, depth: 18, kind: 'step' }],
  ['blkfront-copies-request-back', { bounds: W1, depth: 14, kind: 'step' }],
  // Two requests: the second is published while the ring thread sleeps (or is not kicked).
  ['backend-skips-final-check', { bounds: {}, depth: 24, kind: 'quiescence', long: true }],
  ['one-request-per-wakeup', { bounds: W2, depth: 24, kind: 'quiescence', long: true }],
  ['notify-only-idle-ring', { bounds: W2, depth: 25, kind: 'quiescence', long: true }],
  // The second response lands in the window the skipped final check would close.
  ['frontend-skips-final-check', { bounds: W2, depth: 27, kind: 'quiescence', long: true }],
  // A read after the write sees the disk the write never changed.
  ['write-becomes-read', { bounds: {}, depth: 24, kind: 'step', long: true }],
  // The second request reuses the grant entry the first ended.
  ['release-keeps-ended-ref', { bounds: W2, depth: 21, kind: 'step' }],
  // Only an indirect request has an inner operation to echo or compare wrongly.
  ['wrong-response-operation', { bounds: INDIRECT, depth: 18, kind: 'step' }],
  ['response-op-is-ring-op', { bounds: INDIRECT, depth: 18, kind: 'step' }],
  // The backend's limit (32) below the frontend's (64), a 40-segment request.
  [
    'advertise-indirect-default',
    {
      bounds: { ...W1, indirectSegments: 64, backendIndirect: 32, sectors: 320 },
      depth: 15,
      kind: 'step',
    },
  ],
  // A backend without indirect segments, a 12-segment request.
  [
    'indirect-ignores-backend-max',
    {
      bounds: { ...W1, indirectSegments: 32, backendIndirect: 0, sectors: 96 },
      depth: 15,
      kind: 'step',
    },
  ],
  // Exactly BLKIF_MAX_SEGMENTS_PER_REQUEST segments: 88 sectors.
  ['eleven-segments-rejected', { bounds: { ...W1, sectors: 88 }, depth: 15, kind: 'step' }],
  // A disk without flush or barrier; then one with barrier only.
  [
    'flush-advertised-always',
    { bounds: { requests: 1, ops: ['flush'], cache: 'none' }, depth: 15, kind: 'step' },
  ],
  [
    'flush-op-ignores-barrier',
    { bounds: { requests: 1, ops: ['flush'], cache: 'barrier' }, depth: 15, kind: 'step' },
  ],
  [
    'barrier-forgotten',
    {
      bounds: { requests: 2, ops: ['write', 'flush'], cache: 'barrier' },
      depth: 27,
      kind: 'step',
    },
  ],
  // A 32-bit guest: the backend must decode its layout.
  ['protocol-ignored', { bounds: { ...W1, abi: 'x86_32-abi' }, depth: 15, kind: 'step' }],
  ['native-ring-geometry', { bounds: { ...W2, abi: 'x86_32-abi' }, depth: 18, kind: 'step' }],
  // The backend keeps persistent grants the frontend never negotiated.
  [
    'persistent-without-negotiation',
    { bounds: { ...W1, persistent: false, backendPersistent: true }, depth: 18, kind: 'step' },
  ],
  // An indirect page is mapped only while blkback reads it: never persistent.
  [
    'persistent-without-mapping',
    { bounds: { ...INDIRECT, persistent: true }, depth: 18, kind: 'step' },
  ],
  // Two queues, the second request on the second.
  [
    'grants-to-first-ring',
    {
      bounds: { queues: 2, backendQueues: [2], requests: 2, ops: ['write'] },
      depth: 18,
      kind: 'step',
      long: true,
    },
  ],
  // A persistent grant is kept by the first completion.
  ['grant-returned-twice', { bounds: { ...W1, persistent: true }, depth: 18, kind: 'step' }],
  // A persistent-grant READ of two segments after a WRITE of them.
  [
    'bounce-copies-first-segment',
    { bounds: { requests: 2, persistent: true, sectors: 16 }, depth: 28, kind: 'step', long: true },
  ],
  // A hostile peer: one attack, the one the variant fails to refuse (the honest side refuses it).
  [
    'blkfront-trusts-rsp-prod',
    { bounds: { ...W1, ...attack('blkback', 'rspProdBeyondRing', 0) }, depth: 14, kind: 'step' },
  ],
  // Two queues, one usable channel: the first talk fails (ENOSPC), a Connected flap runs the next.
  [
    'failed-talk-keeps-rings',
    {
      bounds: {
        queues: 2,
        backendQueues: [2],
        requests: 0,
        eventChannels: 2,
        ...attack('blkback', 'flapBackendState', 3),
      },
      depth: 12,
      kind: 'step',
    },
  ],
  [
    'blkfront-eoi-after-error',
    { bounds: { ...W1, ...attack('blkback', 'bogusResponseId', 0) }, depth: 14, kind: 'step' },
  ],
  // The backend's sectors deleted before blkfront_connect gathers them.
  [
    'blkfront-ignores-device-info',
    {
      bounds: { requests: 0, ...attack('blkback', 'spoilDeviceInfo', 0) },
      depth: 12,
      kind: 'step',
    },
  ],
  [
    'blkback-ring-order-checked-late',
    {
      bounds: { requests: 0, ...attack('blkfront', 'ringPageOrderAboveMax', 0) },
      depth: 9,
      kind: 'step',
    },
  ],
  [
    'blkback-trusts-req-prod',
    { bounds: { ...W1, ...attack('blkfront', 'reqProdBeyondRing', 0) }, depth: 12, kind: 'step' },
  ],
  // Value 10: the garbage table's well-formed indirect request with inner op discard.
  [
    'blkback-indirect-any-inner-op',
    {
      bounds: { requests: 0, indirectSegments: 32, ...attack('blkfront', 'garbageRequest', 10) },
      depth: 12,
      kind: 'step',
    },
  ],
  // Value 0: two notifications with nothing behind them, the second after the first's EOI.
  [
    'blkfront-eoi-never-spurious',
    { bounds: { ...W1, ...attack('blkback', 'floodEvents', 0) }, depth: 24, kind: 'step' },
  ],
  // Value 0: the guest notifies blkback twice with nothing published, the second after the EOI.
  [
    'blkback-eoi-never-spurious',
    {
      bounds: { requests: 0, ...attack('blkfront', 'floodBackendEvents', 0) },
      depth: 16,
      kind: 'step',
    },
  ],
  // The guest's req_prod a ring past, with a notification: the halting pass must not EOI.
  [
    'blkback-eoi-after-halt',
    {
      bounds: { requests: 0, ...attack('blkfront', 'reqProdBeyondRing', 0) },
      depth: 12,
      kind: 'step',
    },
  ],
  // Two rings, one write on ring 0 still in flight when xl block-detach tears the device down.
  [
    'disconnect-keeps-released',
    {
      bounds: { queues: 2, backendQueues: [2], ...W1, unplug: true },
      depth: 40,
      kind: 'step',
      long: true,
    },
  ],
  // One write in flight when xl block-detach tears the device down: the ring is freed under it.
  ['disconnect-frees-busy-ring', { bounds: { ...W1, unplug: true }, depth: 20, kind: 'step' }],
  // Value 0: a direct read of two segments, the second through a grant that does not exist.
  [
    'map-failure-keeps-mapped',
    { bounds: { requests: 0, ...attack('blkfront', 'mapFailure', 0) }, depth: 12, kind: 'step' },
  ],
  // The one attack: a map of a queried grant between blkif_completion's query and its end.
  [
    'blkfront-queries-then-ends',
    { bounds: { ...W1, ...attack('blkback', 'mapDuringRevocation', 0) }, depth: 24, kind: 'step' },
  ],
  // One read with one-shot grants: its data lands through the mapping made read-only.
  [
    'blkback-writes-readonly-grant',
    { bounds: { requests: 1, ops: ['read'] }, depth: 18, kind: 'step' },
  ],
  // One write with persistent grants, in flight across two LRU passes: the second purges it.
  ['blkback-purge-in-use', { bounds: { ...W1, persistent: true }, depth: 24, kind: 'step' }],
  // One write with persistent grants and max_persistent_grants 0: its grant is kept anyway.
  [
    'blkback-persistent-past-limit',
    { bounds: { ...W1, persistent: true, persistentGrantsMax: 0 }, depth: 18, kind: 'step' },
  ],
  // One write kept persistent, purged by the backend's two passes, then blkfront's purge.
  ['blkfront-purge-keeps-ref', { bounds: { ...W1, persistent: true }, depth: 30, kind: 'step' }],
  // Value 8: the guest writes state "9", a XenbusState frontend_changed has no case for.
  [
    'blkback-follows-frontend-state',
    { bounds: { requests: 0, ...attack('blkfront', 'flapState', 8) }, depth: 8, kind: 'step' },
  ],
]);
