// Hostile peers: a frontend or backend domain that, besides running its honest driver, writes
// arbitrary values into the shared ring page, its event channels, its grants or its own xenstore
// directory at any point the scheduler picks. It has exactly the access its domain has: the
// backend domain maps what the guest granted it and writes its own directory; the guest writes
// its ring pages and its own directory. The honest side must report, refuse and keep its own
// accounting intact; it never crashes or completes the wrong request (reference sections 9.3, 10).
//
// Each attack is one action: a hostile write lands between two steps of the honest driver, which
// is where the real races of XSA-155 (double fetch) and the 2021 blkfront hardening sit.
import { BE, FE, joinKey, ringDir, ringRefKey, readUnsigned } from '../../model/xenstore-keys.ts';
import type { BackRingState } from '../blkback/back-ring.ts';
import type { RingInfo } from '../blkfront/ring-info.ts';
import {
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_RESERVED_1,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  type BlkifRequest,
  type BlkifResponse,
  indirectPageCount,
} from '../xen/blkif-abi.ts';
import { type RingIdx, ringIdxAdd, ringIdxDistance } from '../xen/ring-index.ts';
import {
  entryOffset,
  freeRequests,
  pushRequestsAndCheckNotify,
  reqProd,
  rspProd,
  setReqProd,
  setRspProd,
} from '../xen/shared-ring.ts';
import type { ConfigIssue } from './config.ts';
import { BACKEND_DOMID, backendPath, frontendPath } from './toolstack.ts';
import type { World } from './world.ts';

export type HostileSide = 'blkfront' | 'blkback';

/** What a hostile backend domain can do (section 10, "be ..." rows). */
export const BACKEND_ATTACKS = [
  'bogusResponseId',
  'duplicateResponse',
  'wrongOperation',
  'rspProdBeyondRing',
  'eventStorm',
  'lyingQueueCountMax',
  'lyingRingPageOrderMax',
  'lyingIndirectSegmentsMax',
  'keepGrantMapped',
] as const;
/** What a hostile frontend (guest) can do (section 10, "fe ..." rows). */
export const FRONTEND_ATTACKS = [
  'numQueuesAboveMax',
  'numQueuesZero',
  'ringPageOrderAboveMax',
  'badRingRef',
  'rewriteRequest',
  'reqProdBeyondRing',
  'garbageRequest',
] as const;
export type BackendAttack = (typeof BACKEND_ATTACKS)[number];
export type FrontendAttack = (typeof FRONTEND_ATTACKS)[number];
export type HostileAttack = BackendAttack | FrontendAttack;

/** One attack the scheduler may pick: which ring (modulo the rings there are) and with what value. */
export interface AttackSpec {
  readonly attack: HostileAttack;
  readonly ring: number;
  /** Generated: an id offset, an index distance, a variant selector, a repeat count. */
  readonly value: number;
}

/** Which peer is hostile, the attacks the scheduler may choose from, how many it may take in all. */
export interface HostilePlan {
  readonly side: HostileSide;
  readonly attacks: readonly AttackSpec[];
  readonly budget: number;
}

export interface HostileAction {
  readonly actor: 'hostile';
  readonly kind: 'attack';
  readonly side: HostileSide;
  readonly attack: HostileAttack;
  readonly ring: number;
  /** The value the adversary writes (an id, an index, a queue count...), generated. */
  readonly value: number;
}

/** A response the hostile backend published; the frontend must refuse it once it reads it. */
export interface ForgedResponse {
  readonly attack: BackendAttack;
  readonly rinfo: RingInfo;
  readonly index: RingIdx;
  readonly rsp: BlkifResponse;
}

/** A malformed request the hostile frontend published; blkback must answer it with an error. */
export interface GarbageRequest {
  readonly view: DataView;
  readonly index: RingIdx;
  readonly id: number;
  readonly status: number;
  readonly what: string;
}

/** The adversary's own memory: what it did, for the honest-side invariant and coverage. */
export interface HostileState {
  /** Attack actions taken (the budget counts these). */
  taken: number;
  /** Indices of the plan's attack specs already taken: each spec is one shot. */
  readonly used: Set<number>;
  /** Attacks that changed something, by name (a no-op attempt is not counted). */
  readonly effective: Map<HostileAttack, number>;
  readonly forged: ForgedResponse[];
  readonly garbage: GarbageRequest[];
  /** Grant references the hostile backend maps and never unmaps (XSA-396). */
  readonly heldRefs: number[];
  nextGarbageId: number;
}

