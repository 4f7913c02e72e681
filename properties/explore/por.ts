// Partial-order reduction: which actions commute. Two actions are independent at a state when,
// both enabled there, taking them in either order reaches the same state (equal fingerprints)
// with the same actions enabled, and neither disables the other. The relation is stated in
// protocol terms, as what each action touches at that state (its footprint); two actions whose
// footprints are disjoint are independent. A footprint may depend on the state: a watch firing
// whose callback takes no branch (the driver already acted on the state it reads) touches only
// its connection's watch queue, while one that moves a driver's machine touches everything.
// por.test.ts checks the claim from reached states of several configurations, and that wrong
// claims (the rings' shared grant free list forgotten, every watch firing called harmless) are
// caught.
import { FE } from '../../model/xenstore-keys.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../model/xenstore-paths.ts';
import { BE } from '../../model/xenstore-keys.ts';
import type { Action, Connection } from '../../impl/world/action.ts';
import { backendMemo, frontendMemo } from '../../impl/world/machine-memo.ts';
import type { World } from '../../impl/world/world.ts';
import { readState } from '../../impl/world/xenbus.ts';

/** An action's identity across forks: its actor, kind and targets (what a sleep set holds). */
export function actionId(action: Action): string {
  return JSON.stringify(action);
}

/**
 * actionId, remembered per action object for one search: actions are immutable, and the
 * world's action cache hands the same objects to every fork, so most ids are made once.
 */
export class ActionIds {
  private readonly ids = new WeakMap<Action, string>();

  of(action: Action): string {
    let id = this.ids.get(action);
    if (id === undefined) {
      id = actionId(action);
      this.ids.set(action, id);
    }
    return id;
  }
}

/** Touches everything: never independent of anything. */
export const ALL = '*';

/** What an action touches at a state: named parts (see footprintOf), or [ALL]. */
export type Footprint = readonly string[];

/** A machine holder: the snapshot and the dev->state xenbus_switch_state compares with. */
interface Holder {
  readonly snapshot: { readonly value: unknown; readonly context: unknown };
}

/**
 * Effects the world answers without touching its state: blkfront_connect's BLKIF_STATE_CONNECTED
 * case (a capacity change, set_capacity: the model's disk never resizes).
 */
const NO_OP_EFFECTS: ReadonlySet<string> = new Set(['capacityChanged']);

type Memo = {
  transition(snapshot: never, event: never): readonly [unknown, readonly unknown[]];
};

/**
 * The callback takes no branch: the machine's pure transition for the event returns the same
 * state and no effect (Linux: frontend_changed's "already connected" break, blkback_changed for
 * a state it has handled). settle still refreshes dev->state (`devstate:<side>`), which only
 * the toolstack's and the guest's control-plane actions read, and those are [ALL].
 */
function machineStays(memo: Memo, holder: Holder, event: object): boolean {
  const [next, actions] = memo.transition(holder.snapshot as never, event as never);
  if (actions.some((a) => !NO_OP_EFFECTS.has((a as { type: string }).type))) return false;
  if (next === holder.snapshot) return true;
  const s = next as Holder['snapshot'];
  return (
    JSON.stringify([s.value, s.context]) ===
    JSON.stringify([holder.snapshot.value, holder.snapshot.context])
  );
}

/**
 * A watch firing (xenwatch runs one queued event's callback, xenbus_xs.c xenwatch_thread): only
 * its connection's queue when the callback ignores the event or takes no branch; else everything
 * (the callback writes xenstore, moves a machine, maps or frees rings).
 */
function watchFootprint(world: World, connection: Connection): Footprint {
  const queue = [`watch:${connection}`, `devstate:${connection}`];
  const guest = world.guestDomid;
  if (connection === 'frontend') {
    const event = world.xs.peekWatchEvent(guest);
    if (event === undefined) return [ALL];
    if (event.path !== `${backendPath(guest)}/${BE.state}`) return queue;
    if (!world.front.snapshot.context.bound) return queue;
    const state = readState(world.xs, guest, backendPath(guest));
    const changed = { type: 'otherEnd.stateChanged', state };
    return machineStays(frontendMemo as Memo, world.front, changed) ? queue : [ALL];
  }
  const event = world.xs.peekWatchEvent(BACKEND_DOMID);
  if (event === undefined) return [ALL];
  if (world.host.back.removed) return queue;
  const back = world.host.back;
  if (event.path === `${frontendPath(guest)}/${FE.state}`) {
    const state = readState(world.xs, BACKEND_DOMID, frontendPath(guest));
    const changed = { type: 'otherEnd.stateChanged', state };
    return machineStays(backendMemo as Memo, back, changed) ? queue : [ALL];
  }
  if (event.path === `${backendPath(guest)}/${BE.physicalDevice}`) {
    // backend_changed: a node that no longer reads is ignored; one blkback already opened is
    // no news to a connected backend (xen_vbd_create ran once).
    if (!world.xs.read(BACKEND_DOMID, event.path).ok) return queue;
    const hotplug = world.host.vbdMissing
      ? { type: 'hotplug.vbdCreateFailed', errorNumber: 2 }
      : { type: 'hotplug.physicalDeviceChanged' };
    return machineStays(backendMemo as Memo, back, hotplug) ? queue : [ALL];
  }
  return queue;
}

