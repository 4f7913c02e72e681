// Linux xen-blkfront's control plane [cur]: blkfront_probe, blkback_changed, talk_to_blkback,
// negotiate_mq, setup_blkring, blkfront_connect, blkif_recover, blkfront_resume,
// blkfront_closing, blkfront_remove, and the xenbus frontend core around them.
//
// blkback_changed is a function of (backend state read at callback time, own cached state,
// connection flag), so its reactions are root transitions guarded on context, exactly like the
// driver's switch; sub-states only record which driver step is waiting for an answer. Top-level
// states name the XenbusState the driver is at or heading to; context.xenbusState is the cached
// dev->state itself (they differ only inside talk_to_blkback started from Closing).
//
// Granularity: talk_to_blkback is split where the backend can change state under it — after
// reading its limits, after allocating rings, and around the key transaction's commit (which
// can fail with EAGAIN when the toolstack or backend writes in between). blkfront_connect waits
// for its reads of the backend's device properties, which the backend may be rewriting.

import { assign, setup } from 'xstate';
import { type FrontendEffectParams, frontendEffectActions } from './effects.ts';
import { type FrontendEvent, IN_CALLBACK } from './events.ts';
import {
  frontendQueueCountMax,
  frontendRingPageOrderMax,
  negotiateQueues,
  negotiateRingPageOrder,
} from './negotiate.ts';
import { XenbusState } from './xenbus-state.ts';
import { type BlkifProtocol, XEN_IO_PROTO_ABI_X86_64 } from './xenstore-keys.ts';

/** Module parameters and guest facts, as blkfront reads them at load time. */
export interface FrontendInput {
  /** max_queues module parameter (default 4); xlblk_init lowers it to vcpuCount. */
  readonly queueCountMax: number;
  readonly vcpuCount: number;
  /** max_ring_page_order module parameter (default 0); lowered to 4. */
  readonly ringPageOrderMax: number;
  /** feature_persistent module parameter (default true). */
  readonly persistent: boolean;
  /** The otherend path, for error messages. */
  readonly backendPath: string;
  /** The guest's native ABI, written as `protocol` (XEN_IO_PROTO_ABI_NATIVE); x86_64 if omitted. */
  readonly protocol?: BlkifProtocol;
}

/** blkfront_info.connected (BLKIF_STATE_*). */
export type ConnectionFlag = 'DISCONNECTED' | 'CONNECTED' | 'SUSPENDED';

export interface FrontendContext {
  readonly queueCountMax: number;
  readonly ringPageOrderMax: number;
  readonly persistent: boolean;
  readonly backendPath: string;
  readonly protocol: BlkifProtocol;
  /** dev->state: the cached own state (xenbus_switch_state updates it). */
  readonly xenbusState: XenbusState;
  readonly connection: ConnectionFlag;
  /** nr_rings; 0 when the ring array is freed. */
  readonly queueCount: number;
  readonly ringPageOrder: number;
  /** talk_to_blkback was started by a backend already Connected: connect right after it. */
  readonly connectAfterTalk: boolean;
  /** The driver is bound and its otherend watch registered (false before probe, after remove
   * and after a BUG in the xenwatch thread). */
  readonly bound: boolean;
  /** System shutdown: xenbus ignores backend changes except Closing, which closes. */
  readonly shuttingDown: boolean;
}

const S = XenbusState;
const EIO = 5;
const ENOENT = 2;

function backendState(event: FrontendEvent): number {
  return event.type === 'otherEnd.stateChanged' ? event.state : -1;
}

/** The driver's own blkback_changed runs (not the shutdown-time xenbus filter). */
function watching(context: FrontendContext): boolean {
  return context.bound && !context.shuttingDown;
}

function connectedOrInitialised(context: FrontendContext): boolean {
  return context.xenbusState === S.Initialised || context.xenbusState === S.Connected;
}

type Guard = (args: { context: FrontendContext; event: FrontendEvent }) => boolean;

