// Hostile peers: a frontend or backend domain that, besides running its honest driver, writes
// arbitrary values into the shared ring page, its event channels, its grants or its own xenstore
// directory at any point the scheduler picks. It has exactly the access its domain has: the
// backend domain maps what the guest granted it and writes its own directory; the guest writes
// its ring pages and its own directory. The honest side must report, refuse and keep its own
// accounting intact; it never crashes or completes the wrong request (reference sections 9.3, 10).
//
// Each attack is one action: a hostile write lands between two steps of the honest driver, which
// is where the real races of XSA-155 (double fetch) and the 2021 blkfront hardening sit.
//
// ATTACKS is the one table: per attack its side, the ring it can hit now (undefined: nothing to
// hit, not enabled), what it writes, and what the honest side must do (its defences, judged by
// properties/invariants/honest-side.ts). Adding an attack is one row.
import { assert } from '../../assert.ts';
import { guestRuns, type World } from '../world.ts';
import * as be from './backend-writes.ts';
import * as fe from './frontend-writes.ts';
import type { AttackSpec, HostileAction, HostileSide } from './plan.ts';
import { type AdversaryRecord, noteEffective, spendSpec } from './record.ts';
import {
  anyBackRing,
  anyFrontRing,
  backendDirPresent,
  beforeDeviceInfoRead,
  beforeFeaturesRead,
  beforeKeysRead,
  busyBackRing,
  connectedBusyBackRing,
  connectedFrontRing,
  frontRingBeforeKeysRead,
  frontRingWithFreeSlot,
  frontRingNotPending,
  frontRingPeerNotPending,
  frontRingRevoking,
  frontRingWithUnreadOrHeldResponse,
  honestSideSettled,
  replayableBackRing,
  ringWithUnparsedIndirect,
} from './targets.ts';

/**
 * What the honest side must do against an attack. Each is judged by one check of
 * properties/invariants/honest-side.ts, after every step or at quiescence.
 */
export type Defence =
  /**
   * blkfront: a forged response it reads leaves the device marked broken, with the report its
   * bytes call for (id out of range, not waiting, wrong operation: blkif_interrupt's order).
   */
  | 'refuseForgedResponse'
  /** blkfront: after a protocol error the failing ring's channel stays masked (no late EOI). */
  | 'noEoiAfterError'
  /**
   * blkfront: a handler run that processed no response ends with XEN_EOI_FLAG_SPURIOUS, so from
   * the second such run in a row the channel stays masked until the lateeoi worker's delay.
   */
  | 'throttleSpuriousEvents'
  /**
   * blkfront: with rsp_prod more than a ring ahead it reads no slot (rsp_cons stays) and the
   * device is marked broken with illegal-response-count (RING_RESPONSE_PROD_OVERFLOW first).
   */
  | 'refuseRspProdOverflowAtOnce'
  /** blkfront: its rings, ring order and indirect segments stay within its own limits. */
  | 'keepOwnLimits'
  /** blkfront: a page the backend still maps is never freed and its grant never ended. */
  | 'keepMappedPage'
  /** blkfront: it does not idle connected with rsp_prod more than a ring ahead. */
  | 'refuseRspProdOverflow'
  /** blkback: every consumed request answered once; indices and mappings accounted for. */
  | 'accountEveryRequest'
  /**
   * blkfront: it connects the disk only when sectors, info and sector-size read (otherwise
   * xenbus_dev_fatal "reading backend fields" and Closing).
   */
  | 'refuseMissingDeviceInfo'
  /**
   * blkback: connects only within its limits; otherwise Closing with an error node naming the
   * first check of connect_ring that failed (queues, then ring page order), nothing mapped.
   */
  | 'refuseBadConnect'
  /** blkback: a malformed request gets its error status and a report. */
  | 'refuseGarbage'
  /** blkback: it halts a ring whose req_prod lies more than a ring ahead. */
  | 'haltOnReqProdOverflow'
  /**
   * blkback: a ring thread's pass that saw no request ends with XEN_EOI_FLAG_SPURIOUS, so from the
   * second such pass in a row the channel stays masked until the lateeoi worker's delay.
   */
  | 'throttleBackendEvents'
  /** blkback: a ring halted over its req_prod sends no late EOI: its channel stays masked. */
  | 'noEoiAfterHalt';

