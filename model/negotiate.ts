// The negotiation rules of Linux blkfront (negotiate_mq, talk_to_blkback,
// blkfront_gather_backend_features) and the frontend-key validation of blkback (connect_ring,
// read_per_ring_refs), as pure functions. A backend value that is absent or does not parse is
// passed as undefined (readUnsigned in xenstore-keys.ts decides what parses, like xenbus_scanf).

import {
  type BlkifProtocol,
  FE,
  joinKey,
  queueDir,
  readUnsigned,
  XEN_IO_PROTO_ABI_X86_32,
  XEN_IO_PROTO_ABI_X86_64,
} from './xenstore-keys.ts';

/** XENBUS_MAX_RING_GRANT_ORDER: at most 16 pages per ring. */
export const XENBUS_MAX_RING_GRANT_ORDER = 4;
/** Segments a request carries without indirect descriptors (blkif.h). */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;

const EINVAL = 22;
const ENOENT = 2;

/** xlblk_init: the max_queues parameter is lowered to the online vCPUs; 0 stays 0. */
/**
 * What an absent key means, on either side: no multi-queue-max-queues or multi-queue-num-queues
 * is one queue with flat keys; no max-ring-page-order or ring-page-order is a one-page ring; no
 * feature-max-indirect-segments is no indirect descriptors. Written once, used by both drivers,
 * the invariants and the conformance checker.
 */
export const NOT_ADVERTISED = { queueCount: 1, ringPageOrder: 0, indirectSegments: 0 } as const;

export function frontendQueueCountMax(parameter: number, vcpuCount: number): number {
  return Math.min(parameter, vcpuCount);
}

/** xlblk_init: max_ring_page_order is lowered to XENBUS_MAX_RING_GRANT_ORDER. */
export function frontendRingPageOrderMax(parameter: number): number {
  return Math.min(parameter, XENBUS_MAX_RING_GRANT_ORDER);
}

/**
 * negotiate_mq: min(backend multi-queue-max-queues (1 when absent), frontend max), and at
 * least one ring (a frontend max of 0 still gives 1).
 */
export function negotiateQueues(frontendMax: number, backendMax: number | undefined): number {
  return Math.max(1, Math.min(backendMax ?? NOT_ADVERTISED.queueCount, frontendMax));
}

/** talk_to_blkback: min(frontend max order, backend max-ring-page-order (0 when absent)). */
export function negotiateRingPageOrder(
  frontendMax: number,
  backendMax: number | undefined,
): number {
  return Math.min(frontendMax, backendMax ?? NOT_ADVERTISED.ringPageOrder);
}

/**
 * blkfront_gather_backend_features: the backend's feature-max-indirect-segments (0 when
 * absent) lowered to the frontend's limit; 11 or fewer means indirect descriptors are off (0).
 */
export function negotiateIndirectSegments(
  frontendMax: number,
  backendMax: number | undefined,
): number {
  const segmentCount = Math.min(backendMax ?? NOT_ADVERTISED.indirectSegments, frontendMax);
  return segmentCount <= BLKIF_MAX_SEGMENTS_PER_REQUEST ? 0 : segmentCount;
}

/** Each side uses persistent grants iff its own parameter is on and the peer wrote 1. */
export function negotiatePersistent(ownParameter: boolean, peerFlag: number | undefined): boolean {
  return ownParameter && (peerFlag ?? 0) !== 0;
}

/** What blkback validates against: its module parameters at connect_ring time. */
export interface BackendLimits {
  readonly queueCountMax: number;
  readonly ringPageOrderMax: number;
  readonly persistent: boolean;
}

export interface RingKeys {
  readonly eventChannel: number;
  readonly ringRefs: readonly number[];
}

export type FrontendKeys =
  | {
      readonly ok: true;
      readonly queueCount: number;
      readonly ringPageOrder: number;
      readonly protocol: BlkifProtocol;
      readonly persistent: boolean;
      readonly rings: readonly RingKeys[];
    }
  | {
      readonly ok: false;
      /** The number Linux prints before the message (not always a real errno, see below). */
      readonly errorNumber: number;
      readonly message: string;
    };

