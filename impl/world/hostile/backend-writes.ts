// What a hostile backend domain can write: responses into the frontend's ring page (it maps it
// writable, as blkback's xenbus_map_ring_valloc does), rsp_prod, notifications on its event
// channels, extra mappings of granted data pages, and the keys of its own xenstore directory.
// Each returns whether it changed anything (a no-op attempt is not an effective attack).
import { BE } from '../../../model/xenstore-keys.ts';
import { assert } from '../../assert.ts';
import {
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  type BlkifResponse,
} from '../../xen/blkif-abi.ts';
import { ringIdxAdd, ringIdxDistance } from '../../xen/ring-index.ts';
import { entryOffset, reqProd, rspProd, setRspProd } from '../../xen/shared-ring.ts';
import { BACKEND_DOMID, backendPath } from '../../../model/xenstore-paths.ts';
import type { RingInfo } from '../../blkfront/ring-info.ts';
import type { World } from '../world.ts';
import type { HostileAction } from './plan.ts';
import type { BackendAttack } from './attacks.ts';
import { type AdversaryRecord, noteForged } from './record.ts';
import { backRingNumbered, targetBackRing, targetFrontRing } from './rings.ts';

const STORM_NOTIFIES_MAX = 64;
/** How far past a full ring a forged producer index may jump. */
export const INDEX_JUMP_MAX = 1 << 20;

/** Write one response into the slot at the shared rsp_prod and publish it, as a backend would. */
function forge(
  world: World,
  record: AdversaryRecord,
  attack: BackendAttack,
  ring: number,
  rsp: BlkifResponse,
): boolean {
  const rinfo = targetFrontRing(world, ring);
  const sring = rinfo.front.sring;
  const index = rspProd(sring);
  world.front.env.abi.writeResponse(sring.view, entryOffset(sring, index), rsp);
  setRspProd(sring, ringIdxAdd(index, 1));
  noteForged(record, { attack, ring: rinfo.index, ringFrame: rinfo.ringFrame, index, rsp });
  notifyFrontend(world, rinfo.index);
  assert(rspProd(sring) === ringIdxAdd(index, 1), 'the forged response is published, one slot');
  return true;
}

/** The backend's notify on the ring's channel, when a backend ring of that number is bound. */
function notifyFrontend(world: World, ring: number): void {
  assert(Number.isInteger(ring) && ring >= 0, 'a ring number');
  const back = backRingNumbered(world, ring);
  if (back !== undefined) world.evtchn.notify(BACKEND_DOMID, back.port);
}

/** A response whose id no shadow of the ring can own (blkif_interrupt's id >= BLK_RING_SIZE). */
export function bogusResponseId(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const size = targetFrontRing(world, ring).front.size;
  const id = size + value;
  assert(id >= size, 'a bogus id lies outside the shadow array');
  return forge(world, record, 'bogusResponseId', ring, {
    id,
    operation: BLKIF_OP_READ,
    status: BLKIF_RSP_OKAY,
  });
}

/**
 * Replay an earlier response whose id nothing is waiting for: not in flight at the backend, not
 * among the published requests, not answered again later. Replaying a live id could complete a
 * reused id early, which no frontend can tell from a real answer; this attack is the detectable one.
 */
export function duplicateResponse(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const rsp = replayable(world, ring, value);
  assert(rsp !== undefined, 'enabled only while a stale response is there to replay');
  return forge(world, record, 'duplicateResponse', ring, rsp);
}

/** The ids the backend ring still owes an answer for or has yet to consume. */
function liveIds(world: World, ring: number): Set<number> {
  const back = targetBackRing(world, ring);
  const sring = back.back.sring;
  const abi = world.host.env.abi;
  const live = new Set<number>();
  for (const pending of back.inflight.values()) live.add(pending.id);
  if (back.barrier !== undefined) live.add(back.barrier.id);
  const published = Math.min(ringIdxDistance(back.back.reqCons, reqProd(sring)), sring.size);
  for (let n = 0; n < published; n++) {
    const copied = abi.copyRequest(
      sring.view,
      entryOffset(sring, ringIdxAdd(back.back.reqCons, n)),
    );
    live.add(copied.ok ? copied.value.id : copied.error.id);
  }
  assert(live.size <= back.inflight.size + 1 + published, 'one id per owed or published request');
  return live;
}

