// The world side of blkfront's control plane: the frontend machine's effects, one exhaustive
// switch, each answered in the same step (machine-loop.ts runs the machine).
import { type FrontendEffect, frontendEffectsOf } from '../../model/effects.ts';
import type { FrontendEvent } from '../../model/events.ts';
import { frontendMemo } from './machine-memo.ts';
import { BE, FE, fillKeyLayout, formatErrorNode, readUnsigned } from '../../model/xenstore-keys.ts';
import { assert, unreachable } from '../assert.ts';
import { setupRing } from '../blkfront/setup.ts';
import { failOutstanding } from '../blkfront/recover.ts';
import { segmentLimit } from '../blkfront/device.ts';
import { readTrusted } from '../blkfront/xenbus.ts';
import { backendPath, frontendErrorPath, frontendPath } from '../../model/xenstore-paths.ts';
import { type MachineSide, settle } from './machine-loop.ts';
import { splitForLimit } from './block-layer.ts';
import type { FrontendSnapshot, World } from './world.ts';

const FRONTEND: MachineSide<FrontendSnapshot, FrontendEvent, FrontendEffect, undefined> = {
  side: 'frontend',
  next: (snapshot, event) => {
    const [next, actions] = frontendMemo.transition(snapshot, event);
    return [next, frontendEffectsOf(actions)];
  },
  perform: (world, _none, effect) => runFrontendEffect(world, effect),
};

/** An event for blkfront's machine (a watch callback, a commit's result, the guest's resume). */
export function sendToFrontend(world: World, first: FrontendEvent): void {
  settle(world, FRONTEND, world.front, undefined, first);
}

function readBackend(world: World, key: string): string | undefined {
  const read = world.xs.read(world.guestDomid, `${backendPath(world.guestDomid)}/${key}`);
  return read.ok ? read.value : undefined;
}

/** A key of blkfront's own directory (dev->nodename), as the guest reads it. */
function readOwn(world: World, key: string): string | undefined {
  const read = world.xs.read(world.guestDomid, `${frontendPath(world.guestDomid)}/${key}`);
  return read.ok ? read.value : undefined;
}

function runFrontendEffect(world: World, effect: FrontendEffect): FrontendEvent | undefined {
  const front = world.front;
  const dev = front.device;
  switch (effect.type) {
    case 'switchState':
      switchFrontendState(world, effect.state);
      return undefined;
    case 'readBackendLimits':
      dev.backendTrusted = readTrusted((key) => readOwn(world, key));
      return {
        type: 'backend.limitsRead',
        ...world.drivers.blkfront.readBackendLimits((key) => readBackend(world, key)),
      };
    case 'allocateRings':
      return allocateRings(world, effect.queueCount, effect.ringPageOrder);
    case 'writeRingKeys':
      writeRingKeys(world, effect);
      return undefined;
    case 'initShadows':
      for (const rinfo of dev.rings)
        assert(rinfo.inflightCount === 0, 'fresh rings have no requests');
      return undefined;
    case 'readBackendDeviceInfo': {
      const missing = world.drivers.blkfront.readDeviceInfo((key) => readBackend(world, key));
      return missing === undefined
        ? { type: 'backend.deviceInfoRead', ok: true }
        : { type: 'backend.deviceInfoRead', ok: false, missing };
    }
    case 'connectQueues':
      assert(dev.rings.length === effect.queueCount, 'blkfront_connect with the negotiated rings');
      front.hasDisk = true;
      connectDevice(world);
      return undefined;
    case 'recover':
      connectDevice(world);
      return undefined;
    case 'captureInflight':
      world.drivers.blkfront.captureInflight(dev);
      return undefined;
    case 'freeRings': {
      const suspended = front.snapshot.context.connection === 'SUSPENDED';
      if (!suspended) failOutstanding(dev, front.env);
      dev.connection = suspended ? 'suspended' : 'disconnected';
      front.deferredGrants.push(...world.drivers.blkfront.freeRings(dev, front.env));
      return undefined;
    }
    case 'markDeviceDead':
      front.diskDead = true;
      for (const rinfo of dev.rings) rinfo.stopped = true;
      failQueued(world);
      return undefined;
    case 'capacityChanged':
      return undefined;
    case 'writeError': {
      const path = frontendErrorPath(world.guestDomid, dev.handle);
      world.xs.write(world.guestDomid, path, formatErrorNode(effect.errorNumber, effect.message));
      return undefined;
    }
    case 'guestBug':
      front.env.report({
        side: 'blkfront',
        code: 'guest-bug',
        ring: undefined,
        requestId: undefined,
        gref: undefined,
        message: effect.message,
      });
      return undefined;
    default:
      return unreachable(effect);
  }
}