/**
 * What an action reads or writes at `world`, as named parts (r: a ring index):
 * - `watch:<connection>`: that connection's watch queue, and `devstate:<connection>` its
 *   driver's dev->state (xenbus_switch_state's cache). Every xenstore writer (the control
 *   plane, the toolstack, the adversary, a watch callback that acts) is [ALL], so a callback's
 *   read of a state node needs no part of its own;
 * - `evt:<side>:<r>`: the event channel into that side's ring r (pending and mask bits);
 * - `thread:<r>`: blkback's ring thread (running or asleep, the req_event it arms);
 * - `pool:<r>`: blkback's pending requests of ring r (free slots in order, those in flight);
 * - `req-prod:<r>` / `req-cons:<r>`: the request half of ring r's shared page as the producer
 *   (slots at and past req_prod, req_prod, req_event) and as the consumer (req_cons, the copy of
 *   an already published slot) see it — one producer and one consumer, so a push and a copy of
 *   a slot below the pushed index commute; `rsp-prod:<r>`: the response half (rsp_prod,
 *   rsp_event), which blkfront's handler reads up to the index it sees;
 * - `front:<r>`: blkfront's private state of ring r (shadows, dispatch queue, irq, stopped);
 * - `gfree`: the guest's grant free list (gnttab_claim_grant_reference: two rings' submissions
 *   take references in order); `gmem`: the guest's page allocator; `ledger`: the guest edge's
 *   order of submissions and completions; `bmap`: blkback's grant map handles; `disk`.
 */
export function footprintOf(world: World, a: Action): Footprint {
  switch (a.actor) {
    case 'xenstored':
      if (a.kind === 'fireWatch') return watchFootprint(world, a.connection);
      // The coalesced firing drops the head's repeats and runs it: the same queue and callback.
      if (a.kind === 'coalesceWatch') return watchFootprint(world, 'backend');
      return [ALL];
    case 'hypervisor':
      // evtchn_2l's upcall: xen_blkif_be_int wakes ring r's thread; blkif_interrupt marks ring r.
      return a.side === 'blkback'
        ? [`evt:back:${a.ring}`, `thread:${a.ring}`]
        : [`evt:front:${a.ring}`, `front:${a.ring}`];
    case 'guest':
      // blk_mq_submit_bio: a buffer allocated, the request counted at the guest edge and appended
      // to a dispatch queue whose head only blkif_queue_rq takes (it is enabled: non-empty).
      return a.kind === 'submit' ? ['ledger', 'gmem'] : [ALL];
    case 'blkback':
      return backFootprint(world, a);
    case 'blkfront':
      return frontFootprint(world, a);
    default:
      // The toolstack's faults and the adversary write xenstore, pages and the machines.
      return [ALL];
  }
}

function backFootprint(world: World, a: Extract<Action, { actor: 'blkback' }>): Footprint {
  if (a.kind === 'probe' || a.kind === 'probeFails' || a.kind === 'commitTransaction') return [ALL];
  const r = a.ring;
  const response = [`rsp-prod:${r}`, `evt:front:${r}`];
  switch (a.kind) {
    case 'consumeRequest':
      // __do_block_io_op: one copy, its grants mapped, or at once a response (a bad request).
      // It runs only while the thread runs, and never puts it to sleep: no `thread` part.
      return [`req-cons:${r}`, `pool:${r}`, 'bmap', ...response];
    case 'completeIo':
      // __end_block_io_op: the disk, the unmap, make_response's push and notify. The last
      // completion of a disconnecting backend releases the rings and moves its machine.
      if (world.host.back.drainOwed) return [ALL];
      return [`pool:${r}`, 'bmap', 'disk', ...response];
    case 'finalCheck': {
      // RING_FINAL_CHECK_FOR_REQUESTS; with no free pending slot, a completion would let the
      // thread consume instead (it is enabled only while nothing can be consumed).
      const ring = world.host.back.rings.find((x) => x.index === r);
      const starved = ring === undefined || ring.pendingFree.length === 0;
      return [`thread:${r}`, `req-prod:${r}`, ...(starved ? [`pool:${r}`] : [])];
    }
    case 'submitBarrier':
      return [`thread:${r}`, `pool:${r}`, `req-cons:${r}`, 'bmap', 'disk', ...response];
    default:
      return [ALL];
  }
}

