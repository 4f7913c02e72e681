// The driver routines the world calls, as one table: the honest ones mirror Linux; a variant
// (properties/mutants, properties/candidates, or a user's file run with `blkif check --drivers`)
// replaces some entries. impl/ itself has no mutant flags.
//
// Coarse routines (queueRequest, processResponses, consumeRequest, completeIo, ...) are what the
// world's actions call; the honest ones call the finer seams through `env.drivers`, so a variant
// that replaces only a seam (say releaseGrant) keeps the honest routine around it. Each entry's
// comment is its contract: what it may read and change, and what it must leave true. The honest
// routines assert their own side of it; the properties judge only what a real peer could see.
import { connectRing, disconnect } from '../blkback/connect.ts';
import {
  keepPersistent,
  mapSegments,
  purgePersistentGrants as purgeBackend,
} from '../blkback/persistent-cache.ts';
import {
  completeIo,
  consumeRequest,
  finalCheck as backFinalCheck,
  makeResponse,
  submitBarrier,
  validateRequest,
} from '../blkback/ring-worker.ts';
import { connectKeys, probeKeys } from '../blkback/xenbus.ts';
import {
  completeResponse,
  finalCheck as frontFinalCheck,
  processResponses,
  releaseGrant,
  validateResponse,
} from '../blkfront/interrupt.ts';
import { purgePersistentGrants } from '../blkfront/purge.ts';
import { buildRequest, flushRequests, queueRequest } from '../blkfront/queue-request.ts';
import { captureInflight, freeRings, requeueCaptured } from '../blkfront/recover.ts';
import {
  bounces,
  gatherBackendFeatures,
  readBackendLimits,
  readDeviceInfo,
  xenbusSwitchState,
} from '../blkfront/xenbus.ts';
import { validateFrontendKeys } from '../../model/negotiate.ts';
import { parseStateNode } from '../../model/xenbus-state.ts';
import { keyLayout } from '../../model/xenstore-keys.ts';

/** xen-blkfront's replaceable routines, grouped as the driver is. */
export interface BlkfrontDrivers {
  // --- request building and dispatch (blkif_queue_rq, under the ring lock: one action) ---
  /**
   * blkif_queue_rq for one request on one connected ring: take a shadow id, buildRequest, copy it
   * into the slot at req_prod_pvt, advance req_prod_pvt, flushRequests. Must either publish
   * exactly one request (its shadow waiting with the request) and answer 'queued', or leave the
   * ring and every list as it found them ('busy' / 'failed').
   */
  readonly queueRequest: typeof queueRequest;
  /**
   * blkif_queue_rw_req / blkif_queue_discard_req: build request `id` in its shadow. May take
   * grant entries from the ring's lists and grant pages to the backend; must record in the shadow
   * every entry it took (grantsUsed, indirectGrants) and the operation the response will carry.
   * Undefined: out of grant references (the caller returns what the shadow holds).
   */
  readonly buildRequest: typeof buildRequest;
  /**
   * flush_requests: publish req_prod (= req_prod_pvt) and notify the backend when req_event asks
   * for it. Must leave req_prod published; a skipped notification is a lost wake-up.
   */
  readonly flushRequests: typeof flushRequests;

  // --- response handling (blkif_interrupt, split at its final re-check) ---
  /**
   * The first half of blkif_interrupt: on a connected device, copy each response from rsp_cons
   * up to the rsp_prod it read once, validateResponse it, completeResponse it; on a refusal mark
   * the device broken and report. Must end with rsp_cons at that rsp_prod; 'finalCheck' when
   * requests are still outstanding, 'idle' after arming rsp_event with nothing outstanding.
   */
  readonly processResponses: typeof processResponses;
  /**
   * The checks of one response: id within the ring, its shadow waiting, the operation the one
   * the request needs. Pure (reads the ring's shadows and the copied response); undefined accepts.
   */
  readonly validateResponse: typeof validateResponse;
  /**
   * blkif_completion for an accepted response: bounce a read's data into the guest's pages,
   * releaseGrant every entry of the request, free the id, then end the request exactly once
   * (env.complete) with the outcome its status gives (downgrading flush/discard on EOPNOTSUPP).
   * Must leave every grant entry back on the ring's lists; a Refusal marks the device broken.
   * It may split at the end of access (set rinfo.revoking and return): it is then called again
   * with the same response, as the ring's next handler step, for the rest. The honest one never
   * splits (gnttab_try_end_foreign_access checks and ends at once).
   */
  readonly completeResponse: typeof completeResponse;
  /**
   * The persistent-grant policy at completion, per entry: end the grant, or keep it granted
   * (only with persistent grants negotiated, when the backend still maps it) for reuse. Must
   * return the entry to the ring's lists exactly once, with INVALID_GRANT_REF iff it was ended;
   * false when the backend still maps a grant it must not keep.
   */
  readonly releaseGrant: typeof releaseGrant;
  /**
   * RING_FINAL_CHECK_FOR_RESPONSES after processResponses: re-arm rsp_event at rsp_cons + 1 and
   * re-read rsp_prod. True means more responses arrived ("goto again"); it may sleep only armed.
   */
  readonly finalCheck: typeof frontFinalCheck;
  /**
   * purge_persistent_grants (blkfront_delay_work): on every ring, end each kept entry of the
   * grant list the backend no longer maps and return it with INVALID_GRANT_REF. Must touch only
   * the ring's free entries, keep every entry the backend still maps, and keep persistent_gnts_c
   * equal to the kept entries. Returns how many it ended.
   */
  readonly purgePersistentGrants: typeof purgePersistentGrants;

