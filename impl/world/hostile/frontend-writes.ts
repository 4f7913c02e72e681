// What a hostile guest can write: the keys of its own device directory (before blkback's
// connect_ring reads them), its ring pages (slots blkback already consumed, req_prod) and
// requests of its own making on its own ring. Each returns whether it changed anything.
import { NOT_ADVERTISED } from '../../../model/negotiate.ts';
import { FE, joinKey, readUnsigned, ringDir, ringRefKey } from '../../../model/xenstore-keys.ts';
import { assert } from '../../assert.ts';
import { ringIdxAdd, ringIdxDistance } from '../../xen/ring-index.ts';
import {
  entryOffset,
  freeRequests,
  pushRequestsAndCheckNotify,
  reqProd,
  setReqProd,
} from '../../xen/shared-ring.ts';
import { BACKEND_DOMID, frontendPath } from '../../../model/xenstore-paths.ts';
import {
  BLKIF_RSP_ERROR,
  type BlkifRequest,
  type BlkifSegment,
  type CopyRequestResult,
  readIndirectSegment,
  writeIndirectSegment,
} from '../../xen/blkif-abi.ts';
import type { RingIdx } from '../../xen/ring-index.ts';
import { PAGE_SIZE } from '../../xen/memory.ts';
import type { World } from '../world.ts';
import type { HostileAction } from './plan.ts';
import { INDEX_JUMP_MAX } from './backend-writes.ts';
import { buildGarbage } from './garbage.ts';
import { type AdversaryRecord, GARBAGE_ID_BASE, nextGarbageId, noteGarbage } from './record.ts';
import { targetBackRing, targetFrontRing } from './rings.ts';

function writeFrontendKey(world: World, key: string, value: string): boolean {
  const path = `${frontendPath(world.guestDomid)}/${key}`;
  const written = world.xs.write(world.guestDomid, path, value);
  if (written.ok) world.observe?.({ kind: 'xenstoreWrite', dom: world.guestDomid, path, value });
  assert(!key.startsWith('/'), 'the guest writes inside its own device directory');
  return written.ok;
}

/** What the guest reads back from its own device directory (undefined: absent). */
function readFrontendKey(world: World, key: string): string | undefined {
  assert(!key.startsWith('/'), 'a key inside the guest’s own device directory');
  const read = world.xs.read(world.guestDomid, `${frontendPath(world.guestDomid)}/${key}`);
  return read.ok ? read.value : undefined;
}

/** multi-queue-num-queues above the backend's multi-queue-max-queues (read_per_ring_refs refuses). */
export function numQueuesAboveMax(
  world: World,
  _r: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { value } = action;
  const backMax = world.host.back.config.queueCountMax ?? NOT_ADVERTISED.queueCount;
  const count = backMax + 1 + (value % 1000);
  assert(count > backMax, 'above what the backend advertised');
  return writeFrontendKey(world, FE.multiQueueNumQueues, String(count));
}

/** multi-queue-num-queues = 0 (connect_ring refuses: "invalid number of queues"). */
export function numQueuesZero(world: World, _r: AdversaryRecord, _action: HostileAction): boolean {
  assert(world.front.device.rings.length > 0, 'written once blkfront wrote its ring keys');
  return writeFrontendKey(world, FE.multiQueueNumQueues, '0');
}

/** ring-page-order above the backend's max-ring-page-order (connect_ring refuses). */
export function ringPageOrderAboveMax(
  world: World,
  _record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { value } = action;
  const orderMax = world.host.back.config.ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder;
  const order = orderMax + 1 + (value % 8);
  assert(order > orderMax, 'above what the backend advertised');
  return writeFrontendKey(world, FE.ringPageOrder, String(order));
}

/**
 * ring-page-order one above the backend's max-ring-page-order, with every ring-refN key that
 * order calls for (the ring's own references first, then others' or ungranted ones): a frontend
 * that looks consistent. connect_ring refuses the order before read_per_ring_refs maps anything.
 */
export function ringPageOrderWithRefs(
  world: World,
  _record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const orderMax = world.host.back.config.ringPageOrderMax ?? NOT_ADVERTISED.ringPageOrder;
  const order = orderMax + 1;
  const rings = world.front.device.rings;
  const queueCount =
    readUnsigned(readFrontendKey(world, FE.multiQueueNumQueues)) ?? NOT_ADVERTISED.queueCount;
  const granted = world.guestGnttab.grantedRefs();
  let wrote = writeFrontendKey(world, FE.ringPageOrder, String(order));
  for (let q = 0; q < Math.min(queueCount, rings.length); q++) {
    const own = rings[q]!.ringRefs;
    for (let page = 0; page < 2 ** order; page++) {
      const spare = (action.value + page) % (granted.length + 1);
      const ref = own[page] ?? granted[spare] ?? world.guestGnttab.refCountMax + page;
      const key = joinKey(ringDir(queueCount, q), ringRefKey(order, page));
      wrote = writeFrontendKey(world, key, String(ref)) || wrote;
    }
  }
  assert(order > orderMax, 'above what the backend advertised');
  return wrote;
}

