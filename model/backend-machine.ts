// Linux xen-blkback's control plane [cur] (drivers/block/xen-blkback/xenbus.c): xen_blkbk_probe,
// backend_changed (the hotplug watch on physical-device), frontend_changed, connect_ring,
// read_per_ring_refs, xen_update_blkif_status, connect, xen_blkif_disconnect, xen_blkbk_remove.
//
// frontend_changed is a function of (frontend state read at callback time, own cached state),
// so its reactions are root transitions guarded on context, like the driver's switch. Top-level
// states name the XenbusState the driver is at or heading to; context.xenbusState is the cached
// dev->state itself (connect steps started from Closing or Closed run under InitWait before the
// cache changes).
//
// Granularity: connect_ring is split between reading the frontend's keys and mapping its rings
// (the frontend can rewrite keys in between); the connect() transaction's commit is its own step
// (EAGAIN when anyone writes meanwhile); the hotplug watch is a separate event, so "rings first"
// and "hotplug first" both happen; xen_blkif_disconnect answers drained or busy, and busy rings
// drain later while the device sits in Closed (the last I/O drops the reference).

import { assign, setup } from 'xstate';
import { type BackendEffectParams, backendEffectActions } from './effects.ts';
import { type BackendEvent, IN_CALLBACK } from './events.ts';
import { XenbusState } from './xenbus-state.ts';

/**
 * blkback's module parameters at probe time, as far as the machine reads them (guards, effect
 * parameters). Its limits (xenblk_max_queues, xen_blkif_max_ring_order, MAX_INDIRECT_SEGMENTS)
 * are not here: the world's effects read them from the host's configuration and no transition
 * depends on them, so hosts that differ only in their limits share one machine state (one memo
 * entry instead of one per configuration).
 */
export interface BackendInput {
  /** feature_persistent module parameter (default true). */
  readonly persistent: boolean;
}

export interface BackendContext extends BackendInput {
  /** dev->state: the cached own state. */
  readonly xenbusState: XenbusState;
  /** The hotplug script wrote physical-device and the vbd is open. */
  readonly vbdOpen: boolean;
  /** blkif->nr_rings of the current session; 0 once every ring is released. */
  readonly queueCount: number;
  readonly ringPageOrder: number;
  /** xen_blkif_disconnect left rings with in-flight I/O; they drain later. */
  readonly ringsBusy: boolean;
  /** Probed and not yet unregistered. */
  readonly bound: boolean;
}

const S = XenbusState;
const EINVAL = 22;
const EBUSY = 16;
const EIO = 5;

function frontendState(event: BackendEvent): number {
  return event.type === 'otherEnd.stateChanged' ? event.state : -1;
}

type Guard = (args: { context: BackendContext; event: BackendEvent }) => boolean;

function onFrontend(test: (state: number, context: BackendContext) => boolean): Guard {
  return ({ context, event }) =>
    context.bound && event.type === 'otherEnd.stateChanged' && test(event.state, context);
}

const HANDLED_FRONTEND_STATES: ReadonlySet<number> = new Set([
  S.Unknown,
  S.Initialising,
  S.Initialised,
  S.Connected,
  S.Closing,
  S.Closed,
]);

function commitResult(event: BackendEvent): string | undefined {
  return event.type === 'xenstore.transactionEnded' ? event.result : undefined;
}

const guards = {
  /** Initialising while Closed: "prepare for reconnect". */
  frontendReconnecting: onFrontend((s, c) => s === S.Initialising && c.xenbusState === S.Closed),
  /** Initialised or Connected while not Connected: disconnect the old session, connect_ring. */
  frontendReady: onFrontend(
    (s, c) => (s === S.Initialised || s === S.Connected) && c.xenbusState !== S.Connected,
  ),
  frontendClosing: onFrontend((s) => s === S.Closing),
  frontendClosed: onFrontend((s) => s === S.Closed),
  /** The frontend directory is gone (or unreadable): device_unregister. */
  frontendGone: onFrontend((s) => s === S.Unknown),
  /** InitWait, Reconfiguring, Reconfigured or any other value: fatal "saw state N". */
  frontendIllegal: onFrontend((s) => !HANDLED_FRONTEND_STATES.has(s)),
  vbdClosed: (({ context }) => context.bound && !context.vbdOpen) satisfies Guard,
  vbdOpen: (({ context }) => context.vbdOpen) satisfies Guard,
  ringsBusy: (({ context }) => context.ringsBusy) satisfies Guard,
  ringsRead: (({ event }) => event.type === 'frontend.ringsRead' && event.ok) satisfies Guard,
  commitOk: (({ event }) => commitResult(event) === 'ok') satisfies Guard,
  commitEagain: (({ event }) => commitResult(event) === 'eagain') satisfies Guard,
  online: (({ event }) => event.type === 'xenstore.onlineRead' && event.online) satisfies Guard,
  onlineWithBusyRings: (({ context, event }) =>
    event.type === 'xenstore.onlineRead' && event.online && context.ringsBusy) satisfies Guard,
};