function onBackendConnected(test: (context: FrontendContext) => boolean): Guard {
  return ({ context, event }) =>
    watching(context) && backendState(event) === S.Connected && test(context);
}

function commitOk(event: FrontendEvent): boolean {
  return event.type === 'xenstore.transactionEnded' && event.result === 'ok';
}

const guards = {
  /** InitWait while Initialising: talk_to_blkback. */
  backendInitWait: (({ context, event }) =>
    watching(context) &&
    backendState(event) === S.InitWait &&
    context.xenbusState === S.Initialising) satisfies Guard,
  /** blkfront_connect while CONNECTED: the backend signals a capacity change. */
  capacityChange: onBackendConnected(
    (c) => connectedOrInitialised(c) && c.connection === 'CONNECTED',
  ),
  /** blkfront_connect while SUSPENDED: blkif_recover. */
  recoverAfterResume: onBackendConnected(
    (c) => connectedOrInitialised(c) && c.connection === 'SUSPENDED',
  ),
  /** blkfront_connect while DISCONNECTED: the full connect. */
  fullConnect: onBackendConnected(
    (c) => connectedOrInitialised(c) && c.connection === 'DISCONNECTED',
  ),
  /** Connected seen before the frontend talked: talk_to_blkback first, then connect. */
  talkBeforeConnect: onBackendConnected((c) => !connectedOrInitialised(c) && c.queueCount === 0),
  /** Same, but the rings of the closed session were never freed: negotiate_mq's BUG_ON. */
  talkWithRingsAllocated: onBackendConnected((c) => !connectedOrInitialised(c) && c.queueCount > 0),
  /** Closing, or Closed while not Closed: blkfront_closing (which returns if own is Closing). */
  backendClosing: (({ context, event }) => {
    const state = backendState(event);
    if (!watching(context) || context.xenbusState === S.Closing) return false;
    return state === S.Closing || (state === S.Closed && context.xenbusState !== S.Closed);
  }) satisfies Guard,
  /** xenbus frontend during system shutdown: backend Closing → xenbus_frontend_closed. */
  backendClosingDuringShutdown: (({ context, event }) =>
    context.bound && context.shuttingDown && backendState(event) === S.Closing) satisfies Guard,
  deviceBound: (({ context }) => context.bound) satisfies Guard,
  resumable: (({ context }) => watching(context)) satisfies Guard,
  /** The shutdown hook acts only on a Connected device. */
  shutdownWhileConnected: (({ context }) =>
    watching(context) && context.xenbusState === S.Connected) satisfies Guard,
  commitOk: (({ event }) => commitOk(event)) satisfies Guard,
  commitEagain: (({ event }) =>
    event.type === 'xenstore.transactionEnded' && event.result === 'eagain') satisfies Guard,
  commitOkThenConnect: (({ context, event }) =>
    commitOk(event) &&
    context.connectAfterTalk &&
    context.connection === 'DISCONNECTED') satisfies Guard,
  commitOkThenRecover: (({ context, event }) =>
    commitOk(event) &&
    context.connectAfterTalk &&
    context.connection === 'SUSPENDED') satisfies Guard,
  deviceInfoComplete: (({ event }) =>
    event.type === 'backend.deviceInfoRead' && event.ok) satisfies Guard,
};

function switchTo(state: XenbusState) {
  return [
    { type: 'switchState', params: { state } },
    { type: 'cacheState', params: { state } },
  ] as const;
}

const setupFrontend = setup({
  types: {
    context: {} as FrontendContext,
    events: {} as FrontendEvent,
    input: {} as FrontendInput,
    tags: {} as typeof IN_CALLBACK,
  },
  actions: {
    ...frontendEffectActions,
    cacheState: assign((_, params: { state: XenbusState }) => ({ xenbusState: params.state })),
  },
  guards,
});

const writeRingKeys = {
  type: 'writeRingKeys',
  params: ({ context }: { context: FrontendContext }): FrontendEffectParams['writeRingKeys'] => ({
    queueCount: context.queueCount,
    ringPageOrder: context.ringPageOrder,
    protocol: context.protocol,
    persistent: context.persistent,
  }),
} as const;