function frontFootprint(world: World, a: Extract<Action, { actor: 'blkfront' }>): Footprint {
  if (a.kind === 'probe' || a.kind === 'commitTransaction' || a.kind === 'purgePersistent')
    return [ALL];
  const r = a.ring;
  const dev = world.front.device;
  switch (a.kind) {
    case 'queueRequest': {
      // blkif_queue_rq: grant references from the shared free list, the request published,
      // the backend notified. Persistent or indirect grants take pages from the allocator; a
      // flush or discard the backend cannot do completes at once at the guest edge.
      const parts = [`front:${r}`, `req-prod:${r}`, `evt:back:${r}`, 'gfree'];
      if (dev.features.persistent || dev.features.indirectSegments > 0) parts.push('gmem');
      const head = dev.rings[r]?.dispatch[0];
      if (head === undefined || head.op === 'flush' || head.op === 'discard')
        parts.push('ledger', 'gmem');
      return parts;
    }
    case 'processResponses':
      // blkif_interrupt: responses up to the rsp_prod it reads, grants ended and freed, buffers
      // completed at the guest edge, the late EOI, a stopped queue restarted.
      return [`front:${r}`, `rsp-prod:${r}`, `evt:front:${r}`, 'gfree', 'gmem', 'ledger'];
    case 'finalCheck':
      return [`front:${r}`, `rsp-prod:${r}`, `evt:front:${r}`];
    default:
      return [ALL];
  }
}

/** Disjoint footprints, neither touching everything. */
export function disjoint(fx: Footprint, fy: Footprint): boolean {
  if (fx.includes(ALL) || fy.includes(ALL)) return false;
  return !fx.some((part) => fy.includes(part));
}

/** Footprints at one state by action id (undefined: the action is not enabled there). */
export interface Footprints {
  get(id: string): Footprint | undefined;
}

/**
 * Footprints computed when first asked for: a search asks only for the actions it takes and
 * those asleep, and most states take one action with nothing asleep. The world must not change
 * while it is in use (the search asks before it steps the state in place).
 */
class LazyFootprints implements Footprints {
  private readonly done = new Map<string, Footprint>();

  constructor(
    private readonly world: World,
    private readonly actions: ReadonlyMap<string, Action>,
    private readonly footprint: (world: World, a: Action) => Footprint,
  ) {}

  get(id: string): Footprint | undefined {
    let print = this.done.get(id);
    if (print === undefined) {
      const action = this.actions.get(id);
      if (action === undefined) return undefined;
      print = this.footprint(this.world, action);
      this.done.set(id, print);
    }
    return print;
  }
}

/** The relation at one state: the footprints of the actions enabled there, by action id. */
export class Independence {
  private readonly ids = new ActionIds();
  constructor(private readonly footprint: (world: World, a: Action) => Footprint = footprintOf) {}

  /** Footprints of `actions` (enabled at `world`), computed once per expansion. */
  at(world: World, actions: readonly Action[]): ReadonlyMap<string, Footprint> {
    const out = new Map<string, Footprint>();
    for (const action of actions) out.set(this.ids.of(action), this.footprint(world, action));
    return out;
  }

  /** The same footprints, each computed when first asked for (`world` unchanged meanwhile). */
  lazyAt(world: World, actions: readonly Action[]): Footprints {
    const byId = new Map<string, Action>();
    for (const action of actions) byId.set(this.ids.of(action), action);
    return new LazyFootprints(world, byId, this.footprint);
  }

  /** Independent at the state `prints` was taken at; an action not enabled there is not. */
  static independent(prints: Footprints, x: string, y: string): boolean {
    if (x === y) return false;
    // `y` first, and no footprint of `x` when `y` touches everything: the search asks about
    // one action against each of its sleep set, and footprints are computed when first asked.
    const fy = prints.get(y);
    if (fy === undefined || fy.includes(ALL)) return false;
    const fx = prints.get(x);
    return fx !== undefined && disjoint(fx, fy);
  }
}
