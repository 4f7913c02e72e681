// Liveness over teardown: once either end is Closed, unbound or has lost its directory, the fair
// drain takes the other end to Closed or removal too; no device is left half-connected. A real
// driver could tell: the peer's state node reads Closed (or vanished) while its own is not.
import { XenbusState, xenbusStateName } from '../../model/xenbus-state.ts';
import {
  BACKEND_DOMID,
  backendErrorPath,
  backendPath,
  frontendPath,
} from '../../model/xenstore-paths.ts';
import { FE } from '../../model/xenstore-keys.ts';
import type { World } from '../../impl/world/world.ts';
import { stateless } from './invariant.ts';
import { honestRun } from './runs.ts';
import type { Violation } from './violation.ts';

interface End {
  readonly side: 'frontend' | 'backend';
  /** The state node's value; undefined once the directory is gone. */
  readonly state: number | undefined;
  /** The driver let go of the device (unregistered or removed). */
  readonly unbound: boolean;
}

function endOf(world: World, side: End['side']): End {
  const dir = side === 'frontend' ? frontendPath(world.guestDomid) : backendPath(world.guestDomid);
  const read = world.xs.read(BACKEND_DOMID, `${dir}/${FE.state}`);
  const state = read.ok ? Number.parseInt(read.value, 10) : undefined;
  const unbound =
    side === 'frontend'
      ? world.front.probed && !world.front.snapshot.context.bound
      : world.host.back.removed || world.host.probeFailed;
  return { side, state, unbound };
}

function done(end: End): boolean {
  return end.state === undefined || end.state === XenbusState.Closed || end.unbound;
}

/**
 * blkback after xenbus_dev_fatal (its error node written, state Closing) waits for the toolstack:
 * a repeated physical-device watch re-runs backend_changed's failing xen_vbd_create, so Linux
 * can sit in Closing over a Closed frontend until libxl detaches it.
 */
function failedBackend(world: World, end: End): boolean {
  if (end.side !== 'backend' || end.state !== XenbusState.Closing) return false;
  return world.xs.read(BACKEND_DOMID, backendErrorPath(world.guestDomid)).ok;
}

function describe(end: End): string {
  if (end.state === undefined) return 'its directory is gone';
  return `it reads ${end.state} (${xenbusStateName(end.state) ?? 'invalid'})`;
}

export const teardownLiveness = stateless({
  code: 'teardown-liveness',
  phase: 'quiescence',
  when: honestRun,
  summary: 'once one end is Closed or gone, the fair drain takes the other to Closed or removal',
  check(world) {
    const life = world.lifecycle.kind;
    if (life === 'suspended' || life === 'migrated') return [];
    const front = endOf(world, 'frontend');
    const back = endOf(world, 'backend');
    const out: Violation[] = [];
    for (const [gone, left] of [
      [front, back],
      [back, front],
    ] as const) {
      if (!done(gone) || done(left) || failedBackend(world, left)) continue;
      out.push({
        code: 'teardown-liveness',
        step: world.stepCount,
        key: `${left.side}/state`,
        message: `the ${gone.side} is closed (${describe(gone)}${gone.unbound ? ', unbound' : ''}) but after the fair drain the ${left.side} is left half-connected: ${describe(left)}`,
      });
      break;
    }
    return out;
  },
});