function switchTo(state: XenbusState) {
  return [
    { type: 'switchState', params: { state } },
    { type: 'cacheState', params: { state } },
  ] as const;
}

const setupBackend = setup({
  types: {
    context: {} as BackendContext,
    events: {} as BackendEvent,
    input: {} as BackendInput,
    tags: {} as typeof IN_CALLBACK,
  },
  actions: {
    ...backendEffectActions,
    cacheState: assign((_, params: { state: XenbusState }) => ({ xenbusState: params.state })),
  },
  guards,
});

type Ctx = { context: BackendContext };

const writeConnectKeys = {
  type: 'writeConnectKeys',
  params: ({ context }: Ctx): BackendEffectParams['writeConnectKeys'] => ({
    persistent: context.persistent,
  }),
} as const;

const startRingWorkers = {
  type: 'startRingWorkers',
  params: ({ context }: Ctx): BackendEffectParams['startRingWorkers'] => ({
    queueCount: context.queueCount,
  }),
} as const;

/** xenbus_dev_fatal (error node, then Closing) followed by [cur]'s cleanup disconnect, which
 * releases every ring at once: no ring of a session that never connected has I/O in flight. */
function fatalThenDisconnect() {
  return [
    {
      type: 'writeError',
      params: ({ event }: { event: BackendEvent }): BackendEffectParams['writeError'] =>
        event.type === 'frontend.ringsRead' || event.type === 'rings.mapFailed'
          ? {
              errorNumber: 'errorNumber' in event ? event.errorNumber : EIO,
              message: errorOf(event),
            }
          : { errorNumber: EIO, message: 'unexpected event' },
    },
    ...switchTo(S.Closing),
    { type: 'disconnectRings' },
  ] as const;
}

function errorOf(event: BackendEvent): string {
  return 'error' in event ? event.error : '';
}

