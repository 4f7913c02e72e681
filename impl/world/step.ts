// step(world, action): performs exactly one action. The only mutator of a world; its result
// depends only on the world and the action.
import { XenbusState } from '../../model/xenbus-state.ts';
import { BE, FE } from '../../model/xenstore-keys.ts';
import { assert, unreachable } from '../assert.ts';
import { wake } from '../blkback/ring-worker.ts';
import { disconnectRing } from '../blkback/connect.ts';
import { segmentLimit } from '../blkfront/device.ts';
import { ringFull } from '../xen/shared-ring.ts';
import type { Action } from './action.ts';
import { sendToBackend, settleDrain } from './backend.ts';
import { sendToFrontend } from './frontend.ts';
import { issueItem } from './guest.ts';
import { createHost, frontEnvOf } from './init.ts';
import {
  BACKEND_DOMID,
  backendPath,
  createDevice,
  frontendPath,
  initiateRemove,
  introduceDomain,
  recreateBackendDir,
  removeDirectories,
  writeHotplug,
} from './toolstack.ts';
import type { Host, World } from './world.ts';
import { performAttack } from './hostile/attacks.ts';

export function step(world: World, action: Action): void {
  world.stepCount += 1;
  switch (action.kind) {
    case 'submit':
      submit(world, action.vcpu);
      return;
    case 'queueRequest':
      queueRequest(world, action.ring);
      return;
    case 'processResponses':
      processResponses(world, action.ring);
      return;
    case 'finalCheck':
      if (action.actor === 'blkfront') frontFinalCheck(world, action.ring);
      else world.drivers.blkback.finalCheck(backRing(world, action.ring));
      return;
    case 'consumeRequest':
      world.drivers.blkback.consumeRequest(backRing(world, action.ring), world.host.env);
      return;
    case 'submitBarrier':
      world.drivers.blkback.submitBarrier(backRing(world, action.ring));
      return;
    case 'completeIo':
      world.drivers.blkback.completeIo(backRing(world, action.ring), action.slot, world.host.env);
      settleDrain(world, world.host);
      return;
    case 'deliverEvent':
      deliverEvent(world, action.side, action.ring);
      return;
    case 'fireWatch':
      fireWatch(world, action.connection);
      return;
    case 'conflict':
      conflict(world, action.connection);
      return;
    case 'commitTransaction':
      commit(world, action.actor);
      return;
    case 'probe':
      probe(world, action.actor);
      return;
    case 'hotplug':
      writeHotplug(world.xs, world.guestDomid);
      world.host.hotplugDone = true;
      return;
    case 'suspend':
      // The suspend handshake (control/shutdown) ends with the guest frozen: no vCPU, no handler.
      world.phase = 'suspended';
      return;
    case 'migrate':
      migrate(world);
      return;
    case 'resume':
      resume(world);
      return;
    case 'unplug':
      initiateRemove(world.xs, world.guestDomid, false);
      world.unplugged = true;
      return;
    case 'restartBackend':
      restartBackend(world);
      return;
    case 'removeDevice':
      removeDirectories(world.xs, world.guestDomid);
      world.removed = true;
      // The guest's xenbus sees its device directory vanish and unregisters the device.
      sendToFrontend(world, { type: 'device.remove' });
      return;
    case 'close':
      world.closed = true;
      sendToFrontend(world, { type: 'guest.shutdown' });
      return;
    case 'attack':
      performAttack(world, action);
      return;
    default:
      unreachable(action);
  }
}

/** By ring index, not position: a disconnect keeps only its busy rings in the array. */
function backRing(world: World, index: number) {
  const ring = world.host.back.rings.find((r) => r.index === index);
  assert(ring !== undefined, `backend ring ${index} exists`);
  return ring;
}

function frontRing(world: World, index: number) {
  const rinfo = world.front.device.rings[index];
  assert(rinfo !== undefined, `frontend ring ${index} exists`);
  return rinfo;
}

/** blk_mq_map_queue: a vCPU's requests go to hardware queue vcpu mod nr_hw_queues. */
function submit(world: World, vcpu: number): void {
  const front = world.front;
  const dev = front.device;
  const requests = issueItem(world.guest, vcpu, segmentLimit(dev.features), world.guestMemory);
  for (const request of requests) {
    if (front.diskDead) front.env.complete(request, 'error');
    else dev.rings[vcpu % dev.rings.length]!.dispatch.push(request);
  }
}

function queueRequest(world: World, index: number): void {
  const dev = world.front.device;
  const rinfo = frontRing(world, index);
  const request = rinfo.dispatch[0]!;
  const result = world.drivers.blkfront.queueRequest(dev, rinfo, request, world.front.env);
  if (result.kind === 'busy') {
    // BLK_STS_DEV_RESOURCE: the hardware queue stops until a completion restarts it.
    rinfo.stopped = true;
    return;
  }
  rinfo.dispatch.shift();
  if (result.kind === 'failed') world.front.env.complete(request, 'error');
  else
    world.observe?.({
      kind: 'request',
      ring: index,
      id: result.id,
      what: `queued request ${request.tag}`,
    });
}

