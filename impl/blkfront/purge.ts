// purge_persistent_grants (drivers/block/xen-blkfront.c), run by blkfront_delay_work, which
// blkfront_gather_backend_features schedules every 10 s once feature_persistent is negotiated.
// It pairs with the backend's idle purge (purge_persistent_gnt): on every ring, each entry of
// rinfo->grants with a valid reference that the backend no longer maps is ended
// (gnttab_try_end_foreign_access succeeds) and goes to the tail with INVALID_GRANT_REF, and
// persistent_gnts_c drops. Entries held by requests in flight are not on the list, so nothing
// in use is touched; an entry the backend still maps stays persistent.
import { assert, maybe } from '../assert.ts';
import type { BlkfrontDevice, FrontEnv } from './device.ts';
import { returnGrantSlot } from './grants.ts';
import { type GrantSlot, INVALID_GRANT_REF, type RingInfo } from './ring-info.ts';

/** One run of purge_persistent_grants over the device's rings; returns how many it ended. */
export function purgePersistentGrants(dev: BlkfrontDevice, env: FrontEnv): number {
  assert(dev.features.persistent, 'purge_persistent_grants runs only with persistent grants');
  let ended = 0;
  for (const rinfo of dev.rings) {
    if (rinfo.persistentGntsC === 0) continue;
    ended += purgeRing(rinfo, env);
  }
  maybe(ended > 0);
  return ended;
}

/** One ring under its ring_lock: the kept entries the backend unmapped are ended. */
function purgeRing(rinfo: RingInfo, env: FrontEnv): number {
  const before = rinfo.persistentSlots.length;
  const kept: GrantSlot[] = [];
  const ended: GrantSlot[] = [];
  for (const slot of rinfo.persistentSlots) {
    assert(slot.ref !== INVALID_GRANT_REF, 'ring %s: kept entry without a grant', rinfo.index);
    if (env.gnttab.endAccess(slot.ref).ok) ended.push(slot);
    else kept.push(slot);
  }
  // The list keeps its order; the ended entries follow at the tail, in the order scanned.
  rinfo.persistentSlots.length = 0;
  rinfo.persistentSlots.push(...kept);
  rinfo.persistentGntsC = kept.length;
  for (const slot of ended) {
    slot.ref = INVALID_GRANT_REF;
    returnGrantSlot(rinfo, slot);
  }
  assert(kept.length + ended.length === before, 'ring %s: an entry lost in the purge', rinfo.index);
  assert(rinfo.persistentGntsC === rinfo.persistentSlots.length, 'persistent_gnts_c after purge');
  return ended.length;
}
