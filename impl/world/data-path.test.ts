import { describe, expect, it } from 'vitest';
import type { BackEnv, BackRingState } from '../blkback/back-ring.ts';
import { connectRing, releaseRing, ringBusy } from '../blkback/connect.ts';
import { Disk } from '../blkback/disk.ts';
import {
  canConsume,
  completeIo,
  consumeRequest,
  finalCheck as backFinalCheck,
  needsFinalCheck,
  wake,
} from '../blkback/ring-worker.ts';
import { purgePersistentGrants as purgeBack } from '../blkback/persistent-cache.ts';
import type { BlockRequest } from '../blkfront/block-request.ts';
import type { BlkfrontDevice, DriverReport, FrontEnv, Outcome } from '../blkfront/device.ts';
import { finalCheck, processResponses } from '../blkfront/interrupt.ts';
import { purgePersistentGrants as purgeFront } from '../blkfront/purge.ts';
import { queueRequest } from '../blkfront/queue-request.ts';
import { fillGrantBuffers, freeRing, setupRing } from '../blkfront/setup.ts';
import { X86_64_ABI } from '../xen/blkif-abi.ts';
import { EventChannels } from '../xen/event-channel.ts';
import { GrantTable } from '../xen/grant-table.ts';
import { DomainMemory } from '../xen/memory.ts';
import { HONEST_DRIVERS } from './drivers.ts';
import { createGuest, issueItem, completeToGuest, type GuestObserver } from './block-layer.ts';

// Both drivers over one ring, driven by a fixed round-robin loop: a smoke test of the data path
// below the control plane (the world's tests cover schedules).
function harness(persistent: boolean, indirectSegments: number) {
  const reports: DriverReport[] = [];
  const completed = new Map<number, { outcome: Outcome; data: Uint8Array | undefined }>();
  const observer: GuestObserver = {
    submitted: () => {},
    completed: (r, outcome, data) => {
      expect(completed.has(r.tag)).toBe(false);
      completed.set(r.tag, { outcome, data: data?.slice() });
    },
  };
  const guestMemory = new DomainMemory(1);
  const gnttab = new GrantTable(1, guestMemory, 65536);
  const evtchn = new EventChannels();
  const guest = createGuest(1, [], observer);
  const fenv: FrontEnv = {
    domid: 1,
    backendDomid: 0,
    memory: guestMemory,
    gnttab,
    evtchn,
    abi: X86_64_ABI,
    drivers: HONEST_DRIVERS.blkfront,
    peerMayRewrite: false,
    complete: (r: BlockRequest, o: Outcome) => completeToGuest(guest, r, o, guestMemory),
    report: (r) => reports.push(r),
  };
  const dev: BlkfrontDevice = {
    handle: 51712,
    rings: [],
    ringPageOrder: 0,
    connection: 'connected',
    backendTrusted: true,
    bounce: persistent,
    captured: [],
    features: { persistent, indirectSegments, flush: 'flush', discard: true, discardSecure: false },
  };
  const setup = setupRing(0, 0, fenv);
  if (!setup.ok) throw new Error(setup.message);
  const rinfo = setup.ring;
  dev.rings.push(rinfo);
  fillGrantBuffers(dev, rinfo);
  const benv: BackEnv = {
    domid: 0,
    frontendDomid: 1,
    gnttab,
    frontendMemory: guestMemory,
    evtchn,
    abi: X86_64_ABI,
    disk: new Disk(4096, false),
    drivers: HONEST_DRIVERS.blkback,
    peerMayRewrite: false,
    report: (r) => reports.push(r),
    features: {
      persistent,
      persistentGrantsMax: 1056,
      indirectSegmentsMax: 256,
      flush: true,
      barrier: true,
      discard: true,
    },
  };
  const connected = connectRing(0, rinfo.ringRefs, rinfo.port, benv);
  if (!connected.ok) throw new Error(connected.message);
  return {
    dev,
    rinfo,
    back: connected.ring,
    fenv,
    benv,
    guest,
    guestMemory,
    gnttab,
    evtchn,
    reports,
    completed,
  };
}

function run(h: ReturnType<typeof harness>, requests: BlockRequest[]): void {
  const queue = [...requests];
  for (let round = 0; round < 100_000; round++) {
    let progressed = false;
    const head = queue[0];
    if (head !== undefined && queueRequest(h.dev, h.rinfo, head, h.fenv).kind === 'queued') {
      queue.shift();
      progressed = true;
    }
    const back: BackRingState = h.back;
    if (h.evtchn.deliver(0, back.port)) {
      wake(back);
      progressed = true;
    }
    if (canConsume(back)) {
      consumeRequest(back, h.benv);
      progressed = true;
    } else if (needsFinalCheck(back)) {
      backFinalCheck(back);
      progressed = true;
    }
    const slot = back.inflight.keys().next();
    if (!slot.done) {
      completeIo(back, slot.value, h.benv);
      progressed = true;
    }
    if (h.evtchn.deliver(1, h.rinfo.port)) {
      let r = processResponses(h.dev, h.rinfo, h.fenv);
      while (r === 'finalCheck' && finalCheck(h.dev, h.rinfo, h.fenv))
        r = processResponses(h.dev, h.rinfo, h.fenv);
      progressed = true;
    }
    if (!progressed && queue.length === 0 && back.worker === 'sleeping') return;
  }
  throw new Error('no quiescence');
}