/** The stale response `value` picks among the answered slots below rsp_prod, if any is left. */
export function replayable(world: World, ring: number, value: number): BlkifResponse | undefined {
  const back = backRingNumbered(world, ring);
  if (back === undefined || world.front.device.rings[ring] === undefined) return undefined;
  const sring = back.back.sring;
  const prod = rspProd(sring);
  // Slots below rsp_prod still hold responses unless the frontend reused them for new requests.
  const oldest = Math.min(
    ringIdxDistance(ringIdxAdd(reqProd(sring), -sring.size), prod),
    sring.size,
    prod,
  );
  if (oldest === 0) return undefined;
  const live = liveIds(world, ring);
  const skip = value % oldest;
  let found: BlkifResponse | undefined;
  for (let age = 1; age <= oldest; age++) {
    const rsp = world.host.env.abi.copyResponse(
      sring.view,
      entryOffset(sring, ringIdxAdd(prod, -age)),
    );
    if (!live.has(rsp.id) && (found === undefined || age <= skip + 1)) found = rsp;
    live.add(rsp.id);
  }
  assert(oldest <= sring.size, 'only slots of this ring are replayed');
  return found;
}

/** A response for a request in flight, with an operation other than the request's. */
export function wrongOperation(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const back = targetBackRing(world, ring);
  if (world.front.device.rings[ring] === undefined) return false;
  const pendings = [...back.inflight.values()];
  assert(pendings.length > 0, 'enabled only on a ring with a request in flight');
  const pending = pendings[value % pendings.length]!;
  const others = [
    BLKIF_OP_READ,
    BLKIF_OP_WRITE,
    BLKIF_OP_WRITE_BARRIER,
    BLKIF_OP_FLUSH_DISKCACHE,
    BLKIF_OP_DISCARD,
  ].filter((op) => op !== pending.operation);
  const operation = others[value % others.length]!;
  assert(operation !== pending.operation, 'the forged operation is not the request’s');
  return forge(world, record, 'wrongOperation', ring, {
    id: pending.id,
    operation,
    status: BLKIF_RSP_OKAY,
  });
}

/** rsp_prod moved more than a ring past what the frontend consumed (RING_RESPONSE_PROD_OVERFLOW). */
export function rspProdBeyondRing(
  world: World,
  _record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const rinfo = targetFrontRing(world, ring);
  const sring = rinfo.front.sring;
  const before = rspProd(sring);
  setRspProd(sring, ringIdxAdd(before, sring.size + 1 + (value % INDEX_JUMP_MAX)));
  notifyFrontend(world, ring);
  assert(ringIdxDistance(before, rspProd(sring)) > sring.size, 'rsp_prod jumped past a ring');
  return true;
}

/** Notifications with nothing behind them, up to 64 in one go: blkif_interrupt must shrug. */
export function eventStorm(world: World, _record: AdversaryRecord, action: HostileAction): boolean {
  const { ring, value } = action;
  const stormRing = backRingNumbered(world, ring);
  if (stormRing === undefined) return false;
  const count = 1 + (value % STORM_NOTIFIES_MAX);
  assert(count >= 1 && count <= STORM_NOTIFIES_MAX, 'a bounded storm');
  for (let n = 0; n < count; n++) world.evtchn.notify(BACKEND_DOMID, stormRing.port);
  return true;
}

/** One notification of a flood on the ring's channel (the spec sends several, one per step). */
export function floodEvents(
  world: World,
  _record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const back = backRingNumbered(world, action.ring);
  if (back === undefined) return false;
  const sent = world.evtchn.notify(BACKEND_DOMID, back.port);
  assert(!sent.ok || world.evtchn.peerOf(BACKEND_DOMID, back.port) !== undefined, 'a bound port');
  return sent.ok;
}

