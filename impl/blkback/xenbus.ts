// What blkback writes about itself in xenstore (drivers/block/xen-blkback/xenbus.c): the limits
// xen_blkbk_probe advertises before the frontend connects, and the features and device
// properties connect() writes in its transaction. Pure functions from the backend's parameters
// to the (key, value) pairs, in Linux's order; the world writes them. They sit in the Drivers
// table so a variant can advertise differently.
import {
  BACKEND_PROBE_KEYS,
  type BackendConnectKey,
  type BackendProbeKey,
  BE,
  backendConnectKeys,
} from '../../model/xenstore-keys.ts';
import { assert } from '../assert.ts';

/** blkback's module parameters and the toolstack's choices that its advertisement reads. */
export interface BackendParameters {
  /** xenblk_max_queues; undefined: multi-queue-max-queues is not written. */
  readonly queueCountMax: number | undefined;
  /** xen_blkif_max_ring_order; undefined: max-ring-page-order is not written. */
  readonly ringPageOrderMax: number | undefined;
  /** xen_blkif_max_segments; undefined: feature-max-indirect-segments is not written. */
  readonly indirectSegmentsMax: number | undefined;
  readonly flush: boolean;
  readonly barrier: boolean;
  readonly discard: boolean;
}

/** One key (relative to the backend's directory) and the text written to it. */
export type KeyWrite = readonly [key: string, value: string];

/** The backing device as connect() describes it. */
export interface DiskDescription {
  readonly sectorCount: number;
  readonly readOnly: boolean;
}

/** xen_blkbk_probe: the limits advertised at probe time; an absent limit is not written. */
export function probeKeys(params: BackendParameters): KeyWrite[] {
  const values: Record<BackendProbeKey, number | undefined> = {
    [BE.featureMaxIndirectSegments]: params.indirectSegmentsMax,
    [BE.multiQueueMaxQueues]: params.queueCountMax,
    [BE.maxRingPageOrder]: params.ringPageOrderMax,
  };
  const writes: KeyWrite[] = [];
  for (const key of BACKEND_PROBE_KEYS) {
    const value = values[key];
    if (value !== undefined) writes.push([key, String(value)]);
  }
  assert(writes.length <= BACKEND_PROBE_KEYS.length, 'probe writes %s keys', writes.length);
  return writes;
}

/**
 * connect(): feature-flush-cache, the discard keys (xen_blkbk_discard: the details only when
 * discard is on), feature-barrier, feature-persistent as negotiated at connect_ring, then
 * sectors, info (VDISK_READONLY = 4) and the sector sizes, all in one transaction.
 */
export function connectKeys(
  params: BackendParameters,
  disk: DiskDescription,
  persistent: boolean,
): KeyWrite[] {
  const values: Record<BackendConnectKey, string> = {
    [BE.featureFlushCache]: params.flush ? '1' : '0',
    [BE.discardGranularity]: '4096',
    [BE.discardAlignment]: '0',
    [BE.discardSecure]: '0',
    [BE.featureDiscard]: params.discard ? '1' : '0',
    [BE.featureBarrier]: params.barrier ? '1' : '0',
    [BE.featurePersistent]: persistent ? '1' : '0',
    [BE.sectors]: String(disk.sectorCount),
    [BE.info]: disk.readOnly ? '4' : '0',
    [BE.sectorSize]: '512',
    [BE.physicalSectorSize]: '512',
  };
  const writes = backendConnectKeys(params.discard).map((key): KeyWrite => [key, values[key]]);
  assert(disk.sectorCount >= 0, 'disk of %s sectors', disk.sectorCount);
  return writes;
}