function processResponses(world: World, index: number): void {
  const rinfo = frontRing(world, index);
  const result = world.drivers.blkfront.processResponses(
    world.front.device,
    rinfo,
    world.front.env,
  );
  switch (result) {
    case 'finalCheck':
      rinfo.irq = 'finalCheck';
      return;
    case 'error':
      // Linux: no EOI after a protocol violation, so the channel stays masked.
      rinfo.irq = 'idle';
      return;
    case 'ignored':
    case 'idle':
      endInterrupt(world, index);
      return;
  }
}

function frontFinalCheck(world: World, index: number): void {
  const rinfo = frontRing(world, index);
  if (world.drivers.blkfront.finalCheck(world.front.device, rinfo, world.front.env))
    rinfo.irq = 'responses';
  else endInterrupt(world, index);
}

/** The late EOI unmasks the channel; kick_pending_request_queues restarts a stopped queue. */
function endInterrupt(world: World, index: number): void {
  const rinfo = frontRing(world, index);
  rinfo.irq = 'idle';
  world.evtchn.unmask(world.guestDomid, rinfo.port);
  if (rinfo.stopped && !ringFull(rinfo.front)) rinfo.stopped = false;
}

function deliverEvent(world: World, side: 'blkfront' | 'blkback', index: number): void {
  if (side === 'blkback') {
    const ring = backRing(world, index);
    world.evtchn.deliver(BACKEND_DOMID, ring.port);
    wake(ring);
    return;
  }
  const rinfo = frontRing(world, index);
  world.evtchn.deliver(world.guestDomid, rinfo.port);
  // Late EOI (XSA-391): the channel stays masked until the handler ends.
  world.evtchn.mask(world.guestDomid, rinfo.port);
  rinfo.irq = 'responses';
}

/** The watch callback reads the other end's state when it runs, not when the event fired. */
function fireWatch(world: World, connection: 'frontend' | 'backend'): void {
  if (connection === 'frontend') {
    const event = world.xs.takeWatchEvent(world.guestDomid);
    assert(event !== undefined, 'a queued frontend watch event');
    if (
      event.path !== `${backendPath(world.guestDomid)}/${BE.state}` ||
      !world.front.snapshot.context.bound
    )
      return;
    sendToFrontend(world, {
      type: 'otherEnd.stateChanged',
      state: readStateValue(world, world.guestDomid, event.path),
    });
    return;
  }
  const event = world.xs.takeWatchEvent(BACKEND_DOMID);
  assert(event !== undefined, 'a queued backend watch event');
  const host = world.host;
  if (host.back.removed) return;
  if (event.path === `${frontendPath(world.guestDomid)}/${FE.state}`) {
    sendToBackend(world, host, {
      type: 'otherEnd.stateChanged',
      state: readStateValue(world, BACKEND_DOMID, event.path),
    });
  } else if (event.path === `${backendPath(world.guestDomid)}/${BE.physicalDevice}`) {
    if (world.xs.read(BACKEND_DOMID, event.path).ok)
      sendToBackend(world, host, { type: 'hotplug.physicalDeviceChanged' });
  }
}

/** xenbus_read_driver_state: Unknown when the node cannot be read; any number a peer wrote. */
function readStateValue(world: World, dom: number, path: string): number {
  const read = world.xs.read(dom, path);
  if (!read.ok) return XenbusState.Unknown;
  const value = Number.parseInt(read.value, 10);
  return Number.isFinite(value) ? value : XenbusState.Unknown;
}

function conflict(world: World, connection: 'frontend' | 'backend'): void {
  world.conflictsLeft -= 1;
  // The toolstack pre-writes protocol for PV guests; a resize rewrites sectors.
  if (connection === 'frontend')
    world.xs.write(
      BACKEND_DOMID,
      `${frontendPath(world.guestDomid)}/${FE.protocol}`,
      world.config.abi,
    );
  else
    world.xs.write(
      BACKEND_DOMID,
      `${backendPath(world.guestDomid)}/${BE.sectors}`,
      String(world.disk.sectorCount),
    );
}

function commit(world: World, actor: 'blkfront' | 'blkback'): void {
  if (actor === 'blkfront') {
    const tx = world.front.tx!;
    world.front.tx = undefined;
    const ended = world.xs.transactionEnd(world.guestDomid, tx, true);
    sendToFrontend(world, {
      type: 'xenstore.transactionEnded',
      result: ended.ok ? 'ok' : ended.error === 'EAGAIN' ? 'eagain' : 'error',
    });
    return;
  }
  const host = world.host;
  const tx = host.back.tx!;
  host.back.tx = undefined;
  const ended = world.xs.transactionEnd(BACKEND_DOMID, tx, true);
  sendToBackend(world, host, {
    type: 'xenstore.transactionEnded',
    result: ended.ok ? 'ok' : ended.error === 'EAGAIN' ? 'eagain' : 'error',
  });
}

