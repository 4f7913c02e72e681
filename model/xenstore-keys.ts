// Every xenstore key name of the blkif protocol, spelled exactly as stored (blkif.h, xenbus.h,
// libxl_disk.c), and the frontend's ring-key layout of talk_to_blkback / write_per_ring_nodes.
// This is the only module that spells a key; `queue-` is spelled only in queueDir().

/** Keys in the frontend directory (FE). */
export const FE = {
  state: 'state',
  backend: 'backend',
  backendId: 'backend-id',
  virtualDevice: 'virtual-device',
  deviceType: 'device-type',
  trusted: 'trusted',
  protocol: 'protocol',
  featurePersistent: 'feature-persistent',
  ringPageOrder: 'ring-page-order',
  multiQueueNumQueues: 'multi-queue-num-queues',
  ringRef: 'ring-ref',
  eventChannel: 'event-channel',
} as const;

/** Keys in the backend directory (BE). */
export const BE = {
  state: 'state',
  frontend: 'frontend',
  frontendId: 'frontend-id',
  online: 'online',
  mode: 'mode',
  physicalDevice: 'physical-device',
  hotplugStatus: 'hotplug-status',
  discardEnable: 'discard-enable',
  featureMaxIndirectSegments: 'feature-max-indirect-segments',
  multiQueueMaxQueues: 'multi-queue-max-queues',
  maxRingPageOrder: 'max-ring-page-order',
  featureFlushCache: 'feature-flush-cache',
  featureDiscard: 'feature-discard',
  discardGranularity: 'discard-granularity',
  discardAlignment: 'discard-alignment',
  discardSecure: 'discard-secure',
  featureBarrier: 'feature-barrier',
  featurePersistent: 'feature-persistent',
  sectors: 'sectors',
  info: 'info',
  sectorSize: 'sector-size',
  physicalSectorSize: 'physical-sector-size',
} as const;

/**
 * xen_blkbk_probe's advertisements, in the order it writes them, each only when the backend has
 * that capability (an old or single-queue blkback writes fewer). Used by the world's blkback and
 * by the conformance checker alike.
 */
export const BACKEND_PROBE_KEYS = [
  BE.featureMaxIndirectSegments,
  BE.multiQueueMaxQueues,
  BE.maxRingPageOrder,
] as const;
export type BackendProbeKey = (typeof BACKEND_PROBE_KEYS)[number];

/** The keys of blkback's connect() transaction (xen_blkbk_discard and connect in blkback/xenbus.c). */
export type BackendConnectKey =
  | typeof BE.featureFlushCache
  | typeof BE.discardGranularity
  | typeof BE.discardAlignment
  | typeof BE.discardSecure
  | typeof BE.featureDiscard
  | typeof BE.featureBarrier
  | typeof BE.featurePersistent
  | typeof BE.sectors
  | typeof BE.info
  | typeof BE.sectorSize
  | typeof BE.physicalSectorSize;

/** connect()'s transaction in Linux's order; the discard details only when discard is on. */
export function backendConnectKeys(withDiscardDetails: boolean): BackendConnectKey[] {
  const discard: BackendConnectKey[] = withDiscardDetails
    ? [BE.discardGranularity, BE.discardAlignment, BE.discardSecure]
    : [];
  return [
    BE.featureFlushCache,
    ...discard,
    BE.featureDiscard,
    BE.featureBarrier,
    BE.featurePersistent,
    BE.sectors,
    BE.info,
    BE.sectorSize,
    BE.physicalSectorSize,
  ];
}

/** ABI strings of xen/include/public/io/protocols.h that Linux blkback accepts on x86. */
export const XEN_IO_PROTO_ABI_X86_32 = 'x86_32-abi';
export const XEN_IO_PROTO_ABI_X86_64 = 'x86_64-abi';
export type BlkifProtocol = typeof XEN_IO_PROTO_ABI_X86_32 | typeof XEN_IO_PROTO_ABI_X86_64;

/** The sub-directory of ring `index` when the frontend uses more than one ring. */
export function queueDir(index: number): string {
  return `queue-${index}`;
}

/** The directory (relative to FE) holding ring `index`'s keys: FE itself for a single ring. */
export function ringDir(queueCount: number, index: number): string {
  return queueCount === 1 ? '' : queueDir(index);
}