const initialContext = ({ input }: { input: FrontendInput }): FrontendContext => ({
  queueCountMax: frontendQueueCountMax(input.queueCountMax, input.vcpuCount),
  ringPageOrderMax: frontendRingPageOrderMax(input.ringPageOrderMax),
  persistent: input.persistent,
  backendPath: input.backendPath,
  protocol: input.protocol ?? XEN_IO_PROTO_ABI_X86_64,
  xenbusState: S.Initialising,
  connection: 'DISCONNECTED',
  queueCount: 0,
  ringPageOrder: 0,
  connectAfterTalk: false,
  bound: false,
  shuttingDown: false,
});

export const frontendMachine = setupFrontend.createMachine({
  id: 'frontend',
  context: initialContext,
  initial: 'Initialising',
  on: {
    'otherEnd.stateChanged': [
      {
        guard: 'backendInitWait',
        target: '.Initialising.readingBackend',
        actions: [assign({ connectAfterTalk: false }), { type: 'readBackendLimits' }],
      },
      { guard: 'capacityChange', actions: { type: 'capacityChanged' } },
      {
        guard: 'recoverAfterResume',
        target: '.Connected.connected',
        actions: [
          { type: 'recover' },
          ...switchTo(S.Connected),
          assign({ connection: 'CONNECTED' }),
        ],
      },
      {
        guard: 'fullConnect',
        target: '.Initialised.readingDeviceInfo',
        actions: { type: 'readBackendDeviceInfo' },
      },
      {
        guard: 'talkBeforeConnect',
        target: '.Initialising.readingBackend',
        actions: [assign({ connectAfterTalk: true }), { type: 'readBackendLimits' }],
      },
      {
        guard: 'talkWithRingsAllocated',
        actions: [
          { type: 'guestBug', params: { message: 'negotiate_mq: BUG_ON(info->nr_rings)' } },
          assign({ bound: false }),
        ],
      },
      {
        guard: 'backendClosing',
        target: '.Closed.closed',
        actions: [{ type: 'markDeviceDead' }, ...switchTo(S.Closed)],
      },
      {
        guard: 'backendClosingDuringShutdown',
        target: '.Closed.closed',
        actions: [...switchTo(S.Closed)],
      },
    ],
    'toolstack.resume': {
      guard: 'resumable',
      target: '.Initialising.readingBackend',
      actions: [
        { type: 'captureInflight' },
        { type: 'freeRings' },
        assign(({ context }) => ({
          xenbusState: S.Initialising, // xenbus resets the cache without writing
          connection: context.connection === 'CONNECTED' ? 'SUSPENDED' : 'DISCONNECTED',
          queueCount: 0,
          connectAfterTalk: false,
        })),
        { type: 'readBackendLimits' },
      ],
    },
    'device.remove': {
      guard: 'deviceBound',
      target: '.Closed.removed',
      actions: [
        { type: 'markDeviceDead' },
        { type: 'freeRings' },
        ...switchTo(S.Closed),
        assign({ bound: false, queueCount: 0 }),
      ],
    },
    'guest.shutdown': [
      {
        guard: 'shutdownWhileConnected',
        target: '.Closing.shuttingDown',
        actions: [...switchTo(S.Closing), assign({ shuttingDown: true })],
      },
      { guard: 'resumable', actions: assign({ shuttingDown: true }) },
    ],
  },
  states: {
    Initialising: {
      initial: 'probing',
      states: {
        probing: {
          on: { 'device.probe': { target: 'waitingBackend', actions: assign({ bound: true }) } },
        },
        waitingBackend: {},
        readingBackend: {
          tags: [IN_CALLBACK],
          on: {
            'backend.limitsRead': {
              target: 'allocatingRings',
              actions: [
                assign(({ context, event }) => ({
                  queueCount: negotiateQueues(context.queueCountMax, event.queueCountMax),
                  ringPageOrder: negotiateRingPageOrder(
                    context.ringPageOrderMax,
                    event.ringPageOrderMax,
                  ),
                })),
                {
                  type: 'allocateRings',
                  params: ({ context }) => ({
                    queueCount: context.queueCount,
                    ringPageOrder: context.ringPageOrder,
                  }),
                },
              ],
            },
          },
        },
        allocatingRings: {
          tags: [IN_CALLBACK],
          on: {
            'rings.allocated': { target: 'writingKeys', actions: writeRingKeys },
            'rings.allocationFailed': {
              target: '#frontend.Closing.failed',
              actions: [
                {
                  type: 'writeError',
                  params: ({ event }) => ({ errorNumber: event.errorNumber, message: event.error }),
                },
                ...switchTo(S.Closing),
                { type: 'freeRings' },
                assign({ queueCount: 0 }),
              ],
            },
          },
        },
        writingKeys: {
          tags: [IN_CALLBACK],
          on: {
            'xenstore.transactionEnded': [
              {
                guard: 'commitOkThenConnect',
                target: '#frontend.Initialised.readingDeviceInfo',
                actions: [
                  { type: 'initShadows' },
                  ...switchTo(S.Initialised),
                  assign({ connectAfterTalk: false }),
                  { type: 'readBackendDeviceInfo' },
                ],
              },
              {
                guard: 'commitOkThenRecover',
                target: '#frontend.Connected.connected',
                actions: [
                  { type: 'initShadows' },
                  ...switchTo(S.Initialised),
                  { type: 'recover' },
                  ...switchTo(S.Connected),
                  assign({ connectAfterTalk: false, connection: 'CONNECTED' }),
                ],
              },
              {
                guard: 'commitOk',
                target: '#frontend.Initialised.waitingBackend',
                actions: [{ type: 'initShadows' }, ...switchTo(S.Initialised)],
              },
              // EAGAIN: a new transaction writes every key again; the rings are kept.
              {
                guard: 'commitEagain',
                target: 'writingKeys',
                reenter: true,
                actions: writeRingKeys,
              },
              {
                target: '#frontend.Closing.failed',
                actions: [
                  {
                    type: 'writeError',
                    params: ({ event }) => ({
                      errorNumber: event.errorNumber ?? EIO,
                      message: 'completing transaction',
                    }),
                  },
                  ...switchTo(S.Closing),
                  { type: 'freeRings' },
                  assign({ queueCount: 0 }),
                ],
              },
            ],
          },
        },
      },
    },
    Initialised: {
      initial: 'waitingBackend',
      states: {
        waitingBackend: {},
        readingDeviceInfo: {
          tags: [IN_CALLBACK],
          on: {
            'backend.deviceInfoRead': [
              {
                guard: 'deviceInfoComplete',
                target: '#frontend.Connected.connected',
                actions: [
                  {
                    type: 'connectQueues',
                    params: ({ context }) => ({ queueCount: context.queueCount }),
                  },
                  ...switchTo(S.Connected),
                  assign({ connection: 'CONNECTED' }),
                ],
              },
              {
                // xenbus_dev_fatal only: the rings stay allocated (Linux does not free them here).
                target: '#frontend.Closing.failed',
                actions: [
                  {
                    type: 'writeError',
                    params: ({ context }) => ({
                      errorNumber: ENOENT,
                      message: `reading backend fields at ${context.backendPath}`,
                    }),
                  },
                  ...switchTo(S.Closing),
                ],
              },
            ],
          },
        },
      },
    },
    Connected: { initial: 'connected', states: { connected: {} } },
    Closing: {
      initial: 'failed',
      // failed: after xenbus_dev_fatal; blkfront_closing returns at once from here.
      states: { failed: {}, shuttingDown: {} },
    },
    Closed: { initial: 'closed', states: { closed: {}, removed: {} } },
  },
});

export type FrontendMachine = typeof frontendMachine;