export interface AttackRow {
  readonly side: HostileSide;
  /** The ring the attack would hit now (a position or a ring number), undefined if none. */
  target(world: World, spec: AttackSpec): number | undefined;
  /** Do it; true when something changed (counted as effective). */
  perform(world: World, record: AdversaryRecord, action: HostileAction): boolean;
  readonly defences: readonly Defence[];
}

/** The table. Backend rows first, then frontend rows: this order is the plan generator's. */
const ATTACKS = {
  // blkif_interrupt refuses a response id not below the ring size (the 2021 hardening).
  bogusResponseId: {
    side: 'blkback',
    target: connectedFrontRing,
    perform: be.bogusResponseId,
    defences: ['refuseForgedResponse', 'noEoiAfterError'],
  },
  // A stale response replayed: blkif_interrupt refuses an id whose shadow is not waiting.
  duplicateResponse: {
    side: 'blkback',
    target: replayableBackRing,
    perform: be.duplicateResponse,
    defences: ['refuseForgedResponse', 'noEoiAfterError'],
  },
  // blkif_interrupt refuses a response whose operation is not its request's.
  wrongOperation: {
    side: 'blkback',
    target: connectedBusyBackRing,
    perform: be.wrongOperation,
    defences: ['refuseForgedResponse', 'noEoiAfterError'],
  },
  // blkif_interrupt: RING_RESPONSE_PROD_OVERFLOW, "illegal number of responses".
  rspProdBeyondRing: {
    side: 'blkback',
    target: connectedFrontRing,
    perform: be.rspProdBeyondRing,
    defences: [
      'keepOwnLimits',
      'refuseRspProdOverflowAtOnce',
      'refuseRspProdOverflow',
      'noEoiAfterError',
    ],
  },
  // Spurious notifications: blkif_interrupt finds nothing and returns.
  eventStorm: {
    side: 'blkback',
    target: anyBackRing,
    perform: be.eventStorm,
    defences: ['keepOwnLimits'],
  },
  // XSA-391: a backend that notifies again each time blkif_interrupt has EOI'd, with nothing
  // behind it: the late EOI flagged spurious throttles the channel (xen_irq_lateeoi).
  floodEvents: {
    side: 'blkback',
    target: frontRingNotPending,
    perform: be.floodEvents,
    defences: ['keepOwnLimits', 'throttleSpuriousEvents'],
  },
  // negotiate_mq clamps multi-queue-max-queues to its own max_queues.
  lyingQueueCountMax: {
    side: 'blkback',
    target: beforeFeaturesRead,
    perform: be.lie,
    defences: ['keepOwnLimits'],
  },
  // talk_to_blkback clamps max-ring-page-order to xen_blkif_max_ring_order.
  lyingRingPageOrderMax: {
    side: 'blkback',
    target: beforeFeaturesRead,
    perform: be.lie,
    defences: ['keepOwnLimits'],
  },
  // blkfront_gather_backend_features clamps feature-max-indirect-segments to its max_indirect_segments.
  lyingIndirectSegmentsMax: {
    side: 'blkback',
    target: beforeFeaturesRead,
    perform: be.lie,
    defences: ['keepOwnLimits'],
  },
  // XSA-396: gnttab_try_end_foreign_access fails while mapped; blkfront must not free the page.
  keepGrantMapped: {
    side: 'blkback',
    target: connectedBusyBackRing,
    perform: be.keepGrantMapped,
    defences: ['keepMappedPage'],
  },
  // The 2021 "read response from backend only once": a published response rewritten before the
  // copy, or after it while blkif_interrupt holds the copy (RING_COPY_RESPONSE's window).
  rewriteResponse: {
    side: 'blkback',
    target: frontRingWithUnreadOrHeldResponse,
    perform: be.rewriteResponse,
    defences: ['refuseForgedResponse', 'noEoiAfterError'],
  },
  // blkfront_connect: xenbus_gather of sectors/info/sector-size fails, "reading backend fields".
  spoilDeviceInfo: {
    side: 'blkback',
    target: beforeDeviceInfoRead,
    perform: be.spoilDeviceInfo,
    defences: ['refuseMissingDeviceInfo'],
  },
  // XSA-396: a mapping made between blkif_completion's query and its end of access; a completion
  // that queries first (gnttab_query_foreign_access) ends a grant the backend maps by then.
  mapDuringRevocation: {
    side: 'blkback',
    target: frontRingRevoking,
    perform: be.mapDuringRevocation,
    defences: ['keepMappedPage'],
  },
  // (Appended: the plan generator draws by position, so earlier rows keep their seeds.)
  // blkback_changed reacts to whatever backend state it reads: a second talk_to_blkback after a
  // close, blkfront_closing, or nothing (a state it has no case for).
  flapBackendState: {
    side: 'blkback',
    target: backendDirPresent,
    perform: be.flapBackendState,
    defences: ['keepOwnLimits'],
  },
  // connect_ring: "guest requested N queues, exceeding the maximum", xenbus_dev_fatal.
  numQueuesAboveMax: {
    side: 'blkfront',
    target: beforeKeysRead,
    perform: fe.numQueuesAboveMax,
    defences: ['refuseBadConnect'],
  },
  // connect_ring refuses num-queues 0 with the same check and message.
  numQueuesZero: {
    side: 'blkfront',
    target: beforeKeysRead,
    perform: fe.numQueuesZero,
    defences: ['refuseBadConnect'],
  },
  // connect_ring: "requested ring page order N exceed max", xenbus_dev_fatal.
  ringPageOrderAboveMax: {
    side: 'blkfront',
    target: beforeKeysRead,
    perform: fe.ringPageOrderAboveMax,
    defences: ['refuseBadConnect'],
  },
  // read_per_ring_refs -> xen_blkif_map: the ring-ref's grant map fails, or maps the wrong page.
  badRingRef: {
    side: 'blkfront',
    target: frontRingBeforeKeysRead,
    perform: fe.badRingRef,
    defences: ['refuseBadConnect'],
  },
  // XSA-155: blkback validates a private copy (RING_COPY_REQUEST), never the slot.
  rewriteRequest: {
    side: 'blkfront',
    target: busyBackRing,
    perform: fe.rewriteRequest,
    defences: ['accountEveryRequest'],
  },
  // RING_REQUEST_PROD_OVERFLOW in __do_block_io_op: blkback halts the ring.
  reqProdBeyondRing: {
    side: 'blkfront',
    target: anyFrontRing,
    perform: fe.reqProdBeyondRing,
    defences: ['accountEveryRequest', 'haltOnReqProdOverflow', 'noEoiAfterHalt'],
  },
  // dispatch_rw_block_io / dispatch_other_io refuse malformed requests with an error status.
  garbageRequest: {
    side: 'blkfront',
    target: frontRingWithFreeSlot,
    perform: fe.garbageRequest,
    defences: ['accountEveryRequest', 'refuseGarbage'],
  },
  // frontend_changed reacts to the state it reads; a value it has no case for is fatal.
  flapState: {
    side: 'blkfront',
    target: anyFrontRing,
    perform: fe.flapState,
    defences: ['accountEveryRequest', 'refuseBadConnect'],
  },
  // connect_ring checks ring_page_order against xen_blkif_max_ring_order before any ring-refN.
  ringPageOrderWithRefs: {
    side: 'blkfront',
    target: beforeKeysRead,
    perform: fe.ringPageOrderWithRefs,
    defences: ['refuseBadConnect'],
  },
  // xen_blkbk_parse_indirect reads each descriptor once, after RING_COPY_REQUEST: a descriptor
  // page rewritten after publication is judged as read then (last_sect outside the page).
  rewriteIndirect: {
    side: 'blkfront',
    target: ringWithUnparsedIndirect,
    perform: fe.rewriteIndirect,
    defences: ['accountEveryRequest', 'refuseGarbage'],
  },
  // xen_blkbk_map fails on a late data grant (direct, or in an indirect request's first batch):
  // exactly that request fails (BLKIF_RSP_ERROR) and what it mapped is unmapped (XSA-365).
  mapFailure: {
    side: 'blkfront',
    target: frontRingWithFreeSlot,
    perform: fe.garbageRequest,
    defences: ['accountEveryRequest', 'refuseGarbage'],
  },
  // XSA-332: a guest that notifies again each time blkback's ring thread has EOI'd, with nothing
  // published behind it: the late EOI flagged spurious throttles the channel (xen_irq_lateeoi).
  floodBackendEvents: {
    side: 'blkfront',
    target: frontRingPeerNotPending,
    perform: fe.floodBackendEvents,
    defences: ['accountEveryRequest', 'throttleBackendEvents'],
  },
} as const satisfies Record<string, AttackRow>;