/** What a flapping guest writes to its own state node: every XenbusState and text that is none. */
const FLAP_VALUES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'up'] as const;

/**
 * The guest writes its own state node behind blkfront's back (flapping): blkback's watch fires
 * and frontend_changed reacts to whatever it reads then.
 */
export function flapState(world: World, _record: AdversaryRecord, action: HostileAction): boolean {
  const text = FLAP_VALUES[action.value % FLAP_VALUES.length]!;
  assert(text.length > 0, 'a state node is never written empty');
  return writeFrontendKey(world, FE.state, text);
}

/** A reference that is not granted at all (even value) or one granted for another purpose (odd). */
export function badRingRef(world: World, _record: AdversaryRecord, action: HostileAction): boolean {
  const { ring, value } = action;
  const queueCount =
    readUnsigned(readFrontendKey(world, FE.multiQueueNumQueues)) ?? NOT_ADVERTISED.queueCount;
  const order = readUnsigned(readFrontendKey(world, FE.ringPageOrder));
  const key = joinKey(
    ringDir(queueCount, ring % queueCount),
    order === undefined ? FE.ringRef : ringRefKey(Math.max(order, 1), 0),
  );
  const own = new Set(world.front.device.rings[ring]?.ringRefs ?? []);
  const others = world.guestGnttab.grantedRefs().filter((ref) => !own.has(ref));
  let ref: number;
  if (value % 2 === 1 && others.length > 0) {
    ref = others[Math.floor(value / 2) % others.length]!;
  } else {
    // Past the end of the grant table: it stays ungranted until blkback reads it.
    ref = world.guestGnttab.refCountMax + (value % 4096);
  }
  assert(!own.has(ref), 'never the ring’s own reference');
  return writeFrontendKey(world, key, String(ref));
}

/**
 * The double fetch (XSA-155): change a request the backend already consumed and still works on.
 * Slots from rsp_prod_pvt to req_cons still hold those requests. A backend that validated a
 * private copy never looks at the slot again, so nothing it does may change.
 */
export function rewriteRequest(world: World, _r: AdversaryRecord, action: HostileAction): boolean {
  const { ring, value } = action;
  const back = targetBackRing(world, ring).back;
  const consumed = ringIdxDistance(back.rspProdPvt, back.reqCons);
  if (consumed === 0) return false;
  const index = ringIdxAdd(back.rspProdPvt, value % consumed);
  assert(ringIdxDistance(back.rspProdPvt, index) < consumed, 'a consumed, unanswered slot');
  const view = back.sring.view;
  const at = entryOffset(back.sring, index);
  const layout = world.host.env.abi.layout;
  switch (value % 3) {
    case 0: {
      // sector_number far beyond the disk (u64, little-endian)
      const sector = world.disk.sectorCount + 8 * (1 + (value % 4096));
      view.setUint32(at + layout.sectorNumberOffset, sector >>> 0, true);
      view.setUint32(at + layout.sectorNumberOffset + 4, Math.floor(sector / 0x1_0000_0000), true);
      return true;
    }
    case 1:
      view.setUint8(at, 200); // an operation no blkback knows
      return true;
    default:
      view.setUint8(at + 1, 255); // nr_segments far above BLKIF_MAX_SEGMENTS_PER_REQUEST
      return true;
  }
}

/** req_prod moved more than a ring past what blkback answered (RING_REQUEST_PROD_OVERFLOW). */
export function reqProdBeyondRing(
  world: World,
  _r: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const rinfo = targetFrontRing(world, ring);
  const sring = rinfo.front.sring;
  const before = reqProd(sring);
  setReqProd(sring, ringIdxAdd(before, sring.size + 1 + (value % INDEX_JUMP_MAX)));
  world.evtchn.notify(world.guestDomid, rinfo.port);
  assert(ringIdxDistance(before, reqProd(sring)) > sring.size, 'req_prod jumped past a ring');
  return true;
}

/**
 * One notification of a flood on the backend's channel of the ring, with nothing published
 * behind it (the guest's own EVTCHNOP_send on its port; the spec sends several, one per step).
 */
export function floodBackendEvents(
  world: World,
  _r: AdversaryRecord,
  action: HostileAction,
): boolean {
  const rinfo = targetFrontRing(world, action.ring);
  const sent = world.evtchn.notify(world.guestDomid, rinfo.port);
  assert(!sent.ok || world.evtchn.peerOf(world.guestDomid, rinfo.port) !== undefined, 'bound');
  return sent.ok;
}

/**
 * The guest grants the backend a page of its own (gnttab_grant_foreign_access from its own code,
 * not blkfront's): an indirect page holding `descriptors`, read-only, or a writable data page.
 */
