// enabled(world): every action possible now, in a canonical order where choice 0 is the most
// ordinary next step, so shrinking choices towards 0 shrinks towards ordinary schedules. The
// order is this list: control-plane progress, event delivery, the backend's ring work, the
// frontend's, submissions, the continuation of a started fault, then new faults and attacks.
import type { Action } from './action.ts';
import * as blkback from './actors/blkback.ts';
import * as blkfront from './actors/blkfront.ts';
import * as guest from './actors/guest.ts';
import { attacksEnabled } from './actors/hostile.ts';
import { deliverEnabled } from './actors/hypervisor.ts';
import * as toolstack from './actors/toolstack.ts';
import * as xenstored from './actors/xenstored.ts';
import { rowOf } from './actors/index.ts';
import type { World } from './world.ts';

/**
 * The canonical order, one call per kind (or kind and target), each appending its actions.
 * Written out as calls rather than a loop over a list of functions: every call site then sees one
 * function, which the JIT can inline; a loop's one call site sees all 26 (the hot path).
 */
export function enabled(world: World): Action[] {
  const out: Action[] = [];
  // Control-plane progress: watch callbacks, commits, probes, the hotplug script.
  xenstored.fireFrontendEnabled(world, out);
  xenstored.fireBackendEnabled(world, out);
  xenstored.coalesceBackendEnabled(world, out);
  blkfront.commitEnabled(world, out);
  blkback.commitEnabled(world, out);
  blkback.probeEnabled(world, out);
  blkfront.probeEnabled(world, out);
  toolstack.hotplugEnabled(world, out);
  // Event delivery, then the data planes: backend ring work and completions, frontend handlers.
  deliverEnabled(world, out);
  blkback.ringWorkEnabled(world, out);
  blkfront.ringWorkEnabled(world, out);
  guest.submitEnabled(world, out);
  guest.handleDeferredEnabled(world, out);
  // The continuation of a started fault.
  toolstack.migrateEnabled(world, out);
  guest.resumeEnabled(world, out);
  guest.continueResetEnabled(world, out);
  toolstack.removeDeviceEnabled(world, out);
  // New faults, only when the scheduler picks them.
  xenstored.conflictEnabled(world, out);
  toolstack.suspendEnabled(world, out);
  toolstack.unplugEnabled(world, out);
  toolstack.forceRemoveEnabled(world, out);
  toolstack.hotplugFailsEnabled(world, out);
  blkback.probeFailsEnabled(world, out);
  guest.closeEnabled(world, out);
  guest.unbindEnabled(world, out);
  guest.kexecEnabled(world, out);
  toolstack.restartBackendEnabled(world, out);
  toolstack.destroyEnabled(world, out);
  toolstack.dom0WriteEnabled(world, out);
  // Timers: the backend's LRU purge and blkfront's delayed purge, when time passes.
  blkback.purgeEnabled(world, out);
  blkfront.purgeEnabled(world, out);
  attacksEnabled(world, out);
  return out;
}

/** True for the actions a fair drain must not take: the start of a new fault. */
export function isFaultStart(action: Action): boolean {
  return rowOf(action).faultStart;
}