/** Ids of garbage requests: far above any ring size, so the frontend's own code cannot own them. */
const GARBAGE_ID_BASE = 0x4000_0000;
const STORM_NOTIFIES_MAX = 64;
const INDEX_JUMP_MAX = 1 << 20;

const states = new WeakMap<World, HostileState>();

export function hostileStateOf(world: World): HostileState {
  let state = states.get(world);
  if (state === undefined) {
    state = {
      taken: 0,
      used: new Set(),
      effective: new Map(),
      forged: [],
      garbage: [],
      heldRefs: [],
      nextGarbageId: GARBAGE_ID_BASE,
    };
    states.set(world, state);
  }
  return state;
}

export function validateHostilePlan(plan: HostilePlan): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (plan.side !== 'blkfront' && plan.side !== 'blkback') {
    issues.push({
      path: 'hostile.side',
      message: `must be blkfront or blkback, got ${JSON.stringify(plan.side)}`,
    });
    return issues;
  }
  if (!Number.isInteger(plan.budget) || plan.budget < 0 || plan.budget > 10_000) {
    issues.push({
      path: 'hostile.budget',
      message: `must be an integer in 0..10000, got ${JSON.stringify(plan.budget)}`,
    });
  }
  const allowed: readonly string[] = plan.side === 'blkback' ? BACKEND_ATTACKS : FRONTEND_ATTACKS;
  plan.attacks.forEach((spec, i) => {
    const path = `hostile.attacks[${i}]`;
    if (!allowed.includes(spec.attack)) {
      issues.push({
        path,
        message: `${JSON.stringify(spec.attack)} is not an attack of a hostile ${plan.side}`,
      });
    }
    if (!Number.isInteger(spec.ring) || spec.ring < 0 || spec.ring > 1023) {
      issues.push({
        path: `${path}.ring`,
        message: `must be an integer in 0..1023, got ${JSON.stringify(spec.ring)}`,
      });
    }
    if (!Number.isInteger(spec.value) || spec.value < 0 || spec.value > 0xffff_ffff) {
      issues.push({
        path: `${path}.value`,
        message: `must be an integer in 0..2^32-1, got ${JSON.stringify(spec.value)}`,
      });
    }
  });
  return issues;
}

/** Attacks possible now, appended after the honest actions (they are faults). */
export function hostileActions(world: World, out: HostileAction[]): void {
  const plan = world.config.hostile;
  if (plan === undefined || world.phase !== 'running') return;
  if (hostileStateOf(world).taken >= plan.budget) return;
  const used = hostileStateOf(world).used;
  for (let i = 0; i < plan.attacks.length; i++) {
    if (used.has(i)) continue;
    const spec = plan.attacks[i]!;
    const ring = targetRing(world, spec);
    if (ring === undefined) continue;
    out.push({
      actor: 'hostile',
      kind: 'attack',
      side: plan.side,
      attack: spec.attack,
      ring,
      value: spec.value,
    });
  }
}

/** The ring an attack would hit now, or undefined when it has nothing to hit. */
function targetRing(world: World, spec: AttackSpec): number | undefined {
  const frontRings = world.front.device.rings;
  const backRings = world.host.back.rings;
  const connected = world.front.device.connection === 'connected';
  const pick = (count: number): number | undefined => (count === 0 ? undefined : spec.ring % count);
  switch (spec.attack) {
    case 'bogusResponseId':
    case 'rspProdBeyondRing':
      return connected ? pick(frontRings.length) : undefined;
    case 'duplicateResponse': {
      const ring = connected && world.host.workersStarted ? pick(backRings.length) : undefined;
      return ring !== undefined && replayable(world, ring, spec.value) !== undefined
        ? ring
        : undefined;
    }
    case 'wrongOperation':
    case 'keepGrantMapped':
      return connected ? firstBusy(backRings, spec.ring) : undefined;
    case 'eventStorm':
      return pick(backRings.length);
    case 'lyingQueueCountMax':
    case 'lyingRingPageOrderMax':
    case 'lyingIndirectSegmentsMax':
      return world.host.back.removed || world.front.hasDisk ? undefined : 0;
    case 'numQueuesAboveMax':
    case 'numQueuesZero':
    case 'ringPageOrderAboveMax':
      return keysUnread(world) ? 0 : undefined;
    case 'badRingRef':
      return keysUnread(world) ? pick(frontRings.length) : undefined;
    case 'rewriteRequest':
      return firstBusy(backRings, spec.ring);
    case 'reqProdBeyondRing':
      return pick(frontRings.length);
    case 'garbageRequest': {
      const ring = pick(frontRings.length);
      return ring !== undefined && freeRequests(frontRings[ring]!.front) > 0 ? ring : undefined;
    }
  }
}

