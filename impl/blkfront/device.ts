// blkfront_info: per-device state shared by all rings, and the environment a driver routine
// works in (mirage's functor arguments: the grant table, event channels and memory of its domain).
import type { BlkifAbi } from '../xen/blkif-abi.ts';
import type { EventChannels } from '../xen/event-channel.ts';
import type { GrantTable } from '../xen/grant-table.ts';
import type { DomainMemory, DomId } from '../xen/memory.ts';
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

/** Operating errors: what the peer did wrong, in protocol terms. Never thrown. */
export interface DriverReport {
  readonly side: 'blkfront' | 'blkback';
  readonly code: string;
  readonly ring: number | undefined;
  readonly requestId: number | undefined;
  readonly gref: number | undefined;
  readonly message: string;
}

export interface BlkfrontDevice {
  readonly handle: number;
  rings: RingInfo[];
  ringPageOrder: number;
  connection: Connection;
  features: FrontFeatures;
  /** info->bounce: data goes through the ring's own granted pages (persistent grants on). */
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
  return features.indirectSegments > 0 ? features.indirectSegments : 11;
}
