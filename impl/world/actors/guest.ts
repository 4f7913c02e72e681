// The guest's own actions: a vCPU submitting through blk-mq, the resume after a restore, and
// the guest shutting its disk down.
import { XenbusState } from '../../../model/xenbus-state.ts';
import { assert } from '../../assert.ts';
import { segmentLimit } from '../../blkfront/device.ts';
import { BE } from '../../../model/xenstore-keys.ts';
import { backendPath } from '../../../model/xenstore-paths.ts';
import type { Action } from '../action.ts';
import { hasWork, issueItem } from '../block-layer.ts';
import { sendToFrontend } from '../frontend-effects.ts';
import type { ActionOf, ActorModule } from '../kinds.ts';
import { frontConnected, guestRuns, teardownOf, type World } from '../world.ts';
import { IN_CALLBACK } from '../../../model/events.ts';
import { answersOutstanding } from './toolstack.ts';
import { backendStateOf, continueReset, kexec, resetWrite } from '../kexec.ts';

const RESUME: Action = { actor: 'guest', kind: 'resume' };
const CLOSE: Action = { actor: 'guest', kind: 'close' };
const UNBIND: Action = { actor: 'guest', kind: 'unbind' };
const HANDLE_DEFERRED: Action = { actor: 'guest', kind: 'handleDeferred' };
const KEXEC: Action = { actor: 'guest', kind: 'kexec' };
const CONTINUE_RESET: Action = { actor: 'guest', kind: 'continueReset' };

/**
 * A vCPU hands one workload item to blk-mq (bio submission); dispatch to the driver is a
 * separate blkfront action, so several requests can queue before the driver runs. A vCPU's
 * requests go to hardware queue vcpu mod nr_hw_queues (blk_mq_map_queue).
 */
function submit(world: World, action: ActionOf<'guest', 'submit'>): void {
  const front = world.front;
  const dev = front.device;
  assert(dev.rings.length > 0, 'the guest submits to a device with hardware queues');
  assert(guestRuns(world), 'vCPU %s submits while the guest is frozen', action.vcpu);
  const submitted = world.guest.submittedCount;
  const requests = issueItem(
    world.guest,
    action.vcpu,
    segmentLimit(dev.features),
    world.guestMemory,
  );
  // One workload item becomes one or more requests, each seen once at the guest edge.
  assert(
    requests.length > 0 && world.guest.submittedCount === submitted + requests.length,
    'vCPU %s issued %s requests',
    action.vcpu,
    requests.length,
  );
  for (const request of requests) {
    if (front.diskDead) front.env.complete(request, 'error');
    else dev.rings[action.vcpu % dev.rings.length]!.dispatch.push(request);
  }
}

/** xenbus resume after a restore: blkfront_resume runs, then the otherend watch is registered again. */
function resume(world: World): void {
  assert(world.lifecycle.kind === 'migrated', 'the guest resumes after a restore');
  assert(world.host.hotplugDone, 'the guest of domain %s resumes before hotplug', world.guestDomid);
  world.lifecycle = { kind: 'running' };
  sendToFrontend(world, { type: 'toolstack.resume' });
  world.xs.watch(world.guestDomid, `${backendPath(world.guestDomid)}/${BE.state}`, 'otherend');
}

/** The guest shuts the device down itself (a frontend-initiated close, blkfront_closing). */
function close(world: World): void {
  assert(world.lifecycle.kind === 'running', 'a close starts from an ordinary running guest');
  world.lifecycle = { kind: 'detaching', by: 'close' };
  sendToFrontend(world, { type: 'guest.shutdown' });
}

/**
 * The guest's administrator unbinds blkfront (echo vbd-51712 > .../drivers/vbd/unbind, or rmmod
 * xen-blkfront): xenbus_dev_remove frees the otherend watch, blkfront_remove's del_gendisk finds
 * nothing in flight, blkif_free ends the grants and closes the channels, and xenbus, blkfront not
 * allowing rebind, writes Closed itself: the backend sees Closed whatever it saw before.
 */
function unbind(world: World): void {
  assert(world.lifecycle.kind === 'running', 'the guest unbinds its driver while it runs');
  assert(world.front.snapshot.context.bound, 'blkfront is bound to the device it unbinds');
  world.xs.unwatch(world.guestDomid, `${backendPath(world.guestDomid)}/${BE.state}`, 'otherend');
  sendToFrontend(world, { type: 'device.remove' });
  assert(!world.front.snapshot.context.bound, 'blkfront_remove left the driver bound');
}

/**
 * The deferred timer's gnttab_handle_deferred: every deferred reference the backend no longer
 * maps is ended now (its reference free again); blkif_free's record of them drops the ended.
 */
function handleDeferred(world: World): void {
  const before = world.guestGnttab.deferredRefs().length;
  const ended = world.guestGnttab.handleDeferred();
  assert(ended.length > 0, 'the deferred timer runs only with something to end');
  const deferred = world.front.deferredGrants;
  let kept = 0;
  for (const ref of deferred) if (!ended.includes(ref)) deferred[kept++] = ref;
  deferred.length = kept;
  assert(world.guestGnttab.deferredRefs().length === before - ended.length, 'ended once each');
}