/** The frontend has written ring keys the backend has not read yet (connect_ring is ahead). */
function keysUnread(world: World): boolean {
  const back = world.host.back;
  return world.front.device.rings.length > 0 && back.rings.length === 0 && !back.removed;
}

/** From `start` on (cyclically), the first backend ring with a request in flight. */
function firstBusy(rings: readonly BackRingState[], start: number): number | undefined {
  for (let k = 0; k < rings.length; k++) {
    const ring = rings[(start + k) % rings.length]!;
    if (ring.inflight.size > 0) return ring.index;
  }
  return undefined;
}

export function performAttack(world: World, action: HostileAction): void {
  const state = hostileStateOf(world);
  state.taken += 1;
  const specs = world.config.hostile?.attacks ?? [];
  const spec = specs.findIndex(
    (s, i) => !state.used.has(i) && s.attack === action.attack && s.value === action.value,
  );
  if (spec >= 0) state.used.add(spec);
  const done =
    action.side === 'blkback'
      ? backendAttack(world, state, action)
      : frontendAttack(world, state, action);
  if (done) state.effective.set(action.attack, (state.effective.get(action.attack) ?? 0) + 1);
}

function backendAttack(world: World, state: HostileState, action: HostileAction): boolean {
  const { ring, value } = action;
  switch (action.attack) {
    case 'bogusResponseId': {
      const rinfo = world.front.device.rings[ring]!;
      return forge(world, state, 'bogusResponseId', rinfo, {
        id: rinfo.front.size + value,
        operation: BLKIF_OP_READ,
        status: BLKIF_RSP_OKAY,
      });
    }
    case 'duplicateResponse':
      return duplicateResponse(world, state, ring, value);
    case 'wrongOperation':
      return wrongOperation(world, state, ring, value);
    case 'rspProdBeyondRing': {
      const rinfo = world.front.device.rings[ring]!;
      const sring = rinfo.front.sring;
      setRspProd(sring, ringIdxAdd(rspProd(sring), sring.size + 1 + (value % INDEX_JUMP_MAX)));
      notifyFrontend(world, ring);
      return true;
    }
    case 'eventStorm': {
      const stormRing = backRingNumbered(world, ring);
      if (stormRing === undefined) return false;
      const port = stormRing.port;
      for (let n = 0; n <= value % STORM_NOTIFIES_MAX; n++)
        world.evtchn.notify(BACKEND_DOMID, port);
      return true;
    }
    case 'lyingQueueCountMax':
      return writeBackendKey(
        world,
        BE.multiQueueMaxQueues,
        ['0', '4294967295', 'many', '65536', '-1'][value % 5]!,
      );
    case 'lyingRingPageOrderMax':
      return writeBackendKey(world, BE.maxRingPageOrder, ['9', '4294967295', 'x', '5'][value % 4]!);
    case 'lyingIndirectSegmentsMax':
      return writeBackendKey(
        world,
        BE.featureMaxIndirectSegments,
        ['4294967295', '100000', 'lots', '0'][value % 4]!,
      );
    case 'keepGrantMapped':
      return keepGrantMapped(world, state, ring, value);
    default:
      return false;
  }
}

/** Write one response into the slot at the shared rsp_prod and publish it, as a backend would. */
function forge(
  world: World,
  state: HostileState,
  attack: BackendAttack,
  rinfo: RingInfo,
  rsp: BlkifResponse,
): boolean {
  const sring = rinfo.front.sring;
  const index = rspProd(sring);
  world.front.env.abi.writeResponse(sring.view, entryOffset(sring, index), rsp);
  setRspProd(sring, ringIdxAdd(index, 1));
  state.forged.push({ attack, rinfo, index, rsp });
  notifyFrontend(world, rinfo.index);
  return true;
}