/** Reads a key relative to FE; undefined when the node is absent. */
export type FrontendKeyReader = (path: string) => string | undefined;

/**
 * connect_ring + read_per_ring_refs [cur]: reads FE keys in Linux's order and either returns
 * the session layout or the xenbus_dev_fatal text. Like Linux, the protocol and num-queues
 * errors print the result of the previous xenstore read as their number (-1 or 2).
 */
export function validateFrontendKeys(
  read: FrontendKeyReader,
  limits: BackendLimits,
  frontendPath: string,
): FrontendKeys {
  const protocolText = /^\s*(\S{1,63})/.exec(read(FE.protocol) ?? '')?.[1];
  const previousReadNumber = protocolText === undefined ? ENOENT : -1;
  let protocol: BlkifProtocol = XEN_IO_PROTO_ABI_X86_32; // BLKIF_PROTOCOL_DEFAULT on x86
  if (protocolText === XEN_IO_PROTO_ABI_X86_64 || protocolText === XEN_IO_PROTO_ABI_X86_32) {
    protocol = protocolText;
  } else if (protocolText !== undefined) {
    return fatal(-1, `unknown fe protocol ${protocolText}`);
  }
  const persistent = limits.persistent && (readUnsigned(read(FE.featurePersistent)) ?? 0) !== 0;
  const queueCount = readUnsigned(read(FE.multiQueueNumQueues)) ?? NOT_ADVERTISED.queueCount;
  if (queueCount > limits.queueCountMax || queueCount === 0) {
    return fatal(
      previousReadNumber,
      `guest requested ${queueCount} queues, exceeding the maximum of ${limits.queueCountMax}.`,
    );
  }
  const orderRead = readUnsigned(read(FE.ringPageOrder));
  if (orderRead !== undefined && orderRead > limits.ringPageOrderMax) {
    return fatal(
      EINVAL,
      `requested ring page order ${orderRead} exceed max:${limits.ringPageOrderMax}`,
    );
  }
  const rings: RingKeys[] = [];
  for (let queue = 0; queue < queueCount; queue++) {
    const dir = queueCount === 1 ? '' : queueDir(queue);
    const ring = readRingKeys(read, dir, orderRead, frontendPath);
    if ('message' in ring) return ring;
    rings.push(ring);
  }
  return {
    ok: true,
    queueCount,
    ringPageOrder: orderRead ?? NOT_ADVERTISED.ringPageOrder,
    protocol,
    persistent,
    rings,
  };
}

/**
 * read_per_ring_refs: event-channel first, then the ring references. An absent
 * ring-page-order means one page under `ring-ref`; a present one (even 0) means `ring-refN`
 * (Durrant's 2021 fix: never fall back from one to the other).
 */
function readRingKeys(
  read: FrontendKeyReader,
  dir: string,
  orderRead: number | undefined,
  frontendPath: string,
): RingKeys | Extract<FrontendKeys, { ok: false }> {
  const fullDir = dir === '' ? frontendPath : `${frontendPath}/${dir}`;
  const eventChannel = readUnsigned(read(joinKey(dir, FE.eventChannel)));
  if (eventChannel === undefined) return fatal(EINVAL, `reading ${fullDir}/${FE.eventChannel}`);
  const pageCount = 2 ** (orderRead ?? NOT_ADVERTISED.ringPageOrder);
  const ringRefs: number[] = [];
  for (let page = 0; page < pageCount; page++) {
    const key = orderRead === undefined ? FE.ringRef : `${FE.ringRef}${page}`;
    const ringRef = readUnsigned(read(joinKey(dir, key)));
    if (ringRef === undefined) return fatal(EINVAL, `reading ${fullDir}/${key}`);
    ringRefs.push(ringRef);
  }
  return { eventChannel, ringRefs };
}

function fatal(errorNumber: number, message: string): Extract<FrontendKeys, { ok: false }> {
  return { ok: false, errorNumber, message };
}
