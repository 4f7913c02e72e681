// Where blkfront's control plane touches xenstore through a driver routine rather than the
// machine: reading the backend's limits (talk_to_blkback / negotiate_mq), reading its features
// (blkfront_gather_backend_features) and xenbus_switch_state. They sit in the Drivers table so a
// variant can replace them.
import { negotiateIndirectSegments } from '../../model/negotiate.ts';
import { BE, FE, readUnsigned } from '../../model/xenstore-keys.ts';
import { assert } from '../assert.ts';
import type { FrontFeatures } from './device.ts';

export interface BackendLimits {
  /** multi-queue-max-queues; undefined when absent or unparsable (negotiate_mq then uses 1). */
  readonly queueCountMax: number | undefined;
  /** max-ring-page-order; undefined when absent (single-page rings). */
  readonly ringPageOrderMax: number | undefined;
}

/** xenbus_read_unsigned of the two limits, with absent meaning "not advertised". */
export function readBackendLimits(read: (key: string) => string | undefined): BackendLimits {
  const limits = {
    queueCountMax: readUnsigned(read(BE.multiQueueMaxQueues)),
    ringPageOrderMax: readUnsigned(read(BE.maxRingPageOrder)),
  };
  // The backend wrote the text; readUnsigned's contract is what makes either value safe to use.
  assert(limits.queueCountMax === undefined || Number.isInteger(limits.queueCountMax), 'u32');
  assert(limits.ringPageOrderMax === undefined || Number.isInteger(limits.ringPageOrderMax), 'u32');
  return limits;
}

/**
 * talk_to_blkback's xenbus_read_unsigned(dev->nodename, "trusted", 1): the toolstack's word on
 * the backend (the xen_blkif_trusted module parameter is left at its default, true).
 */
export function readTrusted(read: (key: string) => string | undefined): boolean {
  const value = readUnsigned(read(FE.trusted));
  assert(value === undefined || Number.isInteger(value), 'trusted reads as a u32');
  return value === undefined || value !== 0;
}

/**
 * info->bounce as Linux sets it since 2400617da7ee ("xen/blkfront: force data bouncing when
 * backend is untrusted", XSA-403): bounce when the backend is untrusted (talk_to_blkback) or
 * persistent grants are on (blkfront_gather_backend_features). Pure.
 */
export function bounces(backendTrusted: boolean, persistent: boolean): boolean {
  const bounce = !backendTrusted || persistent;
  assert(
    typeof backendTrusted === 'boolean' && typeof persistent === 'boolean',
    'bounces of flags',
  );
  return bounce;
}

/**
 * blkfront_connect's xenbus_gather of sectors, info and sector-size ("reading backend fields at
 * %s" when one fails): the first key absent or unparsable, undefined when all three read.
 */
export function readDeviceInfo(read: (key: string) => string | undefined): string | undefined {
  const keys = [BE.sectors, BE.info, BE.sectorSize];
  const missing = keys.find((key) => readUnsigned(read(key)) === undefined);
  assert(missing === undefined || keys.includes(missing), 'one of the gathered keys');
  return missing;
}

/** xenbus_switch_state: the value to write to the own state node, undefined to skip (unchanged). */
export function xenbusSwitchState(current: number, next: number): number | undefined {
  assert(Number.isInteger(next) && next >= 0 && next <= 8, 'XenbusState %s', next);
  return next === current ? undefined : next;
}

/** blkfront's module parameters that the feature negotiation reads. */
export interface FrontendParameters {
  /** feature_persistent. */
  readonly persistent: boolean;
  /** max_indirect_segments. */
  readonly indirectSegmentsMax: number;
}

/**
 * blkfront_gather_backend_features (blkfront_connect, and blkif_recover after a resume): what
 * the backend advertises, read with `read` (a backend key; undefined when absent), combined with
 * the frontend's own parameters. Pure. The world sets info->bounce from `persistent` and the `trusted` node (bounces).
 */
export function gatherBackendFeatures(
  read: (key: string) => string | undefined,
  params: FrontendParameters,
): FrontFeatures {
  const flag = (key: string): boolean => (readUnsigned(read(key)) ?? 0) !== 0;
  const persistent = params.persistent && flag(BE.featurePersistent);
  const flushCache = flag(BE.featureFlushCache);
  const features: FrontFeatures = {
    persistent,
    indirectSegments: negotiateIndirectSegments(
      params.indirectSegmentsMax,
      readUnsigned(read(BE.featureMaxIndirectSegments)),
    ),
    flush: flushCache ? 'flush' : flag(BE.featureBarrier) ? 'barrier' : 'none',
    discard: flag(BE.featureDiscard),
    discardSecure: flag(BE.discardSecure),
  };
  assert(features.indirectSegments >= 0, 'indirect segments %s', features.indirectSegments);
  return features;
}
