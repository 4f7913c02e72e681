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

type Enabler = (world: World, out: Action[]) => void;

/** The canonical order. Each entry appends the actions of one kind (or one kind and target). */
export const ENABLED_ORDER: readonly Enabler[] = [
  // Control-plane progress: watch callbacks, commits, probes, the hotplug script.
  xenstored.fireFrontendEnabled,
  xenstored.fireBackendEnabled,
  xenstored.coalesceBackendEnabled,
  blkfront.commitEnabled,
  blkback.commitEnabled,
  blkback.probeEnabled,
  blkfront.probeEnabled,
  toolstack.hotplugEnabled,
  // Event delivery, then the data planes: backend ring work and completions, frontend handlers.
  deliverEnabled,
  blkback.ringWorkEnabled,
  blkfront.ringWorkEnabled,
  guest.submitEnabled,
  // The continuation of a started fault.
  toolstack.migrateEnabled,
  guest.resumeEnabled,
  toolstack.removeDeviceEnabled,
  // New faults, only when the scheduler picks them.
  xenstored.conflictEnabled,
  toolstack.suspendEnabled,
  toolstack.unplugEnabled,
  toolstack.forceRemoveEnabled,
  toolstack.hotplugFailsEnabled,
  guest.closeEnabled,
  toolstack.restartBackendEnabled,
  toolstack.destroyEnabled,
  toolstack.dom0WriteEnabled,
  attacksEnabled,
];

export function enabled(world: World): Action[] {
  const out: Action[] = [];
  for (const append of ENABLED_ORDER) append(world, out);
  return out;
}

/** True for the actions a fair drain must not take: the start of a new fault. */
export function isFaultStart(action: Action): boolean {
  return rowOf(action).faultStart;
}
