// xenstored's actions: a queued watch event reaches its connection's xenbus watch thread, and
// another writer's change conflicts with an open transaction (its commit then sees EAGAIN).
import { BE, FE } from '../../../model/xenstore-keys.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from '../../../model/xenstore-paths.ts';
import { assert } from '../../assert.ts';
import type { Action } from '../action.ts';
import type { ActionOf, ActorModule } from '../kinds.ts';
import { guestRuns, type World } from '../world.ts';
import { fireWatch } from '../xenbus.ts';
import { frontendWatchPending } from './blkfront.ts';
import { backendWatchPending } from './blkback.ts';

const FIRE_FRONT: Action = { actor: 'xenstored', kind: 'fireWatch', connection: 'frontend' };
const FIRE_BACK: Action = { actor: 'xenstored', kind: 'fireWatch', connection: 'backend' };
const COALESCE_BACK: Action = { actor: 'xenstored', kind: 'coalesceWatch', connection: 'backend' };
const CONFLICT_FRONT: Action = { actor: 'xenstored', kind: 'conflict', connection: 'frontend' };
const CONFLICT_BACK: Action = { actor: 'xenstored', kind: 'conflict', connection: 'backend' };

/**
 * Another writer touches a node the open transaction read: the toolstack pre-writes protocol
 * for PV guests (the frontend's), a resize rewrites sectors (the backend's).
 */
function conflict(world: World, action: ActionOf<'xenstored', 'conflict'>): void {
  assert(world.conflictsLeft > 0, 'a conflict of the fault plan is left');
  // A conflict hits an open transaction: its commit is what sees EAGAIN.
  const tx = action.connection === 'frontend' ? world.front.tx : world.host.back.tx;
  assert(tx !== undefined, 'a conflict with no open %s transaction', action.connection);
  world.conflictsLeft -= 1;
  assert(world.conflictsLeft >= 0, 'conflicts past the plan: %s left', world.conflictsLeft);
  const guest = world.guestDomid;
  if (action.connection === 'frontend')
    world.xs.write(BACKEND_DOMID, `${frontendPath(guest)}/${FE.protocol}`, world.config.abi);
  else
    world.xs.write(
      BACKEND_DOMID,
      `${backendPath(guest)}/${BE.sectors}`,
      String(world.disk.sectorCount),
    );
}

/** The head event fires once; its queued repeats were never queued in Linux. */
function coalesceWatch(world: World): void {
  const dropped = world.xs.dropRepeatsOfHead(BACKEND_DOMID);
  assert(dropped > 0, 'a coalesced watch drops at least one repeat');
  fireWatch(world, 'backend');
}

export const XENSTORED: ActorModule<'xenstored'> = {
  actor: 'xenstored',
  kinds: {
    fireWatch: {
      perform: (world, a) => fireWatch(world, a.connection),
      describe: (a) => `xenstored fires the next watch of the ${a.connection} connection`,
      faultStart: false,
    },
    // Real: xenbus_probe_backend.c frontend_will_handle (nr_pending == 0) discards the otherend
    // watch's events while one is queued, so frontend_changed reads only the latest state.
    coalesceWatch: {
      perform: coalesceWatch,
      describe: () => 'xenstored fires the backend watch once for its queued repeats (coalesced)',
      faultStart: false,
    },
    conflict: {
      perform: conflict,
      describe: (a) =>
        `xenstored: a concurrent write conflicts with the ${a.connection}'s transaction`,
      faultStart: true,
    },
  },
};

export function fireFrontendEnabled(world: World, out: Action[]): void {
  if (frontendWatchPending(world)) out.push(FIRE_FRONT);
}

export function fireBackendEnabled(world: World, out: Action[]): void {
  if (backendWatchPending(world)) out.push(FIRE_BACK);
}

/** Only the otherend watch of blkback coalesces (the physical-device watch has no will_handle). */
export function coalesceBackendEnabled(world: World, out: Action[]): void {
  if (!backendWatchPending(world)) return;
  const head = world.xs.peekWatchEvent(BACKEND_DOMID);
  if (head?.token !== 'otherend') return;
  if (world.xs.queuedRepeatsOfHead(BACKEND_DOMID) > 0) out.push(COALESCE_BACK);
}

/** A conflict of the plan may hit either side's open transaction. */
export function conflictEnabled(world: World, out: Action[]): void {
  if (world.conflictsLeft <= 0) return;
  if (world.front.tx !== undefined && guestRuns(world)) out.push(CONFLICT_FRONT);
  if (world.host.back.tx !== undefined) out.push(CONFLICT_BACK);
}