export const backendMachine = setupBackend.createMachine({
  id: 'backend',
  context: ({ input }) => ({
    ...input,
    xenbusState: S.Initialising,
    vbdOpen: false,
    queueCount: 0,
    ringPageOrder: 0,
    ringsBusy: false,
    bound: false,
  }),
  initial: 'Initialising',
  on: {
    'otherEnd.stateChanged': [
      {
        guard: 'frontendReconnecting',
        target: '.InitWait.waitingFrontend',
        actions: [...switchTo(S.InitWait)],
      },
      {
        guard: 'frontendReady',
        target: '.InitWait.disconnecting',
        actions: { type: 'disconnectRings' },
      },
      { guard: 'frontendClosing', target: '.Closing.closing', actions: [...switchTo(S.Closing)] },
      {
        guard: 'frontendClosed',
        target: '.Closed.disconnecting',
        actions: { type: 'disconnectRings' },
      },
      {
        guard: 'frontendGone',
        target: '.Closed.unregistered',
        actions: [{ type: 'unregister' }, assign({ bound: false })],
      },
      {
        guard: 'frontendIllegal',
        target: '.Closing.failed',
        actions: [
          {
            type: 'writeError',
            params: ({ event }) => ({
              errorNumber: EINVAL,
              message: `saw state ${frontendState(event)} at frontend`,
            }),
          },
          ...switchTo(S.Closing),
        ],
      },
    ],
    // backend_changed with the vbd not yet open and no rings ready: open it and wait.
    'hotplug.physicalDeviceChanged': {
      guard: 'vbdClosed',
      actions: [{ type: 'openVbd' }, assign({ vbdOpen: true })],
    },
    // backend_changed: xen_vbd_create cannot open physical-device, xenbus_dev_fatal("creating vbd
    // structure"); mapped rings stay until the frontend closes (frontend_changed disconnects).
    'hotplug.vbdCreateFailed': {
      guard: 'vbdClosed',
      target: '.Closing.failed',
      actions: [
        {
          type: 'writeError',
          params: ({ event }) => ({
            errorNumber: event.type === 'hotplug.vbdCreateFailed' ? event.errorNumber : EIO,
            message: 'creating vbd structure',
          }),
        },
        ...switchTo(S.Closing),
      ],
    },
    // Rings left busy by an earlier disconnect drained, or a cleanup disconnect answered.
    'rings.drained': { guard: 'ringsBusy', actions: assign({ ringsBusy: false, queueCount: 0 }) },
  },
  states: {
    Initialising: {
      initial: 'probing',
      states: {
        probing: {
          on: {
            'device.probe': {
              target: '#backend.InitWait.waitingFrontend',
              actions: [
                // What the backend can do now is its configuration, which the world holds (a
                // capability it lacks is not advertised at all, so no value could stand for it).
                { type: 'writeBackendFeatures' },
                ...switchTo(S.InitWait),
                assign({ bound: true }),
              ],
            },
            // xenbus_dev_fatal("creating block interface"), then xen_blkbk_remove: the driver
            // is not bound and xenbus_dev_probe registers no otherend watch.
            'device.probeFailed': {
              target: '#backend.Closing.failed',
              actions: [
                {
                  type: 'writeError',
                  params: ({ event }) => ({
                    errorNumber: event.type === 'device.probeFailed' ? event.errorNumber : EIO,
                    message: 'creating block interface',
                  }),
                },
                ...switchTo(S.Closing),
              ],
            },
          },
        },
      },
    },
    InitWait: {
      initial: 'waitingFrontend',
      states: {
        waitingFrontend: {},
        disconnecting: {
          tags: [IN_CALLBACK],
          on: {
            'rings.drained': {
              target: 'readingFrontend',
              actions: [assign({ ringsBusy: false, queueCount: 0 }), { type: 'readFrontendKeys' }],
            },
            'rings.busy': {
              target: '#backend.Closing.failed',
              actions: [
                { type: 'writeError', params: { errorNumber: EBUSY, message: 'pending I/O' } },
                ...switchTo(S.Closing),
                assign({ ringsBusy: true }),
              ],
            },
          },
        },
        readingFrontend: {
          tags: [IN_CALLBACK],
          on: {
            'frontend.ringsRead': [
              {
                guard: 'ringsRead',
                target: 'mappingRings',
                actions: [
                  assign(({ event }) =>
                    event.ok
                      ? { queueCount: event.queueCount, ringPageOrder: event.ringPageOrder }
                      : {},
                  ),
                  {
                    type: 'mapRings',
                    params: ({ context }) => ({
                      queueCount: context.queueCount,
                      ringPageOrder: context.ringPageOrder,
                    }),
                  },
                ],
              },
              {
                target: '#backend.Closing.failed',
                actions: [...fatalThenDisconnect(), assign({ queueCount: 0 })],
              },
            ],
          },
        },
        mappingRings: {
          tags: [IN_CALLBACK],
          on: {
            'rings.mapped': [
              { guard: 'vbdOpen', target: 'writingConnectKeys', actions: writeConnectKeys },
              { target: 'waitingHotplug' },
            ],
            'rings.mapFailed': {
              target: '#backend.Closing.failed',
              actions: [...fatalThenDisconnect(), assign({ queueCount: 0 })],
            },
          },
        },
        waitingHotplug: {
          on: {
            'hotplug.physicalDeviceChanged': {
              guard: 'vbdClosed',
              target: 'writingConnectKeys',
              actions: [{ type: 'openVbd' }, assign({ vbdOpen: true }), writeConnectKeys],
            },
          },
        },
        writingConnectKeys: {
          tags: [IN_CALLBACK],
          on: {
            'xenstore.transactionEnded': [
              {
                guard: 'commitOk',
                target: '#backend.Connected.connected',
                actions: [...switchTo(S.Connected), startRingWorkers],
              },
              {
                guard: 'commitEagain',
                target: 'writingConnectKeys',
                reenter: true,
                actions: writeConnectKeys,
              },
              {
                // connect() reports the failed commit, then still switches to Connected.
                target: '#backend.Connected.connected',
                actions: [
                  {
                    type: 'writeError',
                    params: ({ event }) => ({
                      errorNumber:
                        event.type === 'xenstore.transactionEnded'
                          ? (event.errorNumber ?? EIO)
                          : EIO,
                      message: 'ending transaction',
                    }),
                  },
                  ...switchTo(S.Closing),
                  ...switchTo(S.Connected),
                  startRingWorkers,
                ],
              },
            ],
          },
        },
      },
    },
    Connected: { initial: 'connected', states: { connected: {} } },
    Closing: {
      initial: 'closing',
      // closing: the frontend asked; failed: xenbus_dev_fatal.
      states: { closing: {}, failed: {} },
    },
    Closed: {
      initial: 'disconnecting',
      states: {
        disconnecting: {
          tags: [IN_CALLBACK],
          on: {
            'rings.drained': {
              target: 'readingOnline',
              actions: [
                assign({ ringsBusy: false, queueCount: 0 }),
                ...switchTo(S.Closed),
                { type: 'readOnline' },
              ],
            },
            'rings.busy': {
              target: 'readingOnline',
              actions: [assign({ ringsBusy: true }), ...switchTo(S.Closed), { type: 'readOnline' }],
            },
          },
        },
        readingOnline: {
          tags: [IN_CALLBACK],
          on: {
            'xenstore.onlineRead': [
              { guard: 'onlineWithBusyRings', target: 'draining' },
              { guard: 'online', target: 'idle' },
              {
                target: 'unregistered',
                actions: [{ type: 'unregister' }, assign({ bound: false })],
              },
            ],
          },
        },
        idle: {},
        draining: {
          on: {
            'rings.drained': {
              target: 'idle',
              actions: assign({ ringsBusy: false, queueCount: 0 }),
            },
          },
        },
        unregistered: {},
      },
    },
  },
});

export type BackendMachine = typeof backendMachine;
