// A guest kexec into a new kernel, and that kernel's xenbus_reset_state
// (drivers/xen/xenbus/xenbus_probe_frontend.c): an HVM kernel that finds a frontend in Connected
// or Closed, left by the kernel before it, writes the frontend's state itself — Closing, Closed,
// Initialising, as far as the backend's state asks (xenbus_reset_frontend's fall-through switch)
// — and waits after each write for the backend to follow (xenbus_reset_wait_for_backend) before
// the new blkfront probes. The new session runs in the same directory, over the old keys.
//
// Granularity: the kexec is one action (the old kernel is gone, the new one has written its first
// reset state); each later reset write is one action, taken once the backend's state node reads
// what the previous write waits for — the reset's watch firing and its waiter waking, in one step.
// The wait's 5 s timeout is not modelled: a reset that runs ahead of the backend leaves blkback
// Connected under an Initialising frontend, which no later step repairs.
import { XenbusState } from '../../model/xenbus-state.ts';
import { FE } from '../../model/xenstore-keys.ts';
import { backendPath, frontendPath } from '../../model/xenstore-paths.ts';
import { assert } from '../assert.ts';
import { freshDevice, freshFrontendSnapshot } from './init.ts';
import type { World } from './world.ts';
import { readState } from './xenbus.ts';

const S = XenbusState;

/**
 * What xenbus_reset_frontend writes for a backend in `backendState`, and what it then waits for:
 * Connected → Closing (wait Closing), Closing → Closed (wait Closed), Closed → Initialising (wait
 * InitWait); any other backend state gets no reset.
 */
export function resetWrite(backendState: number): { write: number; awaits: number } | undefined {
  assert(Number.isInteger(backendState), 'a backend state is a number, not %s', backendState);
  switch (backendState) {
    case S.Connected:
      return { write: S.Closing, awaits: S.Closing };
    case S.Closing:
      return { write: S.Closed, awaits: S.Closed };
    case S.Closed:
      return { write: S.Initialising, awaits: S.InitWait };
    default:
      return undefined;
  }
}

/** The backend's state as the guest reads it. */
export function backendStateOf(world: World): number {
  const state = readState(world.xs, world.guestDomid, backendPath(world.guestDomid));
  assert(Number.isInteger(state), 'xenbus_read_driver_state gives a number');
  return state;
}

/**
 * The new kernel boots: its blkfront is a new instance (no rings, no disk, not probed), and
 * xenbus_check_frontend, finding the old frontend Closed, starts the reset. The old kernel's
 * driver was unbound first (its grants ended or deferred, nothing in flight): what it left in
 * the grant table stays out of the new kernel's use, harmless once the backend unmapped it.
 */
export function kexec(world: World): void {
  const front = world.front;
  assert(!front.snapshot.context.bound && front.probed, 'kexec after blkfront was unbound');
  assert(front.device.rings.length === 0, 'the unbound blkfront freed its rings');
  world.kexecs += 1;
  front.snapshot = freshFrontendSnapshot(world.config, world.guestDomid);
  front.device = freshDevice();
  front.cachedState = S.Initialising;
  front.hasDisk = false;
  front.diskDead = false;
  front.probed = false;
  front.tx = undefined;
  const first = resetWrite(backendStateOf(world));
  assert(first !== undefined, 'kexec while the backend is in a state the reset handles');
  writeResetState(world, first.write);
  front.resetAwaits = first.awaits;
}

/** The backend reached what the reset waits for: its next write, or the end of the reset. */
export function continueReset(world: World): void {
  const awaited = world.front.resetAwaits;
  assert(awaited !== undefined, 'a reset under way');
  assert(backendStateOf(world) === awaited, 'the backend reads %s, the reset waits for', awaited);
  // After InitWait the reset is done: unregister_xenbus_watch, then the new blkfront probes.
  // A directory the toolstack removed meanwhile (a detach) takes no more writes: xenbus_printf
  // fails, the reset's later waits time out, and no blkfront will probe the gone device.
  const gone = readState(world.xs, world.guestDomid, frontendPath(world.guestDomid)) === S.Unknown;
  const next = awaited === S.InitWait || gone ? undefined : resetWrite(awaited);
  if (next !== undefined) writeResetState(world, next.write);
  world.front.resetAwaits = next?.awaits;
}

/** xenbus_printf(XBT_NIL, fe, "state", ...): written by the xenbus core, no driver bound. */
function writeResetState(world: World, state: number): void {
  const path = `${frontendPath(world.guestDomid)}/${FE.state}`;
  const before = readState(world.xs, world.guestDomid, frontendPath(world.guestDomid));
  assert(before !== S.Unknown, 'xenbus_reset_frontend writes into a gone directory');
  const written = world.xs.write(world.guestDomid, path, String(state));
  assert(written.ok, 'the guest writes its own frontend state');
  world.observe?.({ kind: 'state', side: 'frontend', state });
  // xenbus_printf writes even an unchanged value (its watches fire); only a change is an edge.
  if (before === state) return;
  world.stateWrites.push({
    side: 'frontend',
    writer: 'xenbus',
    from: before,
    to: state,
    step: world.stepCount,
  });
}
