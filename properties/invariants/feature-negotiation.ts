// Per session, the feature negotiation as the protocol states it (blkif.h and the drivers'
// documented rules), computed here from both sides' parameters and never through
// model/negotiate.ts, the code under test: each side advertises what it can do now (its current
// parameter, not an earlier session's result), the limits are there before blkback's InitWait,
// and a connected frontend uses ring order = min of both, indirect segments = min of both (off
// at 11 or fewer), persistent grants only when both parameters allow them.
import { XenbusState } from '../../model/xenbus-state.ts';
import { BE } from '../../model/xenstore-keys.ts';
import { BACKEND_DOMID, backendPath } from '../../model/xenstore-paths.ts';
import type { World } from '../../impl/world/world.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { honestRun } from './runs.ts';
import type { Violation } from './violation.ts';

/** blkif.h: up to 11 segments go in the request itself; indirect descriptors only above that. */
const DIRECT_SEGMENTS = 11;
/** XENBUS_MAX_RING_GRANT_ORDER: blkfront lowers max_ring_page_order to 4 at load. */
const RING_ORDER_CAP = 4;

function judgeAdvertisement(world: World, out: Violation[]): void {
  const back = world.host.back;
  if (back.removed || !back.snapshot.context.bound) return;
  const dir = backendPath(world.guestDomid);
  const state = world.xs.read(BACKEND_DOMID, `${dir}/${BE.state}`);
  if (!state.ok || Number(state.value) < XenbusState.InitWait) return;
  const cfg = back.config;
  const expected: readonly [string, number | undefined][] = [
    [BE.multiQueueMaxQueues, cfg.queueCountMax],
    [BE.maxRingPageOrder, cfg.ringPageOrderMax],
    [BE.featureMaxIndirectSegments, cfg.indirectSegmentsMax],
  ];
  for (const [key, value] of expected) {
    const read = world.xs.read(BACKEND_DOMID, `${dir}/${key}`);
    const got = read.ok ? read.value : undefined;
    const want = value === undefined ? undefined : String(value);
    if (got === want) continue;
    out.push({
      code: 'feature-negotiation',
      step: world.stepCount,
      key,
      message: `blkback in state ${state.value} advertises ${key} = ${got ?? 'absent'}; its current parameter is ${want ?? 'unset (not advertised)'}`,
    });
  }
}

function judgeSession(world: World, out: Violation[]): void {
  const front = world.front;
  const back = world.host.back;
  if (front.device.connection !== 'connected' || front.cachedState !== XenbusState.Connected)
    return;
  if (back.removed || back.cachedState !== XenbusState.Connected) return;
  const fe = world.config.frontend;
  const be = back.config;
  const dev = front.device;
  const order = Math.min(Math.min(fe.ringPageOrderMax, RING_ORDER_CAP), be.ringPageOrderMax ?? 0);
  const segments = Math.min(fe.indirectSegmentsMax, be.indirectSegmentsMax ?? 0);
  const indirect = segments <= DIRECT_SEGMENTS ? 0 : segments;
  const persistent = fe.persistent && be.persistent;
  const wrong = (what: string, got: unknown, want: unknown): void => {
    out.push({
      code: 'feature-negotiation',
      step: world.stepCount,
      message: `connected with ${what} ${String(got)}; both sides' parameters give ${String(want)}`,
    });
  };
  if (dev.ringPageOrder !== order) wrong('ring-page-order', dev.ringPageOrder, order);
  if (dev.features.indirectSegments !== indirect)
    wrong('indirect segments', dev.features.indirectSegments, indirect);
  if (dev.features.persistent !== persistent)
    wrong('persistent grants', dev.features.persistent, persistent);
  if (back.persistent !== persistent)
    wrong('blkback persistent grants', back.persistent, persistent);
}

/** Advertisements and the session only change with xenstore writes: recheck when the store did. */
class NegotiationChecker implements InvariantChecker {
  private writes = -1;
  private result: Violation[] = [];

  check(world: World): readonly Violation[] {
    const writes = world.xs.writeCount;
    if (this.writes === writes) return this.result;
    const out: Violation[] = [];
    judgeAdvertisement(world, out);
    judgeSession(world, out);
    this.result = out;
    this.writes = writes;
    return out;
  }
}

export const featureNegotiation: Invariant = {
  code: 'feature-negotiation',
  phase: 'step',
  summary:
    'each side advertises its current parameters (limits before InitWait); a session uses min ring order, min indirect segments (off at 11), persistent grants only when both allow',
  when: honestRun,
  start: () => new NegotiationChecker(),
};