export type HostileAttack = keyof typeof ATTACKS;
type AttackOf<S extends HostileSide> = {
  [A in HostileAttack]: (typeof ATTACKS)[A]['side'] extends S ? A : never;
}[HostileAttack];
export type BackendAttack = AttackOf<'blkback'>;
export type FrontendAttack = AttackOf<'blkfront'>;

const NAMES = Object.keys(ATTACKS) as HostileAttack[];
/** What a hostile backend domain can do (section 10, "be ..." rows), in table order. */
export const BACKEND_ATTACKS = NAMES.filter(
  (a) => ATTACKS[a].side === 'blkback',
) as readonly BackendAttack[];
/** What a hostile frontend (guest) can do (section 10, "fe ..." rows), in table order. */
export const FRONTEND_ATTACKS = NAMES.filter(
  (a) => ATTACKS[a].side === 'blkfront',
) as readonly FrontendAttack[];

export function attacksOf(side: HostileSide): readonly HostileAttack[] {
  assert(side === 'blkback' || side === 'blkfront', 'a hostile side');
  return side === 'blkback' ? BACKEND_ATTACKS : FRONTEND_ATTACKS;
}

/** The row of `name`, or undefined when no attack is called that (a hand-edited plan). */
function rowOf(name: string): AttackRow | undefined {
  const row: AttackRow | undefined = Object.hasOwn(ATTACKS, name)
    ? ATTACKS[name as HostileAttack]
    : undefined;
  assert(row === undefined || row.defences.length > 0, 'every attack has a defence to judge');
  return row;
}