/** `ring-ref` for a one-page ring, `ring-refN` for page N of a multi-page ring. */
export function ringRefKey(ringPageOrder: number, page: number): string {
  return ringPageOrder === 0 ? FE.ringRef : `${FE.ringRef}${page}`;
}

/** Joins a relative directory ('' for the device directory itself) and a key. */
export function joinKey(dir: string, key: string): string {
  return dir === '' ? key : `${dir}/${key}`;
}

/** Where xenbus_dev_fatal / xenbus_dev_error put their message: error/<nodename>/error. */
export function errorNodePath(nodename: string): string {
  return `error/${nodename}/error`;
}

/** The text xenbus_dev_fatal writes: the errno as a positive number, a space, the message. */
export function formatErrorNode(errno: number, message: string): string {
  return `${errno} ${message}`;
}

/** What a key of the frontend's ring layout holds; grant refs and ports are placeholders. */
export type KeyValue =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'ringRef'; readonly queue: number; readonly page: number }
  | { readonly kind: 'eventChannel'; readonly queue: number }
  | { readonly kind: 'protocol' }
  | { readonly kind: 'featurePersistent' };

export interface KeyTemplate {
  /** Relative to FE, e.g. 'queue-1/ring-ref0'. */
  readonly path: string;
  readonly value: KeyValue;
}

/**
 * The keys talk_to_blkback writes in its one transaction, in the order Linux writes them (checked
 * against xen-4.17-linux-6.1/xs-trace.log): ring-page-order only for multi-page rings;
 * multi-queue-num-queues only for more than one ring (a single ring is flat, never "1");
 * per ring its ring reference(s) then event-channel; then protocol and feature-persistent.
 */
export function keyLayout(queueCount: number, ringPageOrder: number): KeyTemplate[] {
  const layout: KeyTemplate[] = [];
  if (ringPageOrder > 0) {
    layout.push({ path: FE.ringPageOrder, value: { kind: 'number', value: ringPageOrder } });
  }
  if (queueCount > 1) {
    layout.push({ path: FE.multiQueueNumQueues, value: { kind: 'number', value: queueCount } });
  }
  const pageCount = 2 ** ringPageOrder;
  for (let queue = 0; queue < queueCount; queue++) {
    const dir = ringDir(queueCount, queue);
    for (let page = 0; page < pageCount; page++) {
      const path = joinKey(dir, ringRefKey(ringPageOrder, page));
      layout.push({ path, value: { kind: 'ringRef', queue, page } });
    }
    layout.push({ path: joinKey(dir, FE.eventChannel), value: { kind: 'eventChannel', queue } });
  }
  layout.push({ path: FE.protocol, value: { kind: 'protocol' } });
  layout.push({ path: FE.featurePersistent, value: { kind: 'featurePersistent' } });
  return layout;
}

export interface RingKeyValues {
  /** ringRefs[queue][page]: the grant references of each ring page. */
  readonly ringRefs: readonly (readonly number[])[];
  readonly eventChannels: readonly number[];
  readonly protocol: string;
  readonly persistent: boolean;
}

/** Turns a layout into the (path, value) writes, filling the placeholders. */
export function fillKeyLayout(
  layout: readonly KeyTemplate[],
  values: RingKeyValues,
): [path: string, value: string][] {
  return layout.map((template) => [template.path, renderKeyValue(template.value, values)]);
}

function renderKeyValue(value: KeyValue, values: RingKeyValues): string {
  switch (value.kind) {
    case 'number':
      return String(value.value);
    case 'ringRef':
      return String(values.ringRefs[value.queue]?.[value.page] ?? 'missing');
    case 'eventChannel':
      return String(values.eventChannels[value.queue] ?? 'missing');
    case 'protocol':
      return values.protocol;
    case 'featurePersistent':
      return values.persistent ? '1' : '0';
  }
}

const UINT32_MODULUS = 2n ** 32n;

/**
 * How Linux's xenbus_scanf("%u") / xenbus_read_unsigned see a value: optional leading blanks,
 * then decimal digits (no sign; trailing junk ignored; truncated to 32 bits). Anything else,
 * including a minus sign or an absent node, does not parse (undefined).
 */
export function readUnsigned(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(\d+)/.exec(text);
  if (match === null) return undefined;
  return Number(BigInt(match[1]!) % UINT32_MODULUS);
}