/** A backend ring by its number: a disconnect keeps only busy rings, so positions shift. */
function backRingNumbered(world: World, ring: number): BackRingState | undefined {
  return world.host.back.rings.find((r) => r.index === ring);
}

function notifyFrontend(world: World, ring: number): void {
  const back = backRingNumbered(world, ring);
  if (back !== undefined) world.evtchn.notify(BACKEND_DOMID, back.port);
}

/**
 * Replay an earlier response whose id nothing is waiting for: not in flight at the backend, not
 * among the published requests, not answered again later. Replaying a live id could complete a
 * reused id early, which no frontend can tell from a real answer; this attack is the detectable one.
 */
function duplicateResponse(
  world: World,
  state: HostileState,
  ring: number,
  value: number,
): boolean {
  const rinfo = world.front.device.rings[ring];
  const rsp = replayable(world, ring, value);
  return (
    rinfo !== undefined && rsp !== undefined && forge(world, state, 'duplicateResponse', rinfo, rsp)
  );
}

function replayable(world: World, ring: number, value: number): BlkifResponse | undefined {
  const back = backRingNumbered(world, ring);
  if (back === undefined || world.front.device.rings[ring] === undefined) return undefined;
  const sring = back.back.sring;
  const abi = world.host.env.abi;
  const prod = rspProd(sring);
  // Slots below rsp_prod still hold responses unless the frontend reused them for new requests.
  const oldest = Math.min(
    ringIdxDistance(ringIdxAdd(reqProd(sring), -sring.size), prod),
    sring.size,
    prod,
  );
  if (oldest === 0) return undefined;
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
  const skip = value % oldest;
  let found: BlkifResponse | undefined;
  for (let age = 1; age <= oldest; age++) {
    const rsp = abi.copyResponse(sring.view, entryOffset(sring, ringIdxAdd(prod, -age)));
    if (!live.has(rsp.id) && (found === undefined || age <= skip + 1)) found = rsp;
    live.add(rsp.id);
  }
  return found;
}

/** A response for a request in flight, with an operation other than the request's. */
function wrongOperation(world: World, state: HostileState, ring: number, value: number): boolean {
  const back = backRingNumbered(world, ring);
  const rinfo = world.front.device.rings[ring];
  if (back === undefined || rinfo === undefined) return false;
  const pendings = [...back.inflight.values()];
  const pending = pendings[value % pendings.length]!;
  const others = [
    BLKIF_OP_READ,
    BLKIF_OP_WRITE,
    BLKIF_OP_WRITE_BARRIER,
    BLKIF_OP_FLUSH_DISKCACHE,
    BLKIF_OP_DISCARD,
  ].filter((op) => op !== pending.operation);
  const operation = others[value % others.length]!;
  return forge(world, state, 'wrongOperation', rinfo, {
    id: pending.id,
    operation,
    status: BLKIF_RSP_OKAY,
  });
}

/** XSA-396: map a one-shot data grant of a request in flight a second time and never unmap it. */
function keepGrantMapped(world: World, state: HostileState, ring: number, value: number): boolean {
  const back = backRingNumbered(world, ring);
  if (back === undefined) return false;
  const refs: number[] = [];
  for (const pending of back.inflight.values())
    for (const seg of pending.segments) if (!seg.persistent) refs.push(seg.gref);
  if (refs.length === 0) return false;
  const gref = refs[value % refs.length]!;
  const mapped = world.guestGnttab.map(gref, BACKEND_DOMID, false);
  if (!mapped.ok) return false;
  state.heldRefs.push(gref);
  return true;
}

function writeBackendKey(world: World, key: string, value: string): boolean {
  const path = `${backendPath(world.guestDomid)}/${key}`;
  const written = world.xs.write(BACKEND_DOMID, path, value);
  if (written.ok) world.observe?.({ kind: 'xenstoreWrite', dom: BACKEND_DOMID, path, value });
  return written.ok;
}