describe.each([
  { persistent: false, indirect: 0 },
  { persistent: true, indirect: 0 },
  { persistent: true, indirect: 32 },
  { persistent: false, indirect: 32 },
])(
  'data path over one ring (persistent $persistent, indirect $indirect)',
  ({ persistent, indirect }) => {
    it('writes then reads back stamped data, completing each request once', () => {
      const h = harness(persistent, indirect);
      const limit = indirect > 0 ? indirect : 11;
      const items = [
        { vcpu: 0, op: 'write' as const, sector: 0, sectorCount: 8 * limit, offsetSectors: 0 },
        { vcpu: 0, op: 'write' as const, sector: 300, sectorCount: 5, offsetSectors: 3 },
        { vcpu: 0, op: 'flush' as const, sector: 0, sectorCount: 0, offsetSectors: 0 },
        { vcpu: 0, op: 'read' as const, sector: 0, sectorCount: 8 * limit, offsetSectors: 0 },
        { vcpu: 0, op: 'read' as const, sector: 300, sectorCount: 5, offsetSectors: 6 },
      ];
      const guest = createGuest(1, items, h.guest.observer);
      const requests = items.flatMap(() => issueItem(guest, 0, limit, h.guestMemory));
      // issueItem used a second guest for tags; complete through the harness guest's edge.
      h.guest.nextTag = guest.nextTag;
      run(h, requests.slice(0, 3));
      run(h, requests.slice(3));
      expect(h.reports).toEqual([]);
      expect(h.completed.size).toBe(requests.length);
      for (const r of requests) expect(h.completed.get(r.tag)?.outcome).toBe('ok');
      const bigRead = h.completed.get(requests[3]!.tag)!.data!;
      const view = new DataView(bigRead.buffer);
      for (let s = 0; s < 8 * limit; s++) {
        expect(view.getUint32(s * 512, true)).toBe(requests[0]!.tag);
        expect(view.getUint32(s * 512 + 4, true)).toBe(s);
      }
      const smallRead = new DataView(h.completed.get(requests[4]!.tag)!.data!.buffer);
      expect(smallRead.getUint32(2 * 512 + 4, true)).toBe(302);
      expect(h.rinfo.inflightCount).toBe(0);
      // Without persistent grants every data grant has been ended; with them the backend keeps maps.
      if (!persistent) expect(h.gnttab.mappedCount(0)).toBe(1); // only the ring page
      expect(ringBusy(h.back)).toBe(false);
      const release = releaseRing(h.back, h.benv, 0);
      expect(h.gnttab.mappedCount(0)).toBe(0);
      expect(release.channelClosed).toBe('ok');
      expect(release.ringUnmapped).toEqual(['ok']);
      expect(release.persistentUnmapped.every((r) => r === 'ok')).toBe(true);
      expect(release.pendingFree.length).toBe(release.pendingCount);
      // A second release of the same ring is refused by both the hypervisor calls.
      const again = releaseRing(h.back, h.benv, 1);
      expect(again.channelClosed).toBe('closed');
      expect(again.ringUnmapped).toEqual(['not-mapped']);
      expect(freeRing(h.rinfo, h.fenv)).toEqual([]);
      expect(h.gnttab.grantedCount()).toBe(0);
    });
  },
);

describe('persistent grants purged on both sides (purge_persistent_gnt, purge_persistent_grants)', () => {
  it('the backend unmaps idle entries after a pass they stayed idle through; blkfront then ends them', () => {
    const h = harness(true, 0);
    const item = { vcpu: 0, op: 'write' as const, sector: 0, sectorCount: 16, offsetSectors: 0 };
    const guest = createGuest(1, [item, item], h.guest.observer);
    const requests = issueItem(guest, 0, 11, h.guestMemory);
    h.guest.nextTag = guest.nextTag;
    run(h, requests);
    const kept = h.back.persistent.size;
    expect(kept).toBe(2);
    expect(h.rinfo.persistentGntsC).toBe(2);
    expect(h.back.persistentInUse).toBe(0);
    // Nothing unmapped yet: blkfront's purge ends nothing.
    expect(purgeFront(h.dev, h.fenv)).toBe(0);
    // The first pass finds both used since the last one; the second removes them.
    expect(purgeBack(h.back, h.benv)).toEqual([]);
    expect(purgeBack(h.back, h.benv).length).toBe(kept);
    expect(h.gnttab.mappedCount(0)).toBe(1); // only the ring page
    expect(purgeFront(h.dev, h.fenv)).toBe(kept);
    expect(h.rinfo.persistentGntsC).toBe(0);
    expect(h.gnttab.grantedCount()).toBe(1); // only the ring page
    // The next request grants and maps afresh, and is kept again.
    const more = issueItem(guest, 0, 11, h.guestMemory);
    h.guest.nextTag = guest.nextTag;
    run(h, more);
    expect(h.completed.get(more[0]!.tag)?.outcome).toBe('ok');
    expect(h.back.persistent.size).toBe(kept);
  });

  it('never removes an entry a request in flight uses', () => {
    const h = harness(true, 0);
    const items = [{ vcpu: 0, op: 'write' as const, sector: 0, sectorCount: 8, offsetSectors: 0 }];
    const guest = createGuest(1, items, h.guest.observer);
    const [request] = issueItem(guest, 0, 11, h.guestMemory);
    h.guest.nextTag = guest.nextTag;
    expect(queueRequest(h.dev, h.rinfo, request!, h.fenv).kind).toBe('queued');
    expect(h.evtchn.deliver(0, h.back.port)).toBe(true);
    wake(h.back);
    consumeRequest(h.back, h.benv);
    expect(h.back.persistentInUse).toBe(1);
    for (let pass = 0; pass < 3; pass++) expect(purgeBack(h.back, h.benv)).toEqual([]);
    expect(h.back.persistent.size).toBe(1);
  });
});