function grantOwnPage(
  world: World,
  record: AdversaryRecord,
  descriptors: readonly BlkifSegment[] | undefined,
): number | undefined {
  const frame = world.guestMemory.allocPages(1);
  const page = world.guestMemory.page(frame);
  const view = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
  for (const [i, seg] of (descriptors ?? []).entries()) writeIndirectSegment(view, i, seg);
  const granted = world.guestGnttab.grantAccess(BACKEND_DOMID, frame, descriptors !== undefined);
  if (!granted.ok) {
    world.guestMemory.freePages(frame, 1);
    return undefined;
  }
  record.ownRefs.push(granted.value);
  assert(world.guestGnttab.isGranted(granted.value), 'the guest’s own page is granted');
  return granted.value;
}

/** Publish a malformed request through the frontend's own ring, as the guest domain can. */
export function garbageRequest(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const rinfo = targetFrontRing(world, ring);
  const front = rinfo.front;
  assert(freeRequests(front) > 0, 'enabled only with a free slot on the ring');
  const id = nextGarbageId(record);
  const { req, status, what, report, gref } = buildGarbage(
    {
      id,
      value,
      handle: world.front.device.handle,
      diskSectors: world.disk.sectorCount,
      indirectSegmentsMax: world.host.env.features.indirectSegmentsMax,
      // Past the end of the guest's grant table: never granted, whatever the honest frontend grants
      // between this write and blkback's consume (a free reference could be granted meanwhile).
      ungranted: world.guestGnttab.refCountMax + (value % 4096),
      refCountMax: world.guestGnttab.refCountMax,
      grantPage: (descriptors) => grantOwnPage(world, record, descriptors),
    },
    action.attack === 'mapFailure',
  );
  const index = front.reqProdPvt;
  world.front.env.abi.writeRequest(front.sring.view, entryOffset(front.sring, index), req);
  front.reqProdPvt = ringIdxAdd(index, 1);
  if (pushRequestsAndCheckNotify(front)) world.evtchn.notify(world.guestDomid, rinfo.port);
  const ringFrame = rinfo.ringFrame;
  noteGarbage(record, { ring: rinfo.index, ringFrame, index, id, status, report, gref, what });
  assert(front.reqProdPvt === ringIdxAdd(index, 1), 'exactly one request published');
  return true;
}

/** Published indirect requests of blkfront's own (not the adversary's garbage) not parsed yet. */
export function unparsedIndirect(
  world: World,
  ring: number,
): { index: RingIdx; req: BlkifRequest & { kind: 'indirect' } }[] {
  const back = targetBackRing(world, ring);
  const out: { index: RingIdx; req: BlkifRequest & { kind: 'indirect' } }[] = [];
  const take = (index: RingIdx, copied: CopyRequestResult): void => {
    if (copied.ok && copied.value.kind === 'indirect' && copied.value.id < GARBAGE_ID_BASE)
      out.push({ index, req: copied.value });
  };
  // The copy the worker holds (RING_COPY_REQUEST done, xen_blkbk_parse_indirect not yet).
  if (back.held !== undefined) take(back.held.index, back.held.copied);
  const sring = back.back.sring;
  const abi = world.host.env.abi;
  const published = Math.min(ringIdxDistance(back.back.reqCons, reqProd(sring)), sring.size);
  for (let n = 0; n < published; n++) {
    const index = ringIdxAdd(back.back.reqCons, n);
    take(index, abi.copyRequest(sring.view, entryOffset(sring, index)));
  }
  assert(out.length <= published + 1, 'one candidate per published or held request');
  return out;
}

/**
 * The guest rewrites a descriptor of one of blkfront's indirect pages after the request was
 * published and before blkback parsed it: last_sect 8 lies outside the page, so
 * xen_blkbk_parse_indirect must refuse the request (bad-segment, BLKIF_RSP_ERROR).
 */
export function rewriteIndirect(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const candidates = unparsedIndirect(world, ring);
  assert(candidates.length > 0, 'enabled only with an unparsed indirect request');
  const { index, req } = candidates[value % candidates.length]!;
  const gref = req.indirectGrefs[0];
  const frame = gref === undefined ? undefined : world.guestGnttab.entry(gref)?.frame;
  if (frame === undefined || !world.guestMemory.isAllocated(frame)) return false;
  const page = world.guestMemory.page(frame);
  const view = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
  const descriptor = Math.floor(value / candidates.length) % Math.min(req.nrSegments, 512);
  const seg = readIndirectSegment(view, descriptor);
  writeIndirectSegment(view, descriptor, { ...seg, lastSect: 8 });
  const back = targetBackRing(world, ring);
  const ringFrame =
    back.ringRefs[0] === undefined ? undefined : world.guestGnttab.entry(back.ringRefs[0])?.frame;
  if (ringFrame === undefined) return true;
  record.rewrittenIndirect.push({
    ring,
    ringFrame,
    index,
    id: req.id,
    status: BLKIF_RSP_ERROR,
    report: 'bad-segment',
    gref: undefined,
    what: `indirect descriptor ${descriptor} of gref ${gref} rewritten to last_sect 8 after publication`,
  });
  assert(
    readIndirectSegment(view, descriptor).lastSect === 8,
    'the descriptor now lies outside the page',
  );
  return true;
}