function writeFrontendKey(world: World, key: string, value: string): boolean {
  const path = `${frontendPath(world.guestDomid)}/${key}`;
  const written = world.xs.write(world.guestDomid, path, value);
  if (written.ok) world.observe?.({ kind: 'xenstoreWrite', dom: world.guestDomid, path, value });
  return written.ok;
}

function frontendAttack(world: World, state: HostileState, action: HostileAction): boolean {
  const { ring, value } = action;
  const backMax = world.host.back.config.queueCountMax ?? 1;
  switch (action.attack) {
    case 'numQueuesAboveMax':
      return writeFrontendKey(world, FE.multiQueueNumQueues, String(backMax + 1 + (value % 1000)));
    case 'numQueuesZero':
      return writeFrontendKey(world, FE.multiQueueNumQueues, '0');
    case 'ringPageOrderAboveMax':
      return writeFrontendKey(
        world,
        FE.ringPageOrder,
        String((world.host.back.config.ringPageOrderMax ?? 0) + 1 + (value % 8)),
      );
    case 'badRingRef':
      return badRingRef(world, ring, value);
    case 'rewriteRequest':
      return rewriteRequest(world, ring, value);
    case 'reqProdBeyondRing': {
      const rinfo = world.front.device.rings[ring]!;
      const sring = rinfo.front.sring;
      setReqProd(sring, ringIdxAdd(reqProd(sring), sring.size + 1 + (value % INDEX_JUMP_MAX)));
      world.evtchn.notify(world.guestDomid, rinfo.port);
      return true;
    }
    case 'garbageRequest':
      return garbageRequest(world, state, ring, value);
    default:
      return false;
  }
}

/** A reference that is not granted at all (even value) or one granted for another purpose (odd). */
function badRingRef(world: World, ring: number, value: number): boolean {
  const read = (key: string): string | undefined => {
    const r = world.xs.read(world.guestDomid, `${frontendPath(world.guestDomid)}/${key}`);
    return r.ok ? r.value : undefined;
  };
  const queueCount = readUnsigned(read(FE.multiQueueNumQueues)) ?? 1;
  const order = readUnsigned(read(FE.ringPageOrder));
  const key = joinKey(
    ringDir(queueCount, ring % queueCount),
    order === undefined ? FE.ringRef : ringRefKey(Math.max(order, 1), 0),
  );
  const own = new Set(world.front.device.rings[ring]?.ringRefs ?? []);
  const others = world.guestGnttab.grantedRefs().filter((ref) => !own.has(ref));
  let ref: number;
  if (value % 2 === 1 && others.length > 0) {
    ref = others[(value >> 1) % others.length]!;
  } else {
    // Past the end of the grant table: it stays ungranted until blkback reads it.
    ref = world.guestGnttab.refCountMax + (value % 4096);
  }
  return writeFrontendKey(world, key, String(ref));
}

/**
 * The double fetch (XSA-155): change a request the backend already consumed and still works on.
 * Slots from rsp_prod_pvt to req_cons still hold those requests. A backend that validated a
 * private copy never looks at the slot again, so nothing it does may change.
 */