/** XSA-396: map a one-shot data grant of a request in flight a second time and never unmap it. */
export function keepGrantMapped(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const back = targetBackRing(world, ring);
  const refs: number[] = [];
  for (const pending of back.inflight.values())
    for (const seg of pending.segments) if (!seg.persistent) refs.push(seg.gref);
  if (refs.length === 0) return false;
  const gref = refs[value % refs.length]!;
  const mapped = world.guestGnttab.map(gref, BACKEND_DOMID, false);
  if (!mapped.ok) return false;
  record.heldRefs.push(gref);
  assert(world.guestGnttab.isMapped(gref), 'the held grant stays mapped');
  return true;
}

/** The grants of ring `rinfo`'s split completion that were unmapped when queried and still are. */
export function queriedUnmapped(world: World, rinfo: RingInfo): number[] {
  const revocation = rinfo.revoking;
  if (revocation === undefined) return [];
  const shadow = rinfo.shadow[revocation.rsp.id];
  assert(shadow !== undefined, 'a split completion names a shadow of its ring');
  const slots = shadow.grantsUsed.concat(shadow.indirectGrants);
  const refs: number[] = [];
  slots.forEach((slot, i) => {
    if (revocation.mappedWhenQueried[i] === false && !world.guestGnttab.isMapped(slot.ref))
      refs.push(slot.ref);
  });
  return refs;
}

/**
 * XSA-396's race: between blkif_completion's gnttab_query_foreign_access (not mapped) and its end
 * of access, map one of the queried grants and never unmap it. A completion that checks and ends
 * in one step (gnttab_try_end_foreign_access) never opens this window.
 */
export function mapDuringRevocation(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const rinfo = targetFrontRing(world, action.ring);
  const refs = queriedUnmapped(world, rinfo);
  assert(refs.length > 0, 'enabled only with a queried grant still unmapped');
  const gref = refs[action.value % refs.length]!;
  const mapped = world.guestGnttab.map(gref, BACKEND_DOMID, false);
  if (!mapped.ok) return false;
  record.heldRefs.push(gref);
  assert(world.guestGnttab.isMapped(gref), 'the grant mapped in the window stays mapped');
  return true;
}

/** One lie per value: the keys blkfront reads in talk_to_blkback and blkfront_gather_backend_features. */
const LIES = {
  lyingQueueCountMax: {
    key: BE.multiQueueMaxQueues,
    values: ['0', '4294967295', 'many', '65536', '-1'],
  },
  lyingRingPageOrderMax: { key: BE.maxRingPageOrder, values: ['9', '4294967295', 'x', '5'] },
  lyingIndirectSegmentsMax: {
    key: BE.featureMaxIndirectSegments,
    values: ['4294967295', '100000', 'lots', '0'],
  },
} as const satisfies Partial<Record<BackendAttack, { key: string; values: readonly string[] }>>;

/** Write the attack's lie into the backend's own directory, before the frontend reads it. */
export function lie(world: World, _record: AdversaryRecord, action: HostileAction): boolean {
  assert(Object.hasOwn(LIES, action.attack), 'a lying attack has its lies');
  const { key, values } = LIES[action.attack as keyof typeof LIES];
  const text = values[action.value % values.length]!;
  const path = `${backendPath(world.guestDomid)}/${key}`;
  const written = world.xs.write(BACKEND_DOMID, path, text);
  if (written.ok) world.observe?.({ kind: 'xenstoreWrite', dom: BACKEND_DOMID, path, value: text });
  return written.ok;
}

/** What a flapping backend writes to its own state node: every XenbusState and text that is none. */
const FLAP_VALUES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'up'] as const;

/**
 * The backend domain writes its own state node behind blkback's back: blkfront's otherend watch
 * fires and blkback_changed reacts to whatever it reads then.
 */
export function flapBackendState(
  world: World,
  _r: AdversaryRecord,
  action: HostileAction,
): boolean {
  const text = FLAP_VALUES[action.value % FLAP_VALUES.length]!;
  assert(text.length > 0, 'a state node is never written empty');
  const path = `${backendPath(world.guestDomid)}/${BE.state}`;
  const written = world.xs.write(BACKEND_DOMID, path, text);
  if (written.ok) world.observe?.({ kind: 'xenstoreWrite', dom: BACKEND_DOMID, path, value: text });
  return written.ok;
}

