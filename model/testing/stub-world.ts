// Test support only: the smallest world that runs both machines against a xenstore Map, so the
// model's tests can replay a whole connection without impl/. Watch firings and transaction
// commits are queued and delivered in FIFO order; a side inside a callback (IN_CALLBACK) gets
// no watch firing until it leaves it; effect answers are delivered at once, as in the world.

import { initialTransition, transition } from 'xstate';
import { type BackendInput, backendMachine } from '../backend-machine.ts';
import {
  backendEffectsOf,
  type BackendEffect,
  type FrontendEffect,
  frontendEffectsOf,
} from '../effects.ts';
import { type BackendEvent, type FrontendEvent, IN_CALLBACK } from '../events.ts';
import { type FrontendInput, frontendMachine } from '../frontend-machine.ts';
import { type BackendLimits, validateFrontendKeys } from '../negotiate.ts';
import { XenbusState } from '../xenbus-state.ts';
import {
  BE,
  errorNodePath,
  FE,
  fillKeyLayout,
  formatErrorNode,
  keyLayout,
  readUnsigned,
} from '../xenstore-keys.ts';

export const FE_PATH = '/local/domain/1/device/vbd/51712';
export const BE_PATH = '/local/domain/0/backend/vbd/1/51712';

/** blkback's limits as probe advertises them, with the machine's input. */
export interface StubBackendInput extends BackendInput {
  readonly queueCountMax: number;
  readonly ringPageOrderMax: number;
  readonly indirectSegmentsMax: number;
}

export interface Write {
  readonly by: 'frontend' | 'backend' | 'toolstack';
  readonly path: string;
  readonly value: string;
}

type Pending =
  | { readonly kind: 'watch'; readonly side: 'frontend' | 'backend' }
  | { readonly kind: 'hotplug' }
  | {
      readonly kind: 'commit';
      readonly side: 'frontend' | 'backend';
      readonly writes: [string, string][];
    };

const STEPS_MAX = 1000;

export class StubWorld {
  readonly store = new Map<string, string>();
  readonly writes: Write[] = [];
  readonly effects: (FrontendEffect | BackendEffect)[] = [];
  /** Rings the backend holds mapped right now. */
  mappedRingCount = 0;
  private readonly pending: Pending[] = [];
  private nextGrantRef = 8;
  private nextPort = 15;
  fe;
  be;

  constructor(
    readonly frontendInput: FrontendInput,
    /** What probe advertises (xen_blkbk_probe's writes) and the machine's own input. */
    readonly backendInput: StubBackendInput,
    /** blkback's parameters when it validates (may differ from what probe advertised). */
    readonly backendLimits: BackendLimits,
  ) {
    this.write('toolstack', `${FE_PATH}/${FE.state}`, '1');
    this.write('toolstack', `${BE_PATH}/${BE.state}`, '1');
    this.write('toolstack', `${BE_PATH}/${BE.online}`, '1');
    this.fe = initialTransition(frontendMachine, frontendInput)[0];
    this.be = initialTransition(backendMachine, { persistent: backendInput.persistent })[0];
  }

  write(by: Write['by'], path: string, value: string): void {
    this.store.set(path, value);
    this.writes.push({ by, path, value });
    if (path === `${FE_PATH}/${FE.state}`) this.pending.push({ kind: 'watch', side: 'backend' });
    if (path === `${BE_PATH}/${BE.state}`) this.pending.push({ kind: 'watch', side: 'frontend' });
    if (path === `${BE_PATH}/${BE.physicalDevice}`) this.pending.push({ kind: 'hotplug' });
  }

  sendFrontend(event: FrontendEvent): void {
    const cache = this.fe.context.xenbusState;
    const [next, actions] = transition(frontendMachine, this.fe, event);
    this.fe = next;
    const answers: FrontendEvent[] = [];
    let cached: number = cache;
    for (const effect of frontendEffectsOf(actions)) {
      this.effects.push(effect);
      if (effect.type === 'switchState') {
        if (effect.state !== cached) this.switchState('frontend', FE_PATH, effect.state);
        cached = effect.state;
      } else {
        this.runFrontendEffect(effect, answers);
      }
    }
    for (const answer of answers) this.sendFrontend(answer);
  }

  sendBackend(event: BackendEvent): void {
    const cache = this.be.context.xenbusState;
    const [next, actions] = transition(backendMachine, this.be, event);
    this.be = next;
    const answers: BackendEvent[] = [];
    let cached: number = cache;
    for (const effect of backendEffectsOf(actions)) {
      this.effects.push(effect);
      if (effect.type === 'switchState') {
        if (effect.state !== cached) this.switchState('backend', BE_PATH, effect.state);
        cached = effect.state;
      } else {
        this.runBackendEffect(effect, answers);
      }
    }
    for (const answer of answers) this.sendBackend(answer);
  }

  /** Delivers queued watch firings, hotplug and commits until nothing is left. */
  runToQuiescence(): void {
    for (let step = 0; step < STEPS_MAX; step++) {
      const index = this.pending.findIndex((p) => this.deliverable(p));
      if (index === -1) return;
      const [item] = this.pending.splice(index, 1);
      if (item !== undefined) this.deliver(item);
    }
    throw new Error('stub world did not quiesce');
  }

  private deliverable(item: Pending): boolean {
    if (item.kind === 'commit') return true;
    const snapshot = item.kind === 'hotplug' || item.side === 'backend' ? this.be : this.fe;
    return !snapshot.hasTag(IN_CALLBACK);
  }