export function isAttackOf(side: HostileSide, name: unknown): name is HostileAttack {
  assert(side === 'blkback' || side === 'blkfront', 'a validated side');
  return typeof name === 'string' && rowOf(name)?.side === side;
}

/** Every defence the attacks of a hostile `side` call for: what the honest side is judged on. */
export function defencesAgainst(side: HostileSide): ReadonlySet<Defence> {
  const out = new Set<Defence>();
  for (const name of attacksOf(side)) for (const d of ATTACKS[name].defences) out.add(d);
  assert(out.size > 0, 'every side has attacks with defences');
  return out;
}

/** Attacks possible now, appended after the honest actions (they are faults), in plan order. */
export function attackActions(world: World, out: HostileAction[]): void {
  const plan = world.config.hostile;
  const record = world.adversary;
  if (plan === undefined || record === undefined || !guestRuns(world)) return;
  assert(record.used.length === plan.attacks.length, 'one shot per spec of the plan');
  // A paced adversary offers only its next spec, and only once the honest side has settled.
  const next = plan.paced === true ? record.used.indexOf(false) : 0;
  if (next < 0 || (plan.paced === true && !honestSideSettled(world, plan.side))) return;
  const end = plan.paced === true ? next + 1 : plan.attacks.length;
  for (let i = next; i < end; i++) {
    if (record.used[i]) continue;
    // A flood under way goes on past the budget: it was counted at its first notification.
    if (record.taken >= plan.budget && (record.floodShots[i] ?? 0) === 0) continue;
    const spec = plan.attacks[i]!;
    // validateHostilePlan refuses unknown names; an unvalidated plan's are never enabled.
    const ring = rowOf(spec.attack)?.target(world, spec);
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

/** Take an enabled attack: spend its spec, write, and count it when it changed something. */
export function performAttack(world: World, action: HostileAction): void {
  const plan = world.config.hostile;
  const record = world.adversary;
  assert(plan !== undefined && record !== undefined, 'attacks happen only in a hostile run');
  const row = rowOf(action.attack);
  assert(row !== undefined && row.side === action.side, 'enabled attacks are the plan side’s');
  spendSpec(record, plan, action);
  if (row.perform(world, record, action)) noteEffective(record, action.attack);
}

/** One line for reports and renderers. */
export function describeAttack(a: HostileAction): string {
  assert(a.kind === 'attack', 'an attack action');
  return `hostile ${a.side} ring ${a.ring}: ${a.attack} (${a.value})`;
}