function rewriteRequest(world: World, ring: number, value: number): boolean {
  const backRing = backRingNumbered(world, ring);
  if (backRing === undefined) return false;
  const back = backRing.back;
  const consumed = ringIdxDistance(back.rspProdPvt, back.reqCons);
  if (consumed === 0) return false;
  const index = ringIdxAdd(back.rspProdPvt, value % consumed);
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

interface Garbage {
  readonly what: string;
  readonly status: number;
  build(g: GarbageContext): BlkifRequest;
}

interface GarbageContext {
  readonly id: number;
  readonly value: number;
  readonly handle: number;
  readonly diskSectors: number;
  readonly indirectSegmentsMax: number;
  /** A reference the guest has not granted. */
  readonly ungranted: number;
}

type Segment = { gref: number; firstSect: number; lastSect: number };

function rw(
  g: GarbageContext,
  operation: 0 | 1,
  nrSegments: number,
  sector: number,
  segments: Segment[],
): BlkifRequest {
  return {
    kind: 'rw',
    operation,
    nrSegments,
    handle: g.handle,
    id: g.id,
    sectorNumber: sector,
    segments,
  };
}

function indirect(g: GarbageContext, indirectOp: number, nrSegments: number): BlkifRequest {
  const pageCount = Math.min(indirectPageCount(nrSegments), BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
  return {
    kind: 'indirect',
    operation: BLKIF_OP_INDIRECT,
    indirectOp,
    nrSegments,
    handle: g.handle,
    id: g.id,
    sectorNumber: 0,
    indirectGrefs: new Array<number>(pageCount).fill(8),
  };
}

/** Requests blkback must refuse (section 5.5), each with the status Linux answers it with. */
const GARBAGE: readonly Garbage[] = [
  {
    what: 'unknown operation',
    status: BLKIF_RSP_EOPNOTSUPP,
    build: (g) => ({
      kind: 'unknown',
      operation: g.value % 2 === 0 ? BLKIF_OP_RESERVED_1 : 7 + (g.value % 200),
      id: g.id,
    }),
  },
  {
    what: 'read with 0 segments',
    status: BLKIF_RSP_ERROR,
    build: (g) => rw(g, BLKIF_OP_READ, 0, 0, []),
  },
  {
    what: 'last_sect < first_sect',
    status: BLKIF_RSP_ERROR,
    build: (g) => rw(g, BLKIF_OP_WRITE, 1, 0, [{ gref: 8, firstSect: 5, lastSect: 2 }]),
  },
  {
    what: 'last_sect beyond the page',
    status: BLKIF_RSP_ERROR,
    build: (g) =>
      rw(g, BLKIF_OP_READ, 1, 0, [{ gref: 8, firstSect: 0, lastSect: 8 + (g.value % 248) }]),
  },
  {
    what: 'sector beyond the disk',
    status: BLKIF_RSP_ERROR,
    build: (g) =>
      rw(g, BLKIF_OP_READ, 1, g.diskSectors + (g.value % 100), [
        { gref: 8, firstSect: 0, lastSect: 7 },
      ]),
  },
  {
    what: 'indirect with too many segments',
    status: BLKIF_RSP_ERROR,
    build: (g) =>
      indirect(g, BLKIF_OP_READ, Math.min(0xffff, g.indirectSegmentsMax + 1 + (g.value % 64))),
  },
  {
    what: 'too many direct segments',
    status: BLKIF_RSP_ERROR,
    build: (g) => rw(g, BLKIF_OP_READ, 12 + (g.value % 244), 0, []),
  },
  {
    what: 'ungranted data page',
    status: BLKIF_RSP_ERROR,
    build: (g) => rw(g, BLKIF_OP_READ, 1, 0, [{ gref: g.ungranted, firstSect: 0, lastSect: 7 }]),
  },
  {
    what: 'indirect with inner op flush',
    status: BLKIF_RSP_ERROR,
    build: (g) => indirect(g, BLKIF_OP_FLUSH_DISKCACHE, 1),
  },
];

function garbageOf(
  world: World,
  id: number,
  value: number,
): { req: BlkifRequest; status: number; what: string } {
  // Past the end of the guest's grant table: never granted, whatever the honest frontend grants
  // between this write and blkback's consume (a free reference could be granted meanwhile).
  const ungranted = world.guestGnttab.refCountMax + (value % 4096);
  const context: GarbageContext = {
    id,
    value,
    handle: world.front.device.handle,
    diskSectors: world.disk.sectorCount,
    indirectSegmentsMax: world.host.env.features.indirectSegmentsMax,
    ungranted,
  };
  const garbage = GARBAGE[value % GARBAGE.length]!;
  return { req: garbage.build(context), status: garbage.status, what: garbage.what };
}

/** Publish a malformed request through the frontend's own ring, as the guest domain can. */
function garbageRequest(world: World, state: HostileState, ring: number, value: number): boolean {
  const rinfo = world.front.device.rings[ring]!;
  const front = rinfo.front;
  if (freeRequests(front) === 0) return false;
  const id = state.nextGarbageId++;
  const { req, status, what } = garbageOf(world, id, value);
  const index = front.reqProdPvt;
  world.front.env.abi.writeRequest(front.sring.view, entryOffset(front.sring, index), req);
  front.reqProdPvt = ringIdxAdd(index, 1);
  if (pushRequestsAndCheckNotify(front)) world.evtchn.notify(world.guestDomid, rinfo.port);
  state.garbage.push({ view: front.sring.view, index, id, status, what });
  return true;
}
