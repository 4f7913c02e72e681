// The events the world sends to the machines, dotted by source. 'otherEnd.stateChanged' carries
// the value of the other end's `state` READ when the watch callback runs (it may skip states,
// repeat, be absent = Unknown 0, or be any number a hostile peer wrote). The answer to an effect
// is sent in the same world step as the effect (ANSWERS below).
//
// While a snapshot carries the tag IN_CALLBACK the driver is inside a xenwatch callback (or the
// resume path) and the world must hold every other watch firing and toolstack event until the
// tag is gone: Linux runs these callbacks one at a time on the xenwatch thread.

import type { BackendEffectType, FrontendEffectType } from './effects.ts';
import type { BlkifProtocol } from './xenstore-keys.ts';

export const IN_CALLBACK = 'inCallback';

export type OtherEndStateChanged = {
  readonly type: 'otherEnd.stateChanged';
  readonly state: number;
};
export type TransactionEnded = {
  readonly type: 'xenstore.transactionEnded';
  readonly result: 'ok' | 'eagain' | 'error';
  /** The errno of a failed commit (EIO when not given). */
  readonly errorNumber?: number;
};

export type FrontendEvent =
  | { readonly type: 'device.probe' }
  | OtherEndStateChanged
  | TransactionEnded
  | {
      readonly type: 'backend.limitsRead';
      /** undefined: the key is absent or does not parse. */
      readonly queueCountMax: number | undefined;
      readonly ringPageOrderMax: number | undefined;
    }
  | { readonly type: 'rings.allocated' }
  | {
      readonly type: 'rings.allocationFailed';
      readonly errorNumber: number;
      readonly error: string;
    }
  | { readonly type: 'backend.deviceInfoRead'; readonly ok: true }
  | { readonly type: 'backend.deviceInfoRead'; readonly ok: false; readonly missing: string }
  | { readonly type: 'toolstack.resume' }
  | { readonly type: 'device.remove' }
  | { readonly type: 'guest.shutdown' };

export type BackendEvent =
  | { readonly type: 'device.probe' }
  // xen_blkbk_probe failed (xen_blkif_alloc: -ENOMEM): xenbus_dev_fatal, then xen_blkbk_remove.
  | { readonly type: 'device.probeFailed'; readonly errorNumber: number }
  | OtherEndStateChanged
  | TransactionEnded
  | { readonly type: 'hotplug.physicalDeviceChanged' }
  | { readonly type: 'hotplug.vbdCreateFailed'; readonly errorNumber: number }
  | {
      readonly type: 'frontend.ringsRead';
      readonly ok: true;
      readonly queueCount: number;
      readonly ringPageOrder: number;
      readonly protocol: BlkifProtocol;
      readonly persistent: boolean;
    }
  | {
      readonly type: 'frontend.ringsRead';
      readonly ok: false;
      readonly errorNumber: number;
      readonly error: string;
    }
  | { readonly type: 'rings.mapped' }
  | { readonly type: 'rings.mapFailed'; readonly errorNumber: number; readonly error: string }
  | { readonly type: 'rings.drained' }
  | { readonly type: 'rings.busy' }
  | { readonly type: 'xenstore.onlineRead'; readonly online: boolean };

export type FrontendEventType = FrontendEvent['type'];
export type BackendEventType = BackendEvent['type'];

/** Which events answer an effect. disconnectRings: drained now, or busy now and drained later;
 * after a fatal error it is cleanup and its answer is ignored. */
export const FRONTEND_ANSWERS: Partial<Record<FrontendEffectType, readonly FrontendEventType[]>> = {
  readBackendLimits: ['backend.limitsRead'],
  allocateRings: ['rings.allocated', 'rings.allocationFailed'],
  writeRingKeys: ['xenstore.transactionEnded'],
  readBackendDeviceInfo: ['backend.deviceInfoRead'],
};

export const BACKEND_ANSWERS: Partial<Record<BackendEffectType, readonly BackendEventType[]>> = {
  readFrontendKeys: ['frontend.ringsRead'],
  mapRings: ['rings.mapped', 'rings.mapFailed'],
  writeConnectKeys: ['xenstore.transactionEnded'],
  disconnectRings: ['rings.drained', 'rings.busy'],
  readOnline: ['xenstore.onlineRead'],
};
