// World actions: one atomic step at a real concurrency point. Each names its actor and target
// (ring, request id, backend slot), never an index into a list, so traces read well and survive
// refactoring. The comment on each kind says which real race its granularity preserves.

import { rowOf } from './actors/index.ts';
import type { HostileAction } from './hostile/plan.ts';

export type Side = 'blkfront' | 'blkback';
/** xenstore connections by role: the guest's domid changes across a migration, its role does not. */
export type Connection = 'frontend' | 'backend';

export type Action =
  // A vCPU hands one request to blk-mq (bio submission); dispatch to the driver is separate.
  | { readonly actor: 'guest'; readonly kind: 'submit'; readonly vcpu: number }
  // The guest's resume after a save/restore or migration (xenbus resume, blkfront_resume).
  | { readonly actor: 'guest'; readonly kind: 'resume' }
  // The guest shuts the device down (frontend-initiated close).
  | { readonly actor: 'guest'; readonly kind: 'close' }
  // The guest unbinds blkfront (sysfs unbind, rmmod): xenbus_dev_remove, then Closed by xenbus.
  | { readonly actor: 'guest'; readonly kind: 'unbind' }
  // The guest kernel's deferred timer (gnttab_handle_deferred): one retry pass over the grants
  // gnttab_end_foreign_access could not end; the grantee may unmap before or after it.
  | { readonly actor: 'guest'; readonly kind: 'handleDeferred' }
  // The guest kexecs into a new kernel whose xenbus_reset_frontend writes the first reset state.
  | { readonly actor: 'guest'; readonly kind: 'kexec' }
  // xenbus_reset_wait_for_backend woke on the backend's state: the reset's next write, or its end.
  | { readonly actor: 'guest'; readonly kind: 'continueReset' }
  // blkfront probe: the driver binds and watches the backend's state.
  | { readonly actor: 'blkfront'; readonly kind: 'probe' }
  // blk-mq dispatches the head of a hardware queue to blkif_queue_rq (build, publish, notify).
  | { readonly actor: 'blkfront'; readonly kind: 'queueRequest'; readonly ring: number }
  // blkif_interrupt up to the rsp_prod it read; the backend may push more meanwhile.
  | { readonly actor: 'blkfront'; readonly kind: 'processResponses'; readonly ring: number }
  // RING_FINAL_CHECK_FOR_RESPONSES: races with the backend's push-and-check.
  | { readonly actor: 'blkfront'; readonly kind: 'finalCheck'; readonly ring: number }
  // The end-access half of a blkif_completion that queried each grant first: the backend may map
  // between the query and the end (XSA-396's window; only a query-first completion opens it).
  | { readonly actor: 'blkfront'; readonly kind: 'endForeignAccess'; readonly ring: number }
  // blkfront_delay_work's purge_persistent_grants, every 10 s with persistent grants: it takes each
  // ring's lock, so it sits between the ring's handler runs; the backend may purge before or after.
  | { readonly actor: 'blkfront'; readonly kind: 'purgePersistent' }
  // The commit of blkfront's xenstore transaction: other writers may conflict until then.
  | { readonly actor: 'blkfront'; readonly kind: 'commitTransaction' }
  | { readonly actor: 'blkback'; readonly kind: 'probe' }
  // xen_blkbk_probe fails (out of memory): xenbus_dev_fatal writes Closing over Initialising.
  | { readonly actor: 'blkback'; readonly kind: 'probeFails' }
  // One RING_COPY_REQUEST: the frontend may publish between two of them.
  | { readonly actor: 'blkback'; readonly kind: 'consumeRequest'; readonly ring: number }
  // drain_io finished: the held WRITE_BARRIER goes to the disk.
  | { readonly actor: 'blkback'; readonly kind: 'submitBarrier'; readonly ring: number }
  // One disk completion (any order): unmap, respond, push, notify.
  | {
      readonly actor: 'blkback';
      readonly kind: 'completeIo';
      readonly ring: number;
      readonly slot: number;
      readonly id: number;
    }
  // RING_FINAL_CHECK_FOR_REQUESTS before the ring thread sleeps: races with the frontend's push.
  | { readonly actor: 'blkback'; readonly kind: 'finalCheck'; readonly ring: number }
  // purge_persistent_gnt when the ring thread's wait times out (LRU_INTERVAL): it runs between
  // the thread's passes, so no map races it, while the disk's completions (puts) may.
  | { readonly actor: 'blkback'; readonly kind: 'purgePersistent'; readonly ring: number }
  | { readonly actor: 'blkback'; readonly kind: 'commitTransaction' }
  // A pending event reaches its handler; sends before delivery coalesce.
  | {
      readonly actor: 'hypervisor';
      readonly kind: 'deliverEvent';
      readonly side: Side;
      readonly ring: number;
    }
  // The receiving kernel's lateeoi worker: a late EOI it delayed after spurious events unmasks.
  | {
      readonly actor: 'hypervisor';
      readonly kind: 'lateEoiExpired';
      readonly side: Side;
      readonly ring: number;
    }
  // The next queued watch event of one connection reaches its xenbus watch thread.
  | { readonly actor: 'xenstored'; readonly kind: 'fireWatch'; readonly connection: Connection }
  // blkback's otherend watch takes the next event and drops its queued repeats (Linux's
  // frontend_will_handle refuses an event while one is pending): one callback for several writes.
  | { readonly actor: 'xenstored'; readonly kind: 'coalesceWatch'; readonly connection: 'backend' }
  // Another writer touches a node an open transaction depends on: its commit will see EAGAIN.
  | { readonly actor: 'xenstored'; readonly kind: 'conflict'; readonly connection: Connection }
  // The hotplug script writes physical-device once the backend is in InitWait.
  | { readonly actor: 'toolstack'; readonly kind: 'hotplug' }
  // The hotplug script names a device blkback cannot open (backend_changed: xen_vbd_create fails).
  | { readonly actor: 'toolstack'; readonly kind: 'hotplugFails' }
  // libxl's wait for the backend's Closed timed out: the forced remove (frontend directory too).
  | { readonly actor: 'toolstack'; readonly kind: 'forceRemove' }
  | { readonly actor: 'toolstack'; readonly kind: 'suspend' }
  // Save on this host, restore on the next host of the fault plan (new domid, new directories).
  | { readonly actor: 'toolstack'; readonly kind: 'migrate' }
  // xl block-detach: online=0 and state=Closing in one transaction.
  | { readonly actor: 'toolstack'; readonly kind: 'unplug' }
  // After the backend reached Closed: hotplug remove, both directories deleted.
  | { readonly actor: 'toolstack'; readonly kind: 'removeDevice' }
  // The backend's blkback comes back as a new instance (fresh directory) under a connected frontend.
  | { readonly actor: 'toolstack'; readonly kind: 'restartBackend' }
  // xl destroy of the guest: the domain dies, libxl's forced remove closes the backend at once.
  | { readonly actor: 'toolstack'; readonly kind: 'destroy' }
  // dom0 userspace (a xenstore-write from a dom0 shell) overwrites a driver's key: the next of the plan.
  | { readonly actor: 'toolstack'; readonly kind: 'dom0Write' }
  // An adversarial peer's write into a shared page or its xenstore nodes (impl/world/hostile/).
  | HostileAction;

export type ActionKind = Action['kind'];

/** One line for reports and renderers, from the kind's row of the table (actors/). */
export function describeAction(a: Action): string {
  return rowOf(a).describe(a);
}

/** A stable key for coverage counts: actor and kind, no targets. */
export function actionKey(a: Action): string {
  return `${a.actor}.${a.kind}`;
}

export function sameAction(a: Action, b: Action): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
