// Finite event alphabets for exploring the machines (tests, coverage, diagrams): what the world
// can deliver from a snapshot. Inside a callback (tag IN_CALLBACK) only answers arrive; outside,
// only watch firings and toolstack or guest events (plus a late 'rings.drained' for blkback).

import type { AnyMachineSnapshot } from 'xstate';
import type { BackendInput } from './backend-machine.ts';
import { type BackendEvent, type FrontendEvent, IN_CALLBACK } from './events.ts';
import type { FrontendInput } from './frontend-machine.ts';

/** Every value a watch can read: 0..8 and one a hostile peer made up. */
export const OBSERVABLE_STATES: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

export const EXPLORE_FRONTEND_INPUT: FrontendInput = {
  queueCountMax: 4,
  vcpuCount: 2,
  ringPageOrderMax: 1,
  persistent: true,
  backendPath: '/local/domain/0/backend/vbd/1/51712',
};

export const EXPLORE_BACKEND_INPUT: BackendInput = { persistent: true };

const FRONTEND_ANSWER_EVENTS: readonly FrontendEvent[] = [
  { type: 'backend.limitsRead', queueCountMax: undefined, ringPageOrderMax: undefined },
  { type: 'backend.limitsRead', queueCountMax: 4, ringPageOrderMax: 4 },
  { type: 'rings.allocated' },
  { type: 'rings.allocationFailed', errorNumber: 12, error: 'allocating ring_info structure' },
  { type: 'xenstore.transactionEnded', result: 'ok' },
  { type: 'xenstore.transactionEnded', result: 'eagain' },
  { type: 'xenstore.transactionEnded', result: 'error', errorNumber: 28 },
  { type: 'backend.deviceInfoRead', ok: true },
  { type: 'backend.deviceInfoRead', ok: false, missing: 'sectors' },
];

const FRONTEND_OUTSIDE_EVENTS: readonly FrontendEvent[] = [
  { type: 'device.probe' },
  ...OBSERVABLE_STATES.map((state): FrontendEvent => ({ type: 'otherEnd.stateChanged', state })),
  { type: 'toolstack.resume' },
  { type: 'device.remove' },
  { type: 'guest.shutdown' },
];

export function frontendEventsAt(snapshot: AnyMachineSnapshot): readonly FrontendEvent[] {
  return snapshot.hasTag(IN_CALLBACK) ? FRONTEND_ANSWER_EVENTS : FRONTEND_OUTSIDE_EVENTS;
}

const BACKEND_ANSWER_EVENTS: readonly BackendEvent[] = [
  {
    type: 'frontend.ringsRead',
    ok: true,
    queueCount: 2,
    ringPageOrder: 0,
    protocol: 'x86_64-abi',
    persistent: true,
  },
  {
    type: 'frontend.ringsRead',
    ok: false,
    errorNumber: -1,
    error: 'guest requested 3 queues, exceeding the maximum of 2.',
  },
  { type: 'rings.mapped' },
  { type: 'rings.mapFailed', errorNumber: 12, error: 'mapping ring-ref port 15' },
  { type: 'rings.drained' },
  { type: 'rings.busy' },
  { type: 'xenstore.transactionEnded', result: 'ok' },
  { type: 'xenstore.transactionEnded', result: 'eagain' },
  { type: 'xenstore.transactionEnded', result: 'error', errorNumber: 28 },
  { type: 'xenstore.onlineRead', online: true },
  { type: 'xenstore.onlineRead', online: false },
];

const BACKEND_OUTSIDE_EVENTS: readonly BackendEvent[] = [
  { type: 'device.probe' },
  { type: 'device.probeFailed', errorNumber: 12 },
  ...OBSERVABLE_STATES.map((state): BackendEvent => ({ type: 'otherEnd.stateChanged', state })),
  { type: 'hotplug.physicalDeviceChanged' },
  { type: 'hotplug.vbdCreateFailed', errorNumber: 2 },
];

const LATE_DRAIN: readonly BackendEvent[] = [...BACKEND_OUTSIDE_EVENTS, { type: 'rings.drained' }];

/** Outside a callback, 'rings.drained' comes only for rings an earlier disconnect left busy. */
export function backendEventsAt(snapshot: AnyMachineSnapshot): readonly BackendEvent[] {
  if (snapshot.hasTag(IN_CALLBACK)) return BACKEND_ANSWER_EVENTS;
  return snapshot.context.ringsBusy === true ? LATE_DRAIN : BACKEND_OUTSIDE_EVENTS;
}

/** Every event either alphabet can produce (for "is this answer handled?" checks). */
export const ALL_FRONTEND_EVENTS: readonly FrontendEvent[] = [
  ...FRONTEND_ANSWER_EVENTS,
  ...FRONTEND_OUTSIDE_EVENTS,
];
export const ALL_BACKEND_EVENTS: readonly BackendEvent[] = [
  ...BACKEND_ANSWER_EVENTS,
  ...LATE_DRAIN,
];
