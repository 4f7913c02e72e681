// Known-bad variants of the drivers, by name. Each replaces one driver routine (impl/ has no
// mutant flags) and is caught by the invariant named in its entry. Traces store the name.
import { type Drivers, HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { ViolationCode } from '../invariants/violation.ts';
import { assumeMultiQueue } from './assume-multi-queue.ts';
import { backendNeverCloses } from './backend-never-closes.ts';
import { backendMissesSuddenClosed } from './backend-misses-sudden-closed.ts';
import { backendIgnoresReconnect } from './backend-ignores-reconnect.ts';
import { probeFailureUnannounced } from './probe-failure-unannounced.ts';
import { reannounceOnClose } from './reannounce-on-close.ts';
import { staleAdvertisement } from './stale-advertisement.ts';
import { backendSkipsFinalCheck } from './backend-skips-final-check.ts';
import { blkbackTrustsReqProd } from './blkback-trusts-req-prod.ts';
import { blkbackRereadsRequest } from './blkback-rereads-request.ts';
import { blkfrontEoiNeverSpurious } from './blkfront-eoi-never-spurious.ts';
import { blkbackEoiNeverSpurious } from './blkback-eoi-never-spurious.ts';
import { blkbackEoiAfterHalt } from './blkback-eoi-after-halt.ts';
import { blkfrontQueriesThenEnds } from './blkfront-queries-then-ends.ts';
import { blkfrontCopiesRequestBack } from './blkfront-copies-request-back.ts';
import { blkfrontRereadsResponse } from './blkfront-rereads-response.ts';
import { blkbackFollowsFrontendState } from './blkback-follows-frontend-state.ts';
import { blkfrontIgnoresDeviceInfo } from './blkfront-ignores-device-info.ts';
import { ringOrderCheckedLate } from './ring-order-checked-late.ts';
import { indirectAnyInnerOp } from './indirect-any-inner-op.ts';
import { collectAfterFree } from './collect-after-free.ts';
import { failedTalkKeepsRings } from './failed-talk-keeps-rings.ts';
import { completeTwice } from './complete-twice.ts';
import { connectedBeforeBackend } from './connected-before-backend.ts';
import { disconnectKeepsReleased } from './disconnect-keeps-released.ts';
import { disconnectFreesBusyRing } from './disconnect-frees-busy-ring.ts';
import { blkbackWritesReadonlyGrant } from './blkback-writes-readonly-grant.ts';
import { blkbackPurgeInUse } from './blkback-purge-in-use.ts';
import { blkbackPersistentPastLimit } from './blkback-persistent-past-limit.ts';
import { blkfrontPurgeKeepsRef } from './blkfront-purge-keeps-ref.ts';
import { dropGrantOnCompletion } from './drop-grant-on-completion.ts';
import { frontendEoiAfterError } from './frontend-eoi-after-error.ts';
import { frontendSkipsFinalCheck } from './frontend-skips-final-check.ts';
import { frontendTrustsRspProd } from './frontend-trusts-rsp-prod.ts';
import { publishPastPrivate } from './publish-past-private.ts';
import { queueDirsFromOne } from './queue-dirs-from-one.ts';
import { ringRefsReversed } from './ring-refs-reversed.ts';
import { advertiseIndirectDefault } from './advertise-indirect-default.ts';
import { barrierForgotten } from './barrier-forgotten.ts';
import { elevenSegmentsRejected } from './eleven-segments-rejected.ts';
import { bounceCopiesFirstSegment } from './bounce-copies-first-segment.ts';
import { blkfrontIgnoresTrusted } from './blkfront-ignores-trusted.ts';
import { responsePaddingFromStack } from './response-padding-from-stack.ts';
import { flushAdvertisedAlways } from './flush-advertised-always.ts';
import { flushOpIgnoresBarrier } from './flush-op-ignores-barrier.ts';
import { indirectIgnoresBackendMax } from './indirect-ignores-backend-max.ts';
import { notifyOnlyIdleRing } from './notify-only-idle-ring.ts';
import { oneRequestPerWakeup } from './one-request-per-wakeup.ts';
import { persistentWithoutNegotiation } from './persistent-without-negotiation.ts';
import { persistentWithoutMapping } from './persistent-without-mapping.ts';
import { protocolIgnored } from './protocol-ignored.ts';
import { releaseKeepsEndedRef } from './release-keeps-ended-ref.ts';
import { grantsToFirstRing } from './grants-to-first-ring.ts';
import { grantReturnedTwice } from './grant-returned-twice.ts';
import { requeueDropsLast } from './requeue-drops-last.ts';
import { responseNeverNotifies } from './response-never-notifies.ts';
import { responseOpIsRingOp } from './response-op-is-ring-op.ts';
import { mapFailureKeepsMapped } from './map-failure-keeps-mapped.ts';
import { nativeRingGeometry } from './native-ring-geometry.ts';
import { writeBecomesRead } from './write-becomes-read.ts';
import { wrongResponseOperation } from './wrong-response-operation.ts';

export interface Mutant {
  readonly drivers: Drivers;
  /** The invariant expected to catch it (the teeth test checks the first report line). */
  readonly caughtBy: ViolationCode;
  readonly summary: string;
  /** The property that must find it, when the code's first property is not the one (hostile). */
  readonly property?: string;
  /** Words the first report line must contain (which defence of a shared code caught it). */
  readonly words?: string;
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
    drivers: ringRefsReversed,
    caughtBy: 'queue-layout',
    summary: "talk_to_blkback writes a multi-page ring's grant references in reverse page order",
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
    drivers: staleAdvertisement,
    caughtBy: 'feature-negotiation',
    summary:
      'blkback advertises multi-queue-max-queues 1 kept from an earlier session, not its parameter',
  },
  {
    drivers: reannounceOnClose,
    caughtBy: 'illegal-xenbus-transition',
    summary: 'blkfront answers the backend closing a live connection by writing Initialised',
  },
  {
    drivers: backendNeverCloses,
    caughtBy: 'teardown-liveness',
    summary: "blkback disconnects on the frontend's Closed but never writes Closed itself",
  },
  {
    drivers: backendMissesSuddenClosed,
    caughtBy: 'teardown-liveness',
    summary: 'blkback in InitWait ignores a Closed it sees without Closing (an unbound frontend)',
  },
  {
    drivers: backendIgnoresReconnect,
    caughtBy: 'teardown-liveness',
    summary: "blkback stays Closed on a kexec'd kernel's Initialising (no prepare for reconnect)",
  },
  {
    drivers: probeFailureUnannounced,
    caughtBy: 'teardown-liveness',
    summary: 'a failed xen_blkbk_probe writes its error but leaves the state Initialising',
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
  {
    drivers: flushOpIgnoresBarrier,
    caughtBy: 'protocol-error',
    summary:
      'blkif_queue_rw_req sends BLKIF_OP_FLUSH_DISKCACHE to a backend that offered only feature-barrier',
  },
  {
    drivers: notifyOnlyIdleRing,
    caughtBy: 'lost-wakeup',
    summary: 'flush_requests notifies only when the ring was idle, ignoring req_event',
  },
  {
    drivers: responseOpIsRingOp,
    caughtBy: 'protocol-error',
    summary:
      'blkif_interrupt checks a response against BLKIF_OP_INDIRECT instead of the inner operation',
  },
  {
    drivers: bounceCopiesFirstSegment,
    caughtBy: 'data-integrity',
    summary: 'blkif_completion copies only the first segment of a bounced READ to the guest',
  },
  {
    drivers: blkfrontIgnoresTrusted,
    caughtBy: 'no-leak',
    words: 'untrusted backend',
    summary:
      'blkfront bounces only with persistent grants and grants its own data pages whole to an untrusted backend (before 2400617da7ee, XSA-403)',
  },
  {
    drivers: responsePaddingFromStack,
    caughtBy: 'no-leak',
    words: 'response slot',
    summary:
      'make_response copies a response built on its stack, padding and all, into the slot (before 089bc0143f48, XSA-216)',
  },
  {
    drivers: releaseKeepsEndedRef,
    // Caught as the ended reference joins the persistent list, before the backend's map fails.
    caughtBy: 'grant-leak',
    summary: 'blkif_completion ends a grant but keeps its reference on rinfo->grants for reuse',
  },
  {
    drivers: indirectIgnoresBackendMax,
    // The negotiation invariant sees it at connect, before any request shows it.
    caughtBy: 'feature-negotiation',
    summary: "blkfront_gather_backend_features ignores the backend's feature-max-indirect-segments",
  },
  {
    drivers: requeueDropsLast,
    caughtBy: 'no-lost-request',
    summary: 'blkif_recover requeues every captured request but the last',
  },
  {
    drivers: advertiseIndirectDefault,
    // The negotiation invariant sees it at connect, before any request shows it.
    caughtBy: 'feature-negotiation',
    summary: 'xen_blkbk_probe advertises feature-max-indirect-segments 256 whatever its limit is',
  },
  {
    drivers: protocolIgnored,
    caughtBy: 'protocol-error',
    summary: "connect_ring ignores the frontend's protocol key and assumes x86_64",
  },
  {
    drivers: flushAdvertisedAlways,
    caughtBy: 'protocol-error',
    summary: 'connect() writes feature-flush-cache = 1 whatever the device supports',
  },
  {
    drivers: nativeRingGeometry,
    caughtBy: 'protocol-error',
    summary: 'read_per_ring_refs attaches the ring with the x86_64 entry size for any protocol',
  },
  {
    drivers: oneRequestPerWakeup,
    caughtBy: 'lost-wakeup',
    summary: 'the ring thread sleeps after each request with more waiting, without a final check',
  },
  {
    drivers: elevenSegmentsRejected,
    caughtBy: 'protocol-error',
    summary: 'dispatch_rw_block_io refuses a direct request with exactly 11 segments',
  },
  {
    drivers: persistentWithoutNegotiation,
    caughtBy: 'protocol-error',
    summary: 'add_persistent_gnt keeps mappings without persistent grants negotiated',
  },
  {
    drivers: persistentWithoutMapping,
    caughtBy: 'grant-leak',
    words: 'the backend does not map it',
    summary:
      'blkif_completion keeps every grant persistent with feature_persistent, mapped by the backend or not',
  },
  {
    drivers: grantsToFirstRing,
    caughtBy: 'ring-isolation',
    summary:
      "blkif_completion returns a request's grant entries to the first ring's list (the pre-multi-queue device-wide info->grants)",
  },
  {
    drivers: grantReturnedTwice,
    caughtBy: 'grant-leak',
    words: 'is held twice',
    summary:
      'blkif_completion adds a persistently kept grant to rinfo->grants twice, in place of an unused entry',
  },
  {
    drivers: responseNeverNotifies,
    caughtBy: 'lost-wakeup',
    summary: 'make_response pushes responses without ever notifying the frontend',
  },
  {
    drivers: barrierForgotten,
    // Seen at the step that drops it: req_cons - rsp_prod_pvt counts a request the ring no longer
    // holds (before answered, only at quiescence, as the flush that never completes).
    caughtBy: 'answered',
    words: 'without a response',
    summary: "drain_io frees the held WRITE_BARRIER's slot without submitting it",
  },
  {
    drivers: frontendTrustsRspProd,
    caughtBy: 'honest-side',
    property: 'hostile-backend',
    words: 'although rsp_prod lay more than',
    summary: 'blkif_interrupt without RING_RESPONSE_PROD_OVERFLOW reads slots up to any rsp_prod',
  },
  {
    drivers: failedTalkKeepsRings,
    caughtBy: 'driver-crash',
    property: 'hostile-backend',
    words: 'negotiate_mq requires the ring array to be freed first',
    summary:
      'blkif_free skips rings no request went through: a failed talk_to_blkback keeps its rings, the next one hits BUG_ON(nr_rings)',
  },
  {
    drivers: frontendEoiAfterError,
    caughtBy: 'honest-side',
    property: 'hostile-backend',
    words: 'an EOI after a protocol error',
    summary: 'blkif_interrupt ends with the late EOI after a protocol error (XSA-391)',
  },
  {
    drivers: blkbackTrustsReqProd,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'although req_prod lay more than',
    summary: '__do_block_io_op without RING_REQUEST_PROD_OVERFLOW copies slots up to any req_prod',
  },
  {
    drivers: indirectAnyInnerOp,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'inner op',
    summary:
      'dispatch_rw_block_io maps an indirect request whose inner op is neither read nor write',
  },
  {
    drivers: blkfrontIgnoresDeviceInfo,
    caughtBy: 'honest-side',
    property: 'hostile-backend',
    words: 'blkfront connected the disk with the backend',
    summary:
      'blkfront_connect connects the disk although xenbus_gather of sectors/info/sector-size failed',
  },
  {
    drivers: ringOrderCheckedLate,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'not "requested ring page order',
    summary:
      'connect_ring reads the ring-refN keys before checking ring-page-order against its max',
  },
  {
    drivers: blkbackFollowsFrontendState,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'blkback went Closing on its own without writing the error node',
    summary:
      'frontend_changed follows a frontend state it has no case for into Closing, without xenbus_dev_fatal',
  },
  {
    drivers: blkfrontRereadsResponse,
    caughtBy: 'read-once',
    words: 'blkfront fetched status of the response',
    summary:
      'blkif_interrupt checks the copy but fetches the status again from the slot at completion (rewriteResponse)',
  },
  {
    drivers: blkbackRereadsRequest,
    caughtBy: 'read-once',
    words: 'blkback fetched sector_number of the request',
    summary: '__do_block_io_op fetches sector_number again from the slot after checking its copy',
  },
  {
    drivers: blkfrontCopiesRequestBack,
    caughtBy: 'read-once',
    words: 'blkfront read back the request it wrote itself',
    summary:
      'blkif_queue_rw_req copies the request it built back from the ring slot into its shadow',
  },
  {
    drivers: blkfrontEoiNeverSpurious,
    caughtBy: 'honest-side',
    property: 'hostile-backend',
    words: 'no XEN_EOI_FLAG_SPURIOUS throttling',
    summary:
      'blkif_interrupt ends every event with xen_irq_lateeoi(irq, 0), never flagged spurious',
  },
  {
    drivers: blkbackEoiNeverSpurious,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'no XEN_EOI_FLAG_SPURIOUS throttling',
    summary:
      'xen_blkif_schedule ends every pass an event started with xen_irq_lateeoi(ring->irq, 0), never flagged spurious',
  },
  {
    drivers: blkbackEoiAfterHalt,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'a late EOI after -EACCES',
    summary:
      'xen_blkif_schedule ends a pass refused with -EACCES by its late EOI and waits for the next event, not for kthread_stop',
  },
  {
    drivers: blkfrontQueriesThenEnds,
    caughtBy: 'honest-side',
    property: 'hostile-backend',
    words: 'while the backend still maps it through grant',
    summary:
      'blkif_completion queries each grant (gnttab_query_foreign_access) and ends it in a later step, ignoring a failed end (XSA-396)',
  },
  {
    drivers: mapFailureKeepsMapped,
    caughtBy: 'honest-side',
    property: 'hostile-frontend',
    words: 'guest grants; its rings, persistent trees and requests account for',
    summary:
      'xen_blkbk_map fails a request on a grant that does not map but keeps the segments it mapped before it (XSA-365)',
  },
  {
    drivers: disconnectKeepsReleased,
    caughtBy: 'release-once',
    words: 'released',
    summary:
      'xen_blkif_disconnect with a ring busy keeps every ring listed, the released ones too, and releases them again later',
  },
  {
    drivers: disconnectFreesBusyRing,
    caughtBy: 'answered',
    words: 'never answered',
    summary:
      'xen_blkif_disconnect frees a ring with I/O in flight instead of returning -EBUSY: its consumed requests are never answered',
  },
  {
    drivers: blkbackWritesReadonlyGrant,
    caughtBy: 'grant-permission',
    words: 'wrote through its read-only mapping',
    summary:
      "xen_blkbk_map_seg maps a READ's one-shot grants read-only (GNTMAP_readonly test inverted) and stores the disk's data through them",
  },
  {
    drivers: blkbackPurgeInUse,
    caughtBy: 'persistent-cache',
    words: 'does I/O through persistent grant',
    summary:
      'purge_persistent_gnt without the active test: a timed-out entry is unmapped while a request in flight uses it',
  },
  {
    drivers: blkbackPersistentPastLimit,
    caughtBy: 'persistent-cache',
    words: 'over max_persistent_grants',
    summary: 'add_persistent_gnt without the max_pgrants test: the tree grows past the limit',
  },
  {
    drivers: blkfrontPurgeKeepsRef,
    caughtBy: 'grant-leak',
    summary:
      'purge_persistent_grants ends an unmapped kept grant but leaves the entry persistent with its ended reference',
  },
];

export const MUTANTS: ReadonlyMap<string, Mutant> = new Map(LIST.map((m) => [m.drivers.name, m]));

export function driversByName(name: string): Drivers | undefined {
  if (name === HONEST_DRIVERS.name) return HONEST_DRIVERS;
  return MUTANTS.get(name)?.drivers;
}
