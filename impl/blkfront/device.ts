// blkfront_info: per-device state shared by all rings, and the environment a driver routine
// works in (mirage's functor arguments: the grant table, event channels and memory of its domain).
import { assert } from '../assert.ts';
import type { BlkifAbi } from '../xen/blkif-abi.ts';
import type { EventChannels } from '../xen/event-channel.ts';
import type { GrantTable } from '../xen/grant-table.ts';
import type { DomainMemory, DomId } from '../xen/memory.ts';
import type { BlkfrontDrivers } from '../world/drivers.ts';
import type { BlockRequest } from './block-request.ts';
import type { RingInfo } from './ring-info.ts';

/** info->connected in Linux. */
export type Connection = 'disconnected' | 'connected' | 'suspended' | 'error';

export type FlushMode = 'barrier' | 'flush' | 'none';

export interface FrontFeatures {
  /** Negotiated: frontend parameter AND backend feature-persistent. */
  persistent: boolean;
  /** Negotiated indirect segments per request; 0 means indirect descriptors are off. */
  indirectSegments: number;
  flush: FlushMode;
  discard: boolean;
  discardSecure: boolean;
}

export type Outcome = 'ok' | 'error' | 'notsupp';

/** What blkfront reports: a backend's response it refuses (blkif_interrupt's checks). */
export type BlkfrontReportCode =
  /** RING_RESPONSE_PROD_OVERFLOW: rsp_prod more than a ring ahead of rsp_cons. */
  | 'illegal-response-count'
  /** get_id_from_freelist's counterpart: "response has incorrect id". */
  | 'response-id-out-of-range'
  /** blkif_completion on a shadow that is not REQ_WAITING ("requested id ... isn't pending"). */
  | 'response-not-waiting'
  /** blkif_get_final_status: the response's operation is not the request's. */
  | 'response-wrong-operation'
  /** gnttab_try_end_foreign_access refused: "backend has not unmapped grant". */
  | 'grant-still-mapped'
  /** add_id_to_freelist refused a second free of the same id. */
  | 'bad-free-id'
  /** The frontend machine saw the guest misuse the device (a bug report, not the peer's). */
  | 'guest-bug';

/**
 * A response blkfront refuses, as a seam returns it (undefined means accepted): the code and the
 * message of the report the caller files before it marks the device broken.
 */
export interface Refusal {
  readonly code: BlkfrontReportCode;
  readonly message: string;
}

/** What blkback reports: a frontend's request it refuses (dispatch_rw_block_io's checks). */
export type BlkbackReportCode =
  /** RING_REQUEST_CONS_OVERFLOW: req_prod more than a ring ahead of the responses. */
  | 'ring-overflow'
  /** The request slot does not decode (bad operation or segment count). */
  | 'bad-request'
  /** Decoded, but not acceptable in this connection (a feature not negotiated). */
  | 'request-rejected'
  /** A segment's first_sect/last_sect outside the page or reversed. */
  | 'bad-segment'
  /** A write to a vbd opened read-only. */
  | 'read-only'
  /** Sectors beyond the end of the backing disk. */
  | 'out-of-range'
  /** gnttab_map_refs failed: the frontend's grant is not a grant to us. */
  | 'grant-map-failed';

export type DriverReportCode = BlkfrontReportCode | BlkbackReportCode;

interface ReportFields {
  readonly ring: number | undefined;
  readonly requestId: number | undefined;
  readonly gref: number | undefined;
  readonly message: string;
}

/** Operating errors: what the peer did wrong, in protocol terms. Never thrown. */
export type DriverReport =
  | (ReportFields & { readonly side: 'blkfront'; readonly code: BlkfrontReportCode })
  | (ReportFields & { readonly side: 'blkback'; readonly code: BlkbackReportCode });

export interface BlkfrontDevice {
  readonly handle: number;
  rings: RingInfo[];
  ringPageOrder: number;
  connection: Connection;
  features: FrontFeatures;
  /** What talk_to_blkback read from the own `trusted` node (absent or unparsable: trusted). */
  backendTrusted: boolean;
  /**
   * info->bounce: data goes through the ring's own granted pages, never the guest's (persistent
   * grants on, or the backend untrusted). Set by blkfront_gather_backend_features (bounces()).
   */
  bounce: boolean;
  /** Requests captured by blkfront_resume, reissued by blkif_recover. */
  captured: BlockRequest[];
}

export interface FrontEnv {
  readonly domid: DomId;
  readonly backendDomid: DomId;
  readonly memory: DomainMemory;
  readonly gnttab: GrantTable;
  readonly evtchn: EventChannels;
  readonly abi: BlkifAbi;
  /**
   * The driver routines in force (the world's Drivers table): the honest coarse routines call
   * their finer seams through it, so a variant that replaces only a seam is still reached.
   */
  readonly drivers: BlkfrontDrivers;
  /**
   * The backend may rewrite a slot it already published (a hostile backend). blkif_interrupt then
   * stops between RING_COPY_RESPONSE and the processing of the copy, so an adversary step can sit
   * there; an honest backend never writes a published slot, so with it the window commutes with
   * every other action and is not split (a partial-order reduction).
   */
  readonly peerMayRewrite: boolean;
  /** The domain's event-channel limit (max_event_channels); undefined: Xen's default. */
  readonly eventChannelsMax?: number | undefined;
  /** The guest edge: blk_mq_end_request. Called exactly once per request by a correct driver. */
  complete(request: BlockRequest, outcome: Outcome): void;
  report(report: DriverReport): void;
}

/**
 * An environment like `env` with some members replaced (a variant's wrapper around the guest
 * edge or the grant table). The world's environments are objects with methods, so a spread
 * would drop them: the result keeps `env` as its prototype and only shadows what it overrides.
 */
export function envWith<E extends object>(env: E, overrides: Partial<E>): E {
  return Object.assign(Object.create(env) as E, overrides);
}

export function segmentLimit(features: FrontFeatures): number {
  assert(
    Number.isInteger(features.indirectSegments),
    'indirect segments %s',
    features.indirectSegments,
  );
  assert(features.indirectSegments >= 0, 'indirect segments %s', features.indirectSegments);
  return features.indirectSegments > 0 ? features.indirectSegments : 11;
}
