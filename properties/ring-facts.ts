// The ring facts a reviewer of a lost wake-up needs, derived for traces from the world around a
// step rather than told by the drivers (a variant under test cannot misreport them): each push
// of a producer index with the peer's event index it was compared with and whether an event was
// actually sent (ring.h's RING_PUSH_*_AND_CHECK_NOTIFY, then notify_remote_via_irq), and each
// final check with the event index it armed and what was left on the ring when it decided
// (RING_FINAL_CHECK_FOR_*). Computed only when a run records; the fast path never calls this.
import type { Action } from '../impl/world/action.ts';
import type { Observation, World } from '../impl/world/world.ts';
import type { Port } from '../impl/xen/event-channel.ts';
import type { DomId } from '../impl/xen/memory.ts';
import { ringIdxDistance } from '../impl/xen/ring-index.ts';
import { reqEvent, reqProd, rspEvent, rspProd, type SharedRing } from '../impl/xen/shared-ring.ts';

/** One ring's shared indices and both ends' send counts before a step. */
export interface RingMark {
  readonly ring: number;
  readonly sring: SharedRing;
  readonly reqProd: number;
  readonly rspProd: number;
  readonly front: { readonly dom: DomId; readonly port: Port; readonly sends: number };
  readonly back: { readonly dom: DomId; readonly port: Port; readonly sends: number } | undefined;
}

/** The marks to compare with after the step. */
export function markRings(world: World): RingMark[] {
  return world.front.device.rings.map((rinfo) => {
    const dom = world.guestDomid;
    const peer = world.evtchn.peerOf(dom, rinfo.port);
    return {
      ring: rinfo.index,
      sring: rinfo.front.sring,
      reqProd: reqProd(rinfo.front.sring),
      rspProd: rspProd(rinfo.front.sring),
      front: { dom, port: rinfo.port, sends: world.evtchn.sendCount(dom, rinfo.port) },
      back:
        peer === undefined
          ? undefined
          : { ...peer, sends: world.evtchn.sendCount(peer.dom, peer.port) },
    };
  });
}

function sent(world: World, end: RingMark['front'] | undefined): boolean {
  return end !== undefined && world.evtchn.sendCount(end.dom, end.port) > end.sends;
}

/**
 * Whether each end sleeps with no event pending for it: blkfront's ring out of its handler (irq
 * idle), blkback's ring thread asleep in xen_blkif_schedule's wait.
 */
function consumersAsleep(
  world: World,
  index: number,
  mark: RingMark,
): { frontend: boolean; backend: boolean } {
  const rinfo = world.front.device.rings.find((r) => r.index === index);
  const ring = world.host.back.rings.find((r) => r.index === index);
  const back = mark.back;
  return {
    frontend:
      rinfo !== undefined &&
      rinfo.irq === 'idle' &&
      !world.evtchn.isPending(mark.front.dom, mark.front.port),
    backend:
      ring !== undefined &&
      back !== undefined &&
      ring.worker === 'sleeping' &&
      !world.evtchn.isPending(back.dom, back.port),
  };
}

/** Pushes and bare notifications on every ring that was there before and after the step. */
function pushFacts(world: World, marks: readonly RingMark[], out: Observation[]): void {
  for (const rinfo of world.front.device.rings) {
    const mark = marks.find((m) => m.ring === rinfo.index && m.sring === rinfo.front.sring);
    if (mark === undefined) continue;
    const s = rinfo.front.sring;
    const ring = rinfo.index;
    const frontSent = sent(world, mark.front);
    const backSent = sent(world, mark.back);
    const asleep = consumersAsleep(world, rinfo.index, mark);
    if (reqProd(s) !== mark.reqProd) {
      const to = reqProd(s);
      out.push({
        kind: 'push',
        side: 'frontend',
        ring,
        from: mark.reqProd,
        to,
        event: reqEvent(s),
        notified: frontSent,
        peerAsleep: asleep.backend,
      });
    } else if (frontSent) out.push({ kind: 'notify', side: 'frontend', ring });
    if (rspProd(s) !== mark.rspProd) {
      const to = rspProd(s);
      out.push({
        kind: 'push',
        side: 'backend',
        ring,
        from: mark.rspProd,
        to,
        event: rspEvent(s),
        notified: backSent,
        peerAsleep: asleep.frontend,
      });
    } else if (backSent) out.push({ kind: 'notify', side: 'backend', ring });
  }
}

/** What a final check left behind: the event index armed, the work on the ring, its decision. */
function finalCheckFact(world: World, action: Action): Observation | undefined {
  if (action.kind !== 'finalCheck') return undefined;
  if (action.actor === 'blkfront') {
    const rinfo = world.front.device.rings.find((r) => r.index === action.ring);
    if (rinfo === undefined) return undefined;
    const s = rinfo.front.sring;
    return {
      kind: 'finalCheck',
      side: 'frontend',
      ring: action.ring,
      armed: rspEvent(s),
      unconsumed: ringIdxDistance(rinfo.front.rspCons, rspProd(s)),
      again: rinfo.irq === 'responses',
    };
  }
  const ring = world.host.back.rings.find((r) => r.index === action.ring);
  if (ring === undefined) return undefined;
  const s = ring.back.sring;
  return {
    kind: 'finalCheck',
    side: 'backend',
    ring: action.ring,
    armed: reqEvent(s),
    unconsumed: ringIdxDistance(ring.back.reqCons, reqProd(s)),
    again: ring.worker !== 'sleeping',
  };
}

/** The facts of the step just taken, to append to its observations. */
export function ringFacts(world: World, action: Action, marks: readonly RingMark[]): Observation[] {
  const out: Observation[] = [];
  const check = finalCheckFact(world, action);
  if (check !== undefined) out.push(check);
  pushFacts(world, marks, out);
  return out;
}
