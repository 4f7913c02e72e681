// The effects the machines ask the world to perform. Each effect is declared in the machines'
// setup() as a no-op action whose name is the effect type; XState never runs them. The world
// reads the actions transition() returns, turns them into Effect values with effectsOf(), and
// executes each through one exhaustive switch over Effect['type'].
//
// switchState is xenbus_switch_state: the world skips it when it equals the cached state (the
// cache is the previous snapshot's context.xenbusState, updated after each switchState of the
// list) and never re-creates a deleted state node. Effects that read xenstore or commit a
// transaction are answered by an event (see ANSWERS in events.ts).

import type { BlkifProtocol } from './xenstore-keys.ts';
import type { XenbusState } from './xenbus-state.ts';

type NoParams = undefined;

export interface FrontendEffectParams {
  switchState: { readonly state: XenbusState };
  /** talk_to_blkback: read BE max-ring-page-order and multi-queue-max-queues (and FE trusted). */
  readBackendLimits: NoParams;
  /** negotiate_mq + setup_blkring: ring array, shared pages, grants, event channels. */
  allocateRings: { readonly queueCount: number; readonly ringPageOrder: number };
  /** Open a transaction and write keyLayout(queueCount, ringPageOrder); commit is separate. */
  writeRingKeys: {
    readonly queueCount: number;
    readonly ringPageOrder: number;
    readonly protocol: BlkifProtocol;
    readonly persistent: boolean;
  };
  /** talk_to_blkback after the commit: chain every ring's shadow free list. */
  initShadows: NoParams;
  /** blkfront_connect: read sectors, info, sector-size (mandatory), physical-sector-size. */
  readBackendDeviceInfo: NoParams;
  /** blkfront_connect full connect: features, per-ring grant buffers, blk-mq queues, disk. */
  connectQueues: { readonly queueCount: number };
  /** blkif_recover: re-read features, rebuild buffers, requeue what captureInflight saved. */
  recover: NoParams;
  /** blkfront_resume: take every in-flight request off the old rings (before freeRings). */
  captureInflight: NoParams;
  /** blkif_free: end grants, unbind channels, free every ring; nr_rings = 0. */
  freeRings: NoParams;
  /** blk_mq_stop_hw_queues + blk_mark_disk_dead when a disk exists (no-op otherwise). */
  markDeviceDead: NoParams;
  /** blkfront_connect while CONNECTED: re-read sectors and set the capacity. */
  capacityChanged: NoParams;
  /** xenbus_dev_fatal's error node: "<errorNumber> <message>". */
  writeError: { readonly errorNumber: number; readonly message: string };
  /** A BUG() the real driver hits (the guest kernel oopses in the xenwatch thread). */
  guestBug: { readonly message: string };
}

export interface BackendEffectParams {
  switchState: { readonly state: XenbusState };
  /** xen_blkbk_probe: feature-max-indirect-segments, multi-queue-max-queues and
   * max-ring-page-order, in that order. */
  writeBackendFeatures: NoParams;
  /** backend_changed: read physical-device and mode, open the device (xen_vbd_create). */
  openVbd: NoParams;
  /** connect_ring: read the FE keys and validate them with validateFrontendKeys(). */
  readFrontendKeys: NoParams;
  /** read_per_ring_refs / xen_blkif_map: map each ring's pages, check indices, bind channels. */
  mapRings: { readonly queueCount: number; readonly ringPageOrder: number };
  /** connect(): one transaction with the device properties and features; commit is separate. */
  writeConnectKeys: { readonly persistent: boolean };
  /** xen_update_blkif_status after Connected: sync the device, start one thread per ring. */
  startRingWorkers: { readonly queueCount: number };
  /** xen_blkif_disconnect: stop threads; release every ring without in-flight I/O. */
  disconnectRings: NoParams;
  writeError: { readonly errorNumber: number; readonly message: string };
  /** device_unregister: xen_blkbk_remove, and Closed if the state node reads Closing. */
  unregister: NoParams;
  /** xenbus_dev_is_online: read BE online (absent or unparseable = 0). */
  readOnline: NoParams;
}

type EffectOf<P> = {
  [K in keyof P]: P[K] extends undefined ? { readonly type: K } : { readonly type: K } & P[K];
}[keyof P];

export type FrontendEffect = EffectOf<FrontendEffectParams>;
export type BackendEffect = EffectOf<BackendEffectParams>;
export type Effect = FrontendEffect | BackendEffect;
export type FrontendEffectType = keyof FrontendEffectParams;
export type BackendEffectType = keyof BackendEffectParams;
export type EffectType = Effect['type'];

type NoopActions<P> = { [K in keyof P]: (args: unknown, params: P[K]) => void };

function noop(): void {}

/** The no-op action implementations for setup(): names and param types only. */
export const frontendEffectActions: NoopActions<FrontendEffectParams> = {
  switchState: noop,
  readBackendLimits: noop,
  allocateRings: noop,
  writeRingKeys: noop,
  initShadows: noop,
  readBackendDeviceInfo: noop,
  connectQueues: noop,
  recover: noop,
  captureInflight: noop,
  freeRings: noop,
  markDeviceDead: noop,
  capacityChanged: noop,
  writeError: noop,
  guestBug: noop,
};

export const backendEffectActions: NoopActions<BackendEffectParams> = {
  switchState: noop,
  writeBackendFeatures: noop,
  openVbd: noop,
  readFrontendKeys: noop,
  mapRings: noop,
  writeConnectKeys: noop,
  startRingWorkers: noop,
  disconnectRings: noop,
  writeError: noop,
  unregister: noop,
  readOnline: noop,
};

const FRONTEND_TYPES = new Set<string>(Object.keys(frontendEffectActions));
const BACKEND_TYPES = new Set<string>(Object.keys(backendEffectActions));

interface ResolvedAction {
  readonly type: string;
  readonly params?: unknown;
}

function collect<E>(actions: readonly ResolvedAction[], types: ReadonlySet<string>): E[] {
  const effects: E[] = [];
  for (const action of actions) {
    if (!types.has(action.type)) continue; // xstate.assign and other internal actions
    const params = (action.params ?? {}) as Record<string, unknown>;
    effects.push({ type: action.type, ...params } as E);
  }
  return effects;
}

/** The frontend effects among the actions transition() returned, in order. */
export function frontendEffectsOf(actions: readonly ResolvedAction[]): FrontendEffect[] {
  return collect<FrontendEffect>(actions, FRONTEND_TYPES);
}

/** The backend effects among the actions transition() returned, in order. */
export function backendEffectsOf(actions: readonly ResolvedAction[]): BackendEffect[] {
  return collect<BackendEffect>(actions, BACKEND_TYPES);
}

/** Either side's effects (the union of both vocabularies). */
export function effectsOf(actions: readonly ResolvedAction[]): Effect[] {
  return collect<Effect>(actions, new Set([...FRONTEND_TYPES, ...BACKEND_TYPES]));
}