/** The keys blkfront_connect gathers before it connects the disk. */
const DEVICE_INFO_KEYS = [BE.sectors, BE.info, BE.sectorSize] as const;
/** Texts no %llu/%u/%lu conversion accepts (sscanf fails on them as readUnsigned does). */
const GARBLED = ['', 'none', 'x512'] as const;

/**
 * Delete or garble sectors, info or sector-size in the backend's own directory before blkfront
 * reads them: xenbus_gather fails and blkfront_connect must not connect the disk.
 */
export function spoilDeviceInfo(world: World, _r: AdversaryRecord, action: HostileAction): boolean {
  const { value } = action;
  const key = DEVICE_INFO_KEYS[value % DEVICE_INFO_KEYS.length]!;
  const path = `${backendPath(world.guestDomid)}/${key}`;
  const variant = Math.floor(value / DEVICE_INFO_KEYS.length) % (GARBLED.length + 1);
  if (variant === GARBLED.length) return world.xs.rm(BACKEND_DOMID, path).ok;
  const text = GARBLED[variant]!;
  assert(!/^\d/.test(text), 'a text no unsigned conversion accepts');
  const written = world.xs.write(BACKEND_DOMID, path, text);
  if (written.ok) world.observe?.({ kind: 'xenstoreWrite', dom: BACKEND_DOMID, path, value: text });
  return written.ok;
}

/**
 * A response blkback published that blkfront has not copied yet, rewritten in place: the window
 * between blkfront reading rsp_prod (its final check saw the response) and copying the slot. The
 * id is pushed past the ring (even values) or the operation changed (odd): blkif_interrupt must
 * judge the bytes it copies, once, as a forged response ("read response from backend only once").
 * Or, while blkif_interrupt holds its copy of a response it accepted, that slot's status is
 * flipped: a frontend that processes its copy never sees it (read-once judges the fetches).
 */
export function rewriteResponse(
  world: World,
  record: AdversaryRecord,
  action: HostileAction,
): boolean {
  const { ring, value } = action;
  const rinfo = targetFrontRing(world, ring);
  const sring = rinfo.front.sring;
  const rawUnread = ringIdxDistance(rinfo.front.rspCons, rspProd(sring));
  const unread = rawUnread <= sring.size ? rawUnread : 0;
  const held = rinfo.held !== undefined ? 1 : 0;
  assert(unread + held >= 1, 'enabled only with an unread or a held response in the ring');
  const abi = world.front.env.abi;
  if (value % (unread + held) === unread) {
    const at = entryOffset(sring, ringIdxAdd(rinfo.front.rspCons, -1));
    const was = abi.copyResponse(sring.view, at);
    const status = was.status === BLKIF_RSP_OKAY ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
    abi.writeResponse(sring.view, at, { ...was, status });
    return true;
  }
  const index = ringIdxAdd(rinfo.front.rspCons, value % unread);
  const at = entryOffset(sring, index);
  const was = abi.copyResponse(sring.view, at);
  const ops = [BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_DISCARD];
  const others = ops.filter((op) => op !== was.operation);
  const pastRing: BlkifResponse = { ...was, id: rinfo.front.size + (Math.floor(value / 2) % 4096) };
  const otherOp: BlkifResponse = {
    ...was,
    operation: others[Math.floor(value / 2) % others.length]!,
  };
  // A slot rewritten before may already hold that id: then the operation changes instead.
  const rsp = value % 2 === 0 && pastRing.id !== was.id ? pastRing : otherOp;
  abi.writeResponse(sring.view, at, rsp);
  noteForged(record, {
    attack: 'rewriteResponse',
    ring: rinfo.index,
    ringFrame: rinfo.ringFrame,
    index,
    rsp,
  });
  assert(rsp.id !== was.id || rsp.operation !== was.operation, 'the slot now says something else');
  return true;
}