  // --- resume and recovery (blkfront_resume, blkif_free, blkif_recover) ---
  /**
   * blkfront_resume, before the rings are freed: move every request held by a shadow or waiting
   * in a hardware queue onto dev.captured. Must lose none; returns how many it took.
   */
  readonly captureInflight: typeof captureInflight;
  /**
   * blkif_free: end every grant of every ring (returning the references that could not be ended,
   * Linux's deferred list), close the channels, drop the ring array (dev.rings becomes empty).
   */
  readonly freeRings: typeof freeRings;
  /**
   * blkif_recover on the new rings: refill the grant lists for the new limits, then hand every
   * captured request (and those queued before the reconnect) to `resubmit` (the block layer's
   * split) and queue the pieces. Must leave dev.captured empty and lose no request.
   */
  readonly requeueCaptured: typeof requeueCaptured;

  // --- negotiation and what the frontend advertises (talk_to_blkback, blkfront_connect) ---
  /** The xenstore keys talk_to_blkback writes for n queues (flat for one, queue-N/ for more). */
  readonly keyLayout: typeof keyLayout;
  /**
   * negotiate_mq's and talk_to_blkback's reads of the backend's limits (multi-queue-max-queues,
   * max-ring-page-order): undefined for absent or unparsable. Reads only through `read`.
   */
  readonly readBackendLimits: typeof readBackendLimits;
  /**
   * blkfront_gather_backend_features: the features in force for this connection from what the
   * backend advertises (through `read`) and the frontend's parameters. Pure. Must not turn on
   * what the backend did not advertise: the backend rejects a request it cannot serve.
   */
  readonly gatherBackendFeatures: typeof gatherBackendFeatures;
  /**
   * info->bounce from the `trusted` node talk_to_blkback read and the negotiated persistent
   * grants. Pure. True makes every data page the backend sees one of the ring's own pages.
   */
  readonly bounces: typeof bounces;
  /**
   * blkfront_connect's xenbus_gather of the mandatory device keys (sectors, info, sector-size):
   * the first one absent or unparsable, undefined when all read. Reads only through `read`; a
   * key named here fails the connect with "reading backend fields".
   */
  readonly readDeviceInfo: typeof readDeviceInfo;
  /**
   * xenbus_switch_state: the value to write to the own state node going to `next`, undefined to
   * skip the write. Pure. The written edges must be ones the Linux frontend takes.
   */
  readonly switchState: typeof xenbusSwitchState;
}

/** xen-blkback's replaceable routines, grouped as the driver is. */
export interface BlkbackDrivers {
  // --- negotiation and what the backend advertises (xen_blkbk_probe, connect_ring, connect) ---
  /** xen_blkbk_probe: the limits written before the frontend connects. Pure. */
  readonly probeKeys: typeof probeKeys;
  /**
   * connect_ring + read_per_ring_refs: read and check the frontend's keys (protocol,
   * feature-persistent, multi-queue-num-queues, ring-page-order, per-ring event-channel and
   * ring-refs) against the backend's limits. Reads only through `read`; a failure is the text
   * of xenbus_dev_fatal.
   */
  readonly validateFrontendKeys: typeof validateFrontendKeys;
  /**
   * connect(): the features and device properties written in one transaction once the rings are
   * mapped; feature-persistent must say what connect_ring negotiated. Pure.
   */
  readonly connectKeys: typeof connectKeys;
  /**
   * xenbus_switch_state for blkback: the value to write to the own state node going to `next`,
   * undefined to skip the write. Pure. The written edges must be ones the Linux backend takes.
   */
  readonly switchState: typeof xenbusSwitchState;
  /**
   * The state frontend_changed switches on, from the text of the frontend's state node as the
   * watch callback reads it (xenbus_read_driver_state: absent or unparsable is Unknown). Pure.
   * A value with no case in frontend_changed must come back as itself (it is fatal there).
   */
  readonly frontendChangedState: typeof parseStateNode;