export const GUEST: ActorModule<'guest'> = {
  actor: 'guest',
  kinds: {
    submit: {
      perform: submit,
      describe: (a) => `guest vCPU ${a.vcpu} submits a request`,
      faultStart: false,
    },
    resume: { perform: resume, describe: () => 'guest resume', faultStart: false },
    handleDeferred: {
      perform: handleDeferred,
      describe: () => 'guest deferred timer: gnttab_handle_deferred',
      faultStart: false,
    },
    close: { perform: close, describe: () => 'guest close', faultStart: true },
    unbind: {
      perform: unbind,
      describe: () => 'guest unbinds blkfront (xenbus_dev_remove)',
      faultStart: true,
    },
    kexec: {
      perform: kexec,
      describe: () => 'guest kexecs a new kernel (xenbus_reset_frontend)',
      faultStart: true,
    },
    continueReset: {
      perform: continueReset,
      describe: () => 'guest xenbus_reset_frontend: the backend followed',
      faultStart: false,
    },
  },
};

/** Every vCPU with work left, while the guest runs and has a disk (after close, nothing submits). */
export function submitEnabled(world: World, out: Action[]): void {
  if (!guestRuns(world) || teardownOf(world) === 'close') return;
  if (!world.front.hasDisk || world.front.device.rings.length === 0) return;
  for (let vcpu = 0; vcpu < world.guest.vcpuCount; vcpu++)
    if (hasWork(world.guest, vcpu)) out.push(world.actionCache.submit(vcpu));
}

/** The deferred timer fires while the guest runs and some deferred grant is no longer mapped. */
export function handleDeferredEnabled(world: World, out: Action[]): void {
  if (guestRuns(world) && world.guestGnttab.deferredEndable()) out.push(HANDLE_DEFERRED);
}

/** Restored, and the new host's backend waits in InitWait with its hotplug done. */
export function resumeEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'migrated' || !world.host.hotplugDone) return;
  if (world.host.back.cachedState === XenbusState.InitWait) out.push(RESUME);
}

/** A fault of the plan: the guest may close its connected disk. */
export function closeEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'running' || !frontConnected(world)) return;
  if (world.config.faults.frontendClose) out.push(CLOSE);
}

/**
 * A fault of the plan: after the plan's number of frontend state writes, the guest may unbind a
 * bound blkfront outside a xenwatch callback and its transaction, with no request outstanding
 * (del_gendisk would wait for them) and no response still to come. Not while the backend maps
 * a page other than a ring's: blkif_free_ring frees the bounce pages of persistent grants it
 * could only defer — a finding (docs/findings.md), kept out of the honest campaign. Not while a
 * resume renegotiates: with the otherend watch freed first, del_gendisk would wait forever for
 * the captured requests.
 */
export function unbindEnabled(world: World, out: Action[]): void {
  const after = world.config.faults.guestUnbindAfterWrites;
  if (world.lifecycle.kind !== 'running' || after === undefined) return;
  if (frontendWrites(world) < after) return;
  const front = world.front;
  if (!front.snapshot.context.bound || front.tx !== undefined) return;
  if (front.snapshot.hasTag(IN_CALLBACK) || front.snapshot.context.connection === 'SUSPENDED')
    return;
  for (const rinfo of front.device.rings)
    if (rinfo.inflightCount > 0 || rinfo.dispatch.length > 0) return;
  if (!answersOutstanding(world) && !persistentlyMapped(world)) out.push(UNBIND);
}

/** The backend maps a guest page that is no ring page (a persistent grant it keeps). */
function persistentlyMapped(world: World): boolean {
  const table = world.guestGnttab;
  if (table.mappedCount() === 0) return false;
  const rings = new Set(world.front.device.rings.flatMap((r) => r.ringRefs));
  return table.grantedRefs().some((ref) => table.isMapped(ref) && !rings.has(ref));
}

/** How many times blkfront (or xenbus for it) has written its state node so far. */
function frontendWrites(world: World): number {
  let n = 0;
  for (const w of world.stateWrites) if (w.side === 'frontend') n += 1;
  return n;
}

/**
 * A fault of the plan, once: after blkfront was unbound (the old kernel's driver let go of the
 * device, nothing in flight, no answer to come), the guest kexecs into a new kernel, while the
 * backend is bound and in a state xenbus_reset_frontend handles (Connected, Closing, Closed).
 */
export function kexecEnabled(world: World, out: Action[]): void {
  if (world.lifecycle.kind !== 'running' || world.config.faults.guestKexec !== true) return;
  const front = world.front;
  if (world.kexecs > 0 || !front.probed || front.snapshot.context.bound) return;
  if (front.resetAwaits !== undefined || !world.host.back.snapshot.context.bound) return;
  if (answersOutstanding(world) || resetWrite(backendStateOf(world)) === undefined) return;
  assert(front.device.rings.length === 0, 'an unbound blkfront holds no rings');
  out.push(KEXEC);
}

/** The reset's waiter wakes once the backend's state node reads what it waits for. */
export function continueResetEnabled(world: World, out: Action[]): void {
  const awaited = world.front.resetAwaits;
  if (awaited === undefined || !guestRuns(world)) return;
  assert(!world.front.probed, 'blkfront probed before its kernel finished the reset');
  if (backendStateOf(world) === awaited) out.push(CONTINUE_RESET);
}