function probe(world: World, actor: 'blkfront' | 'blkback'): void {
  if (actor === 'blkfront') {
    world.front.probed = true;
    sendToFrontend(world, { type: 'device.probe' });
    // watch_otherend after the driver's probe: its first firing is queued now.
    world.xs.watch(world.guestDomid, `${backendPath(world.guestDomid)}/${BE.state}`, 'otherend');
    return;
  }
  sendToBackend(world, world.host, { type: 'device.probe' });
  world.xs.watch(
    BACKEND_DOMID,
    `${backendPath(world.guestDomid)}/${BE.physicalDevice}`,
    'physical-device',
  );
  world.xs.watch(BACKEND_DOMID, `${frontendPath(world.guestDomid)}/${FE.state}`, 'otherend');
}

/**
 * Save here, restore on the next host: the source domain is destroyed (its backend, mappings and
 * channels go with its host), the destination gets fresh directories and a new domid.
 */
function migrate(world: World): void {
  const oldDomid = world.guestDomid;
  const old = world.host;
  // The source host's in-flight disk I/O is abandoned with the host: the destination re-issues
  // every captured request (at-least-once execution, exactly-once completion).
  abandonInflight(world, old);
  // libxl's forced destroy (flow F): the frontend directory goes and the backend gets online=0,
  // state=Closing in one transaction; blkback reads the frontend as Unknown and unregisters,
  // releasing its rings, and xenbus writes Closed because its node reads Closing.
  initiateRemove(world.xs, oldDomid, true);
  if (old.back.snapshot.context.bound)
    sendToBackend(world, old, { type: 'otherEnd.stateChanged', state: XenbusState.Unknown });
  for (const ring of old.back.rings.splice(0)) disconnectRing(ring, old.env);
  for (const rinfo of world.front.device.rings) world.evtchn.close(oldDomid, rinfo.port);
  world.xs.unwatch(BACKEND_DOMID, `${frontendPath(oldDomid)}/${FE.state}`, 'otherend');
  world.xs.unwatch(
    BACKEND_DOMID,
    `${backendPath(oldDomid)}/${BE.physicalDevice}`,
    'physical-device',
  );
  world.xs.unwatch(oldDomid, `${backendPath(oldDomid)}/${BE.state}`, 'otherend');
  removeDirectories(world.xs, oldDomid);
  const target = world.config.faults.migrations[world.migrationCount]!;
  world.migrationCount += 1;
  world.guestDomid = oldDomid + 1;
  world.front.env = frontEnvOf(world);
  introduceDomain(world.xs, world.guestDomid);
  createDevice(world.xs, world.guestDomid);
  world.host = createHost(world, world.migrationCount, target);
  world.phase = 'migrated';
}

/** A backend host that goes away takes its disk I/O in flight with it, and those mappings. */
function abandonInflight(world: World, host: Host): void {
  for (const ring of host.back.rings) {
    for (const pending of [...ring.inflight.values(), ...(ring.barrier ? [ring.barrier] : [])]) {
      for (const seg of pending.segments)
        if (!seg.persistent) world.guestGnttab.unmap(seg.gref, BACKEND_DOMID);
      ring.pendingFree.push(pending.slot);
    }
    ring.inflight.clear();
    ring.barrier = undefined;
  }
}

/**
 * The backend domain's blkback dies and comes back as a new instance: everything it held goes
 * (I/O in flight, mappings, channels, watches) and the toolstack writes a fresh backend
 * directory. The new instance probes and waits in InitWait; Linux blkfront, Connected, ignores
 * that (blkback_changed acts on InitWait only while Initialising), so its requests on the old
 * rings never complete — the model reports what the real drivers do.
 */
function restartBackend(world: World): void {
  world.backendRestarted = true;
  const old = world.host;
  abandonInflight(world, old);
  for (const ring of old.back.rings.splice(0)) disconnectRing(ring, old.env);
  world.xs.unwatch(BACKEND_DOMID, `${frontendPath(world.guestDomid)}/${FE.state}`, 'otherend');
  world.xs.unwatch(
    BACKEND_DOMID,
    `${backendPath(world.guestDomid)}/${BE.physicalDevice}`,
    'physical-device',
  );
  recreateBackendDir(world.xs, world.guestDomid);
  world.host = createHost(world, old.index, old.back.config);
}

/** xenbus resume: blkfront_resume runs, then the otherend watch is registered again. */
function resume(world: World): void {
  world.phase = 'running';
  sendToFrontend(world, { type: 'toolstack.resume' });
  world.xs.watch(world.guestDomid, `${backendPath(world.guestDomid)}/${BE.state}`, 'otherend');
}