/**
 * blkfront_connect and blkif_recover: the backend's features, then the requests waiting in blk-mq
 * go through the block layer again (blkif_set_queue_limits): those queued under the previous
 * limits (a save during renegotiation leaves some) are split to the new segment limit, since
 * dispatching one above it is blkif_queue_rw_req's BUG_ON.
 */
function connectDevice(world: World): void {
  const dev = world.front.device;
  assert(dev.rings.length > 0, 'blkfront_connect of domain %s without rings', world.guestDomid);
  readFeatures(world);
  dev.connection = 'connected';
  world.drivers.blkfront.requeueCaptured(dev, (r) =>
    splitForLimit(world.guest, r, segmentLimit(dev.features)),
  );
}

/** xenbus_switch_state: skip an unchanged state, never recreate a deleted node. */
function switchFrontendState(world: World, state: number): void {
  const front = world.front;
  const value = world.drivers.blkfront.switchState(front.cachedState, state);
  if (value === undefined) return;
  const path = `${frontendPath(world.guestDomid)}/${FE.state}`;
  const before = world.xs.read(world.guestDomid, path);
  if (!before.ok) return;
  const written = world.xs.write(world.guestDomid, path, String(value));
  if (!written.ok) return;
  world.stateWrites.push({
    side: 'frontend',
    // blkfront_remove has run (the driver is unbound): this is xenbus_dev_remove's Closed.
    writer: front.snapshot.context.bound ? 'frontend' : 'xenbus',
    from: Number(before.value),
    to: value,
    step: world.stepCount,
    cached: front.cachedState,
  });
  world.observe?.({ kind: 'state', side: 'frontend', state: value });
  front.cachedState = value;
}

function allocateRings(world: World, queueCount: number, ringPageOrder: number): FrontendEvent {
  const dev = world.front.device;
  assert(dev.rings.length === 0, 'negotiate_mq requires the ring array to be freed first');
  dev.ringPageOrder = ringPageOrder;
  for (let i = 0; i < queueCount; i++) {
    const setup = setupRing(i, ringPageOrder, world.front.env);
    if (!setup.ok)
      return {
        type: 'rings.allocationFailed',
        errorNumber: setup.errorNumber,
        error: setup.message,
      };
    dev.rings.push(setup.ring);
  }
  assert(dev.rings.length === queueCount, 'negotiate_mq allocated %s rings', dev.rings.length);
  return { type: 'rings.allocated' };
}

function writeRingKeys(
  world: World,
  effect: Extract<FrontendEffect, { type: 'writeRingKeys' }>,
): void {
  const front = world.front;
  // talk_to_blkback writes the keys of the rings negotiate_mq allocated, one set per queue.
  assert(
    front.device.rings.length === effect.queueCount,
    'ring keys for %s queues with %s rings',
    effect.queueCount,
    front.device.rings.length,
  );
  if (front.tx !== undefined) world.xs.transactionEnd(world.guestDomid, front.tx, false);
  const tx = world.xs.transactionStart(world.guestDomid);
  front.tx = tx;
  const dir = frontendPath(world.guestDomid);
  const rings = front.device.rings;
  const writes = fillKeyLayout(
    world.drivers.blkfront.keyLayout(effect.queueCount, effect.ringPageOrder),
    {
      ringRefs: rings.map((r) => r.ringRefs),
      eventChannels: rings.map((r) => r.port),
      protocol: effect.protocol,
      persistent: effect.persistent,
    },
  );
  for (const [key, value] of writes) {
    world.xs.write(world.guestDomid, `${dir}/${key}`, value, tx);
    world.observe?.({ kind: 'xenstoreWrite', dom: world.guestDomid, path: `${dir}/${key}`, value });
  }
}

/** blkfront_gather_backend_features, through the Drivers table. */
function readFeatures(world: World): void {
  const dev = world.front.device;
  dev.features = world.drivers.blkfront.gatherBackendFeatures(
    (key) => readBackend(world, key),
    world.config.frontend,
  );
  // Persistent grants or an untrusted backend force bouncing through the ring's own pages.
  dev.bounce = world.drivers.blkfront.bounces(dev.backendTrusted, dev.features.persistent);
}

/** A dead disk fails what blk-mq still holds; requests on the rings wait for their responses. */
function failQueued(world: World): void {
  const dev = world.front.device;
  for (const request of dev.captured.splice(0)) world.front.env.complete(request, 'error');
  for (const rinfo of dev.rings)
    for (const request of rinfo.dispatch.splice(0)) world.front.env.complete(request, 'error');
  assert(dev.captured.length === 0, 'a dead disk still holds %s requests', dev.captured.length);
}
