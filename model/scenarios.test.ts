// Whole connections run by the stub world, compared with what the real Linux 6.1 drivers wrote
// in fixtures/conformance/xen-4.17-linux-6.1/scenario-1/xs-trace.log.

import { describe, expect, it } from 'vitest';
import { BE_PATH, FE_PATH, StubWorld } from './testing/stub-world.ts';

const FRONTEND = {
  queueCountMax: 4,
  vcpuCount: 2,
  ringPageOrderMax: 0,
  persistent: true,
  backendPath: BE_PATH,
};
const BACKEND = {
  queueCountMax: 2,
  ringPageOrderMax: 4,
  indirectSegmentsMax: 256,
  persistent: true,
};

function connect(world: StubWorld): void {
  world.sendBackend({ type: 'device.probe' });
  world.sendFrontend({ type: 'device.probe' });
  world.write('toolstack', `${BE_PATH}/physical-device`, '7:0');
  world.runToQuiescence();
}

function writesBy(world: StubWorld, by: 'frontend' | 'backend'): string[] {
  const dir = by === 'frontend' ? FE_PATH : BE_PATH;
  return world.writes
    .filter((w) => w.by === by)
    .map((w) => `${w.path.startsWith(dir) ? w.path.slice(dir.length + 1) : w.path} ${w.value}`);
}

function stateWrites(world: StubWorld, by: 'frontend' | 'backend'): string[] {
  return writesBy(world, by).filter((w) => w.startsWith('state '));
}

describe('stub world: a connection as the real drivers make it', () => {
  it('2 queues: the key and state sequence of the first connect in the trace', () => {
    const world = new StubWorld(FRONTEND, BACKEND, BACKEND);
    connect(world);
    expect(writesBy(world, 'frontend')).toEqual([
      'multi-queue-num-queues 2',
      'queue-0/ring-ref 8',
      'queue-0/event-channel 15',
      'queue-1/ring-ref 9',
      'queue-1/event-channel 16',
      'protocol x86_64-abi',
      'feature-persistent 1',
      'state 3',
      'state 4',
    ]);
    expect(writesBy(world, 'backend')).toEqual([
      'feature-max-indirect-segments 256',
      'multi-queue-max-queues 2',
      'max-ring-page-order 4',
      'state 2',
      'feature-flush-cache 1',
      'feature-persistent 1',
      'sectors 16384',
      'info 0',
      'sector-size 512',
      'physical-sector-size 512',
      'state 4',
    ]);
    expect(world.fe.value).toEqual({ Connected: 'connected' });
    expect(world.be.value).toEqual({ Connected: 'connected' });
    expect(world.mappedRingCount).toBe(2);
  });

  it('1-queue fallback: a backend advertising max 1 gets flat ring-ref and event-channel', () => {
    const one = { ...BACKEND, queueCountMax: 1 };
    const world = new StubWorld(FRONTEND, one, one);
    connect(world);
    expect(writesBy(world, 'frontend')).toEqual([
      'ring-ref 8',
      'event-channel 15',
      'protocol x86_64-abi',
      'feature-persistent 1',
      'state 3',
      'state 4',
    ]);
    expect(stateWrites(world, 'backend')).toEqual(['state 2', 'state 4']);
    expect(world.mappedRingCount).toBe(1);
  });

  it('a backend old enough to advertise nothing gets one ring too', () => {
    const world = new StubWorld(FRONTEND, BACKEND, BACKEND);
    world.sendBackend({ type: 'device.probe' });
    world.store.delete(`${BE_PATH}/multi-queue-max-queues`);
    world.sendFrontend({ type: 'device.probe' });
    world.write('toolstack', `${BE_PATH}/physical-device`, '7:0');
    world.runToQuiescence();
    expect(writesBy(world, 'frontend').slice(0, 2)).toEqual(['ring-ref 8', 'event-channel 15']);
  });

  it('num-queues above the backend max: error node, Closing, no ring left mapped', () => {
    // blkback advertised 4 at probe, then its max_queues parameter was lowered to 2.
    const frontend = { ...FRONTEND, vcpuCount: 4 };
    const world = new StubWorld(frontend, { ...BACKEND, queueCountMax: 4 }, BACKEND);
    connect(world);
    expect(world.store.get(`error/${BE_PATH}/error`)).toBe(
      '-1 guest requested 4 queues, exceeding the maximum of 2.',
    );
    expect(stateWrites(world, 'backend')).toEqual(['state 2', 'state 5', 'state 6']);
    expect(stateWrites(world, 'frontend')).toEqual(['state 3', 'state 6']);
    expect(world.mappedRingCount).toBe(0);
    expect(world.effects.some((e) => e.type === 'mapRings')).toBe(false);
    // online=1: the backend rests in Closed and stays registered.
    expect(world.be.value).toEqual({ Closed: 'idle' });
  });

  it('detach: online=0 and state=5; the frontend goes straight to 6, then the backend', () => {
    const world = new StubWorld(FRONTEND, BACKEND, BACKEND);
    connect(world);
    world.write('toolstack', `${BE_PATH}/online`, '0');
    world.write('toolstack', `${BE_PATH}/state`, '5');
    world.runToQuiescence();
    expect(stateWrites(world, 'frontend').slice(-1)).toEqual(['state 6']);
    expect(stateWrites(world, 'backend').slice(-1)).toEqual(['state 6']);
    expect(world.be.value).toEqual({ Closed: 'unregistered' });
    expect(world.mappedRingCount).toBe(0);
  });
});
