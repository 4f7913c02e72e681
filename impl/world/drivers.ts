// The driver routines the world calls, as one table: the honest ones mirror Linux; a known-bad
// variant (properties/mutants) replaces one entry. impl/ itself has no mutant flags.
import { connectRing } from '../blkback/connect.ts';
import {
  completeIo,
  consumeRequest,
  finalCheck as backFinalCheck,
  submitBarrier,
} from '../blkback/ring-worker.ts';
import { finalCheck as frontFinalCheck, processResponses } from '../blkfront/interrupt.ts';
import { queueRequest } from '../blkfront/queue-request.ts';
import { captureInflight, freeRings, requeueCaptured } from '../blkfront/recover.ts';
import { readBackendLimits, xenbusSwitchState } from '../blkfront/xenbus.ts';
import { keyLayout } from '../../model/xenstore-keys.ts';

export interface BlkfrontDrivers {
  readonly queueRequest: typeof queueRequest;
  readonly processResponses: typeof processResponses;
  readonly finalCheck: typeof frontFinalCheck;
  readonly captureInflight: typeof captureInflight;
  readonly freeRings: typeof freeRings;
  readonly requeueCaptured: typeof requeueCaptured;
  /** The xenstore keys talk_to_blkback writes for n queues (flat for one, queue-N/ for more). */
  readonly keyLayout: typeof keyLayout;
  readonly readBackendLimits: typeof readBackendLimits;
  readonly switchState: typeof xenbusSwitchState;
}

export interface BlkbackDrivers {
  /** read_per_ring_refs' mapping and BACK_RING_ATTACH (at rsp_prod: a new instance re-attaches). */
  readonly connectRing: typeof connectRing;
  readonly consumeRequest: typeof consumeRequest;
  readonly completeIo: typeof completeIo;
  readonly finalCheck: typeof backFinalCheck;
  readonly submitBarrier: typeof submitBarrier;
  /** xenbus_switch_state for blkback: the value to write, or undefined to skip. */
  readonly switchState: typeof xenbusSwitchState;
}

export interface Drivers {
  /** 'honest', or the mutant's name (recorded in traces). */
  readonly name: string;
  readonly blkfront: BlkfrontDrivers;
  readonly blkback: BlkbackDrivers;
}

export const HONEST_DRIVERS: Drivers = {
  name: 'honest',
  blkfront: {
    queueRequest,
    processResponses,
    finalCheck: frontFinalCheck,
    captureInflight,
    freeRings,
    requeueCaptured,
    keyLayout,
    readBackendLimits,
    switchState: xenbusSwitchState,
  },
  blkback: {
    connectRing,
    consumeRequest,
    completeIo,
    finalCheck: backFinalCheck,
    submitBarrier,
    switchState: xenbusSwitchState,
  },
};
