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

const RESUME: Action = { actor: 'guest', kind: 'resume' };
const CLOSE: Action = { actor: 'guest', kind: 'close' };

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

export const GUEST: ActorModule<'guest'> = {
  actor: 'guest',
  kinds: {
    submit: {
      perform: submit,
      describe: (a) => `guest vCPU ${a.vcpu} submits a request`,
      faultStart: false,
    },
    resume: { perform: resume, describe: () => 'guest resume', faultStart: false },
    close: { perform: close, describe: () => 'guest close', faultStart: true },
  },
};

/** Every vCPU with work left, while the guest runs and has a disk (after close, nothing submits). */
export function submitEnabled(world: World, out: Action[]): void {
  if (!guestRuns(world) || teardownOf(world) === 'close') return;
  if (!world.front.hasDisk || world.front.device.rings.length === 0) return;
  for (let vcpu = 0; vcpu < world.guest.vcpuCount; vcpu++)
    if (hasWork(world.guest, vcpu)) out.push(world.actionCache.submit(vcpu));
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