  // --- ring attach (read_per_ring_refs' mapping) ---
  /**
   * Map ring `index`'s pages as one area, check the frontend has not published more than the
   * ring holds, BACK_RING_ATTACH (at rsp_prod: a new instance re-attaches), bind the event
   * channel. On failure every page it mapped is unmapped again.
   */
  readonly connectRing: typeof connectRing;
  /**
   * xen_blkif_disconnect over the rings still to release: stop each ring's thread; keep a ring
   * with I/O in flight (halted) for a later call; release every other one exactly once
   * (releaseRing: channel closed, persistent grants freed, ring unmapped, pool as it stands),
   * returning what each release returned. A ring it releases must not be among those it keeps.
   */
  readonly disconnect: typeof disconnect;

  // --- request consumption (the ring thread: __do_block_io_op, dispatch_rw_block_io) ---
  /**
   * One RING_COPY_REQUEST from req_cons and its dispatch: overflow check, validateRequest, map
   * the data, then submit (one pending slot, in flight), hold a barrier for drain_io, or answer
   * at once with one makeResponse. Must move req_cons by exactly one (none when it halts).
   */
  readonly consumeRequest: typeof consumeRequest;
  /**
   * The checks on the private copy before anything is mapped: known, negotiated operation and a
   * segment count that fits. Pure; a status other than BLKIF_RSP_OKAY is answered at once.
   */
  readonly validateRequest: typeof validateRequest;
  /**
   * The backend's persistent-grant policy for a grant it just mapped: true keeps the mapping in
   * the ring's tree past the request. Only with persistent grants negotiated (the frontend ends
   * access to every other grant at once) and below max_persistent_grants. Pure.
   */
  readonly keepPersistent: typeof keepPersistent;
  /**
   * xen_blkbk_map for a checked request's data segments: map each (persistent ones found in the
   * tree), or, when one fails, release exactly what this call mapped, report grant-map-failed
   * naming the failing grant and return undefined (the request is answered BLKIF_RSP_ERROR).
   */
  readonly mapSegments: typeof mapSegments;
  /**
   * purge_persistent_gnt, one LRU pass of the ring thread: remove (and unmap) idle entries of the
   * tree that timed out, and when the tree is full some other idle ones. Must never remove an
   * active entry (a request in flight does I/O through it). Returns the references unmapped.
   */
  readonly purgePersistent: typeof purgeBackend;
  /** drain_io is over: submit the held WRITE_BARRIER once nothing else is in flight. */
  readonly submitBarrier: typeof submitBarrier;
  /**
   * RING_FINAL_CHECK_FOR_REQUESTS before the thread sleeps: arm req_event at req_cons + 1 and
   * re-read req_prod. False puts the thread to sleep, which it may only do armed.
   */
  readonly finalCheck: typeof backFinalCheck;

  // --- completion (__end_block_io_op -> xen_blkbk_unmap_and_respond -> make_response) ---
  /**
   * The disk finished pending slot `slot`: move the data, release every segment's mapping
   * (persistent ones go idle, others are unmapped), return the slot, then one makeResponse with
   * OKAY. Unmap before responding: the frontend ends access as soon as it sees the response.
   */
  readonly completeIo: typeof completeIo;
  /**
   * make_response: one response (id, operation, status) at rsp_prod_pvt, pushed with
   * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, the frontend notified when rsp_event asks.
   */
  readonly makeResponse: typeof makeResponse;
}

/** A complete set of driver routines: the honest ones, or a variant of them. */
export interface Drivers {
  /** 'honest', or the variant's name (recorded in traces). */
  readonly name: string;
  readonly blkfront: BlkfrontDrivers;
  readonly blkback: BlkbackDrivers;
}

/** The routines as Linux has them ([cur] in the reference). */
export const HONEST_DRIVERS: Drivers = {
  name: 'honest',
  blkfront: {
    queueRequest,
    buildRequest,
    flushRequests,
    processResponses,
    validateResponse,
    completeResponse,
    releaseGrant,
    finalCheck: frontFinalCheck,
    purgePersistentGrants,
    captureInflight,
    freeRings,
    requeueCaptured,
    keyLayout,
    readBackendLimits,
    gatherBackendFeatures,
    bounces,
    readDeviceInfo,
    switchState: xenbusSwitchState,
  },
  blkback: {
    probeKeys,
    validateFrontendKeys,
    connectKeys,
    switchState: xenbusSwitchState,
    frontendChangedState: parseStateNode,
    connectRing,
    disconnect,
    consumeRequest,
    validateRequest,
    keepPersistent,
    mapSegments,
    purgePersistent: purgeBackend,
    submitBarrier,
    finalCheck: backFinalCheck,
    completeIo,
    makeResponse,
  },
};