  private deliver(item: Pending): void {
    if (item.kind === 'hotplug') {
      this.sendBackend({ type: 'hotplug.physicalDeviceChanged' });
    } else if (item.kind === 'watch') {
      const otherPath = item.side === 'frontend' ? BE_PATH : FE_PATH;
      const state = readUnsigned(this.store.get(`${otherPath}/state`)) ?? XenbusState.Unknown;
      const event = { type: 'otherEnd.stateChanged', state } as const;
      if (item.side === 'frontend') this.sendFrontend(event);
      else this.sendBackend(event);
    } else {
      for (const [path, value] of item.writes) this.write(item.side, path, value);
      const ended = { type: 'xenstore.transactionEnded', result: 'ok' } as const;
      if (item.side === 'frontend') this.sendFrontend(ended);
      else this.sendBackend(ended);
    }
  }

  private switchState(side: 'frontend' | 'backend', dir: string, state: number): void {
    if (!this.store.has(`${dir}/state`)) return; // never re-create a deleted node
    this.write(side, `${dir}/state`, String(state));
  }

  private runFrontendEffect(effect: FrontendEffect, answers: FrontendEvent[]): void {
    switch (effect.type) {
      case 'readBackendLimits':
        answers.push({
          type: 'backend.limitsRead',
          queueCountMax: readUnsigned(this.store.get(`${BE_PATH}/${BE.multiQueueMaxQueues}`)),
          ringPageOrderMax: readUnsigned(this.store.get(`${BE_PATH}/${BE.maxRingPageOrder}`)),
        });
        return;
      case 'allocateRings':
        answers.push({ type: 'rings.allocated' });
        return;
      case 'writeRingKeys': {
        const pages = 2 ** effect.ringPageOrder;
        const values = {
          ringRefs: Array.from({ length: effect.queueCount }, () =>
            Array.from({ length: pages }, () => this.nextGrantRef++),
          ),
          eventChannels: Array.from({ length: effect.queueCount }, () => this.nextPort++),
          protocol: effect.protocol,
          persistent: effect.persistent,
        };
        const writes = fillKeyLayout(keyLayout(effect.queueCount, effect.ringPageOrder), values);
        const absolute = writes.map(([p, v]): [string, string] => [`${FE_PATH}/${p}`, v]);
        this.pending.push({ kind: 'commit', side: 'frontend', writes: absolute });
        return;
      }
      case 'readBackendDeviceInfo': {
        const missing = [BE.sectors, BE.info, BE.sectorSize].find(
          (key) => !this.store.has(`${BE_PATH}/${key}`),
        );
        answers.push(
          missing === undefined
            ? { type: 'backend.deviceInfoRead', ok: true }
            : { type: 'backend.deviceInfoRead', ok: false, missing },
        );
        return;
      }
      case 'writeError':
        this.write(
          'frontend',
          errorNodePath(FE_PATH),
          formatErrorNode(effect.errorNumber, effect.message),
        );
        return;
      default:
        return; // data-plane effects: nothing to do in the stub
    }
  }

  private runBackendEffect(effect: BackendEffect, answers: BackendEvent[]): void {
    switch (effect.type) {
      case 'writeBackendFeatures':
        this.write(
          'backend',
          `${BE_PATH}/${BE.featureMaxIndirectSegments}`,
          String(this.backendInput.indirectSegmentsMax),
        );
        this.write(
          'backend',
          `${BE_PATH}/${BE.multiQueueMaxQueues}`,
          String(this.backendInput.queueCountMax),
        );
        this.write(
          'backend',
          `${BE_PATH}/${BE.maxRingPageOrder}`,
          String(this.backendInput.ringPageOrderMax),
        );
        return;
      case 'readFrontendKeys': {
        const read = (path: string) => this.store.get(`${FE_PATH}/${path}`);
        const keys = validateFrontendKeys(read, this.backendLimits, FE_PATH);
        answers.push(
          keys.ok
            ? { type: 'frontend.ringsRead', ...keys }
            : {
                type: 'frontend.ringsRead',
                ok: false,
                errorNumber: keys.errorNumber,
                error: keys.message,
              },
        );
        return;
      }
      case 'mapRings':
        this.mappedRingCount = effect.queueCount;
        answers.push({ type: 'rings.mapped' });
        return;
      case 'writeConnectKeys': {
        const keys: [string, string][] = [
          [BE.featureFlushCache, '1'],
          [BE.featurePersistent, effect.persistent ? '1' : '0'],
          [BE.sectors, '16384'],
          [BE.info, '0'],
          [BE.sectorSize, '512'],
          [BE.physicalSectorSize, '512'],
        ];
        const writes = keys.map(([k, v]): [string, string] => [`${BE_PATH}/${k}`, v]);
        this.pending.push({ kind: 'commit', side: 'backend', writes });
        return;
      }
      case 'disconnectRings':
        this.mappedRingCount = 0;
        answers.push({ type: 'rings.drained' });
        return;
      case 'readOnline':
        answers.push({
          type: 'xenstore.onlineRead',
          online: readUnsigned(this.store.get(`${BE_PATH}/${BE.online}`)) === 1,
        });
        return;
      case 'writeError':
        this.write(
          'backend',
          errorNodePath(BE_PATH),
          formatErrorNode(effect.errorNumber, effect.message),
        );
        return;
      default:
        return;
    }
  }
}
