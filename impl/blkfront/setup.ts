// setup_blkring (ring pages, their grants, the event channel), the per-ring grant buffers of
// blkfront_setup_indirect/fill_grant_buffer, and blkif_free_ring. Ring pages and the event
// channel exist before any xenstore key is written, outside any transaction, as in talk_to_blkback.
import { XENBUS_MAX_RING_GRANT_ORDER } from '../../model/negotiate.ts';
import { assert } from '../assert.ts';
import { frontRingInit, sharedRingAttach, sharedRingInit } from '../xen/shared-ring.ts';
import { grantSlotCountFor } from './grants.ts';
import type { BlkfrontDevice, FrontEnv } from './device.ts';
import {
  createShadows,
  freeGrantSlotCount,
  type GrantSlot,
  INVALID_GRANT_REF,
  type RingInfo,
} from './ring-info.ts';
import { segmentLimit } from './device.ts';

export type SetupResult =
  | { ok: true; ring: RingInfo }
  | { ok: false; message: string; errorNumber: number };
const ENOMEM = 12;
const ENOSPC = 28;

export function setupRing(index: number, ringPageOrder: number, env: FrontEnv): SetupResult {
  assert(
    Number.isInteger(ringPageOrder) && ringPageOrder >= 0,
    'ring page order %s',
    ringPageOrder,
  );
  assert(
    ringPageOrder <= XENBUS_MAX_RING_GRANT_ORDER,
    'ring page order %s beyond XENBUS_MAX_RING_GRANT_ORDER',
    ringPageOrder,
  );
  const pageCount = 1 << ringPageOrder;
  const ringFrame = env.memory.allocPages(pageCount);
  const view = env.memory.view(ringFrame, pageCount);
  assert(view !== undefined, 'ring pages are one allocation');
  const sring = sharedRingAttach(view, env.abi.entrySize);
  sharedRingInit(sring);
  const ringRefs: number[] = [];
  for (let p = 0; p < pageCount; p++) {
    const granted = env.gnttab.grantAccess(env.backendDomid, ringFrame + p, false);
    if (!granted.ok)
      return {
        ok: false,
        message: `granting ring page ${p} of ring ${index}: ${granted.error}`,
        errorNumber: ENOMEM,
      };
    ringRefs.push(granted.value);
  }
  assert(ringRefs.length === pageCount, 'ring %s: one grant per ring page', index);
  // xenbus_alloc_evtchn: -ENOSPC at the domain's max_event_channels; setup_blkring's error path
  // ends this ring's grants (xenbus_teardown_ring), the caller frees the rings set up before.
  if (
    env.eventChannelsMax !== undefined &&
    !env.evtchn.hasFreePortBelow(env.domid, env.eventChannelsMax)
  ) {
    for (const ref of ringRefs) assert(env.gnttab.endAccess(ref).ok, 'an unmapped ring grant ends');
    return { ok: false, message: `allocating event channel of ring ${index}`, errorNumber: ENOSPC };
  }
  const port = env.evtchn.allocUnbound(env.domid, env.backendDomid);
  const front = frontRingInit(sring);
  return {
    ok: true,
    ring: {
      index,
      front,
      ringFrame,
      ringPageCount: pageCount,
      ringRefs,
      port,
      shadow: createShadows(front.size),
      shadowFree: 0,
      inflightCount: 0,
      persistentSlots: [],
      unusedSlots: [],
      freshSlots: 0,
      persistentGntsC: 0,
      grantSlotCount: 0,
      indirectPages: [],
      dispatch: [],
      stopped: false,
      irq: 'idle',
      held: undefined,
      revoking: undefined,
      rspBatchEnd: front.rspCons,
      eoiSpurious: true,
    },
  };
}

/**
 * blkfront_setup_indirect at connect/recover: (G + ceil(G/512)) x ring-size grant entries, all
 * unused (invalid reference); entries and their pages come into being on first use.
 */
export function fillGrantBuffers(dev: BlkfrontDevice, rinfo: RingInfo): void {
  assert(
    rinfo.inflightCount === 0,
    'ring %s: grant buffers filled with requests in flight',
    rinfo.index,
  );
  const count = grantSlotCountFor(segmentLimit(dev.features), rinfo.front.size);
  rinfo.persistentSlots.length = 0;
  rinfo.unusedSlots.length = 0;
  rinfo.persistentGntsC = 0;
  rinfo.freshSlots = count;
  (rinfo as { grantSlotCount: number }).grantSlotCount = count;
  assert(freeGrantSlotCount(rinfo) === count, 'ring %s: grant buffers not all free', rinfo.index);
}

/**
 * blkif_free_ring: end every grant this ring holds (list and in-flight shadows), free its pages,
 * end access to the ring pages, close the event channel. A grant the backend still maps cannot be
 * ended; Linux puts it on the deferred list, returned here so the caller can account for it.
 */
export function freeRing(rinfo: RingInfo, env: FrontEnv): number[] {
  const deferred: number[] = [];
  const endSlot = (slot: GrantSlot): void => {
    if (slot.ref !== INVALID_GRANT_REF) {
      if (!env.gnttab.endForeignAccess(slot.ref)) deferred.push(slot.ref);
      slot.ref = INVALID_GRANT_REF;
    }
    if (slot.frame !== undefined) env.memory.freePages(slot.frame, 1);
    slot.frame = undefined;
  };
  rinfo.persistentSlots.forEach(endSlot);
  rinfo.unusedSlots.forEach(endSlot);
  for (const shadow of rinfo.shadow) {
    shadow.grantsUsed.forEach(endSlot);
    shadow.indirectGrants.forEach(endSlot);
  }
  assert(
    rinfo.persistentSlots.every((slot) => slot.ref === INVALID_GRANT_REF),
    'grants ended',
  );
  for (const frame of rinfo.indirectPages) env.memory.freePages(frame, 1);
  rinfo.indirectPages.length = 0;
  for (const ref of rinfo.ringRefs) if (!env.gnttab.endForeignAccess(ref)) deferred.push(ref);
  env.evtchn.close(env.domid, rinfo.port);
  // A ring page the backend still maps stays allocated (the deferred list keeps it alive).
  if (!rinfo.ringRefs.some((ref) => deferred.includes(ref)))
    env.memory.freePages(rinfo.ringFrame, rinfo.ringPageCount);
  return deferred;
}
