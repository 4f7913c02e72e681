// No leak: no byte a peer can read is something it was not meant to read. A domain's private
// memory carries a mark in every word (impl/xen/memory.ts privateWord: a recycled page, what
// alloc_page without __GFP_ZERO hands out, and the guest's data pages around a request); a peer
// may read intended data, zeros and what it was shown before, never a marked word.
//
// - XSA-403 (CVE-2022-26365, CVE-2022-33742): blkfront zeroes every page it shares (2f446ffe9d73
//   "xen/blkfront: fix leaking data in shared pages": bounce and indirect pages) and, when the
//   toolstack writes trusted = 0, bounces data through those pages, since a 4 KiB grant shows the
//   backend the whole guest page (2400617da7ee "xen/blkfront: force data bouncing when backend
//   is untrusted"). A trusted backend may see the guest's own data pages whole; nothing else.
// - XSA-216 (CVE-2017-10911): blkback's make_response copied a response built on its stack, with
//   the padding's stale bytes, onto the ring; since 089bc0143f48 ("xen-blkback: don't leak stack
//   data via response ring") it writes id, operation and status into the slot directly.
//
// Where it looks, and why there: a peer gains read access to a request slot and to the pages it
// names when blkfront writes that slot (req_prod_pvt passes it; the grants were made in the same
// dispatch step), and to a response slot when blkback writes it (rsp_prod_pvt). So each step
// reads two indices per ring and scans only slots written since the last step and the pages
// they name; no step walks memory. It reads what a real peer would: the slot, then each granted
// page through the grant table (as a map would), the data pages of an indirect request through
// its indirect pages. A hostile side's own writes are not judged (it leaks to no one but itself).
import type { WorldConfig } from '../../impl/world/config.ts';
import type { World } from '../../impl/world/world.ts';
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { BackRingState } from '../../impl/blkback/back-ring.ts';
import {
  type BlkifAbi,
  type BlkifRequest,
  readIndirectSegment,
  SEGS_PER_INDIRECT_FRAME,
} from '../../impl/xen/blkif-abi.ts';
import { findWord, PAGE_SIZE, privateWord } from '../../impl/xen/memory.ts';
import { entryOffset } from '../../impl/xen/shared-ring.ts';
import { ringIdxAdd, ringIdxDistance, type RingIdx } from '../../impl/xen/ring-index.ts';
import type { Ledger } from '../ledger.ts';
import type { Action } from '../../impl/world/action.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { newRunScope, type RingChanges } from './ring-changes.ts';
import { FindingList, type Violation } from './violation.ts';

/** Per ring index: the ring's identity and the producer index judged up to, per side. */
interface Seen {
  /** blkfront's ring page frame (new rings after a reconnect have new frames). */
  frontFrame: number[];
  reqProdPvt: number[];
  /** blkback's ring instance (its serial). */
  backSerial: number[];
  rspProdPvt: number[];
}

type PageKind = 'data' | 'indirect';

interface Judge {
  readonly world: World;
  readonly ledger: Ledger;
  readonly ring: number;
  readonly guestWord: number;
  /** trusted = 0: no page of the guest's may be shown whole. */
  readonly untrusted: boolean;
}

function leak(j: Judge, gref: number | undefined, message: string): Violation {
  const v: Violation = { code: 'no-leak', step: j.world.stepCount, ring: j.ring, message };
  return gref === undefined ? v : { ...v, gref };
}

/** One page granted to the backend, as its map would show it. */
function judgePage(j: Judge, gref: number, kind: PageKind, idx: RingIdx): Violation | undefined {
  const entry = j.world.guestGnttab.entry(gref);
  // Not granted: the backend's map fails and shows nothing.
  if (entry === undefined || !j.world.guestMemory.isAllocated(entry.frame)) return undefined;
  if (kind === 'data' && !j.untrusted && j.ledger.isBufferFrame(entry.frame)) return undefined;
  const page = j.world.guestMemory.page(entry.frame);
  const view = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
  const at = findWord(view, 0, PAGE_SIZE, j.guestWord);
  if (at < 0) return undefined;
  const whose = j.ledger.isBufferFrame(entry.frame)
    ? "one of the guest's own data pages, shown whole to an untrusted backend (trusted = 0)"
    : 'a page blkfront shares (bounce or indirect) that was not zeroed';
  return leak(
    j,
    gref,
    `the ${kind} page behind gref ${gref} of the request at ring index ${idx} holds the guest's private data at byte ${at}: ${whose}`,
  );
}

/** The data grants of an indirect request, read from its indirect pages as blkback would. */
function indirectDataGrefs(j: Judge, req: BlkifRequest & { kind: 'indirect' }): number[] {
  const out: number[] = [];
  for (let p = 0; p < req.indirectGrefs.length; p++) {
    const entry = j.world.guestGnttab.entry(req.indirectGrefs[p]!);
    if (entry === undefined || !j.world.guestMemory.isAllocated(entry.frame)) continue;
    const page = j.world.guestMemory.page(entry.frame);
    const view = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
    const end = Math.min(req.nrSegments - p * SEGS_PER_INDIRECT_FRAME, SEGS_PER_INDIRECT_FRAME);
    for (let s = 0; s < end; s++) out.push(readIndirectSegment(view, s).gref);
  }
  return out;
}

/** The request slot blkfront wrote at `idx` and every page it names. */
function judgeRequest(j: Judge, rinfo: RingInfo, abi: BlkifAbi, idx: RingIdx) {
  const sring = rinfo.front.sring;
  const offset = entryOffset(sring, idx);
  const at = findWord(sring.view, offset, sring.entrySize, j.guestWord);
  if (at >= 0)
    return leak(
      j,
      undefined,
      `the request slot at ring index ${idx} holds the guest's private data at byte ${at} of the slot (the request was not written whole)`,
    );
  const copied = abi.copyRequest(sring.view, offset);
  if (!copied.ok) return undefined;
  const req = copied.value;
  if (req.kind === 'rw') {
    for (const seg of req.segments) {
      const v = judgePage(j, seg.gref, 'data', idx);
      if (v !== undefined) return v;
    }
  } else if (req.kind === 'indirect') {
    for (const gref of req.indirectGrefs) {
      const v = judgePage(j, gref, 'indirect', idx);
      if (v !== undefined) return v;
    }
    for (const gref of indirectDataGrefs(j, req)) {
      const v = judgePage(j, gref, 'data', idx);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** The response slot blkback wrote at `idx`: id, operation, status, and the padding between. */
function judgeResponse(world: World, ring: BackRingState, idx: RingIdx): Violation | undefined {
  const env = world.host.env;
  const sring = ring.back.sring;
  const word = privateWord(env.domid);
  const at = findWord(sring.view, entryOffset(sring, idx), env.abi.responseSize, word);
  if (at < 0) return undefined;
  return {
    code: 'no-leak',
    step: world.stepCount,
    ring: ring.index,
    message: `the response slot at ring index ${idx} holds blkback's own private data at byte ${at} (padding copied from its memory, XSA-216)`,
  };
}

/**
 * The slots a producer wrote since `from` (at most one ring's worth: a producer further ahead
 * broke ring-bounds, which says so), each judged; the index judged up to is returned.
 */
function judgeWritten(
  from: number,
  to: RingIdx,
  size: number,
  judge: (idx: RingIdx) => Violation | undefined,
  out: Violation[],
): RingIdx {
  const count = Math.min(ringIdxDistance(from as RingIdx, to), size);
  for (let k = count; k > 0; k--) {
    const v = judge(ringIdxAdd(to, -k));
    if (v !== undefined) {
      out.push(v);
      break;
    }
  }
  return to;
}

function checkFront(
  world: World,
  ledger: Ledger,
  rinfo: RingInfo,
  seen: Seen,
  out: Violation[],
): void {
  const i = rinfo.index;
  if (seen.frontFrame[i] !== rinfo.ringFrame) {
    seen.frontFrame[i] = rinfo.ringFrame;
    seen.reqProdPvt[i] = 0;
  }
  const to = rinfo.front.reqProdPvt;
  if (seen.reqProdPvt[i] === to) return;
  const j: Judge = {
    world,
    ledger,
    ring: i,
    guestWord: privateWord(world.guestMemory.domid),
    untrusted: world.config.faults.backendUntrusted === true,
  };
  const abi = world.front.env.abi;
  const judge = (idx: RingIdx) => judgeRequest(j, rinfo, abi, idx);
  seen.reqProdPvt[i] = judgeWritten(seen.reqProdPvt[i]!, to, rinfo.front.size, judge, out);
}

function checkBack(world: World, ring: BackRingState, seen: Seen, out: Violation[]): void {
  const i = ring.index;
  const to = ring.back.rspProdPvt;
  // A new instance attaches at the ring's rsp_prod: what it wrote before is another's.
  if (seen.backSerial[i] !== ring.serial) {
    seen.backSerial[i] = ring.serial;
    seen.rspProdPvt[i] = to;
  }
  if (seen.rspProdPvt[i] === to) return;
  const judge = (idx: RingIdx) => judgeResponse(world, ring, idx);
  seen.rspProdPvt[i] = judgeWritten(seen.rspProdPvt[i]!, to, ring.back.size, judge, out);
}

/**
 * Remembers, per ring, only indices the world had after the last step (plain data). Each ring's
 * identity and producer index are among the run's shared comparison's numbers (the honest
 * sides' rings): after a step only the rings it changed can have written a slot.
 */
class NoLeakChecker implements InvariantChecker {
  /** This check's findings (a list kept from step to step, see FindingList). */
  private readonly findings = new FindingList();
  private readonly seen: Seen = { frontFrame: [], reqProdPvt: [], backSerial: [], rspProdPvt: [] };
  private readonly frontHonest: boolean;
  private readonly backHonest: boolean;

  constructor(
    config: WorldConfig,
    private readonly changes: RingChanges,
  ) {
    this.frontHonest = config.hostile?.side !== 'blkfront';
    this.backHonest = config.hostile?.side !== 'blkback';
  }

  check(world: World, ledger: Ledger, action?: Action): readonly Violation[] {
    const out = this.findings.start();
    const front = world.front.device.rings;
    const back = world.host.back.rings;
    const now = action === undefined ? undefined : this.changes.update(world);
    const all = now === undefined || now.all;
    if (this.frontHonest) {
      if (all) for (const rinfo of front) checkFront(world, ledger, rinfo, this.seen, out);
      else
        for (let k = 0; k < now.frontCount; k++)
          checkFront(world, ledger, front[now.front[k]!]!, this.seen, out);
    }
    if (this.backHonest) {
      if (all) for (const ring of back) checkBack(world, ring, this.seen, out);
      else
        for (let k = 0; k < now.backCount; k++)
          checkBack(world, back[now.back[k]!]!, this.seen, out);
    }
    return this.findings.take();
  }
}

export const noLeak: Invariant = {
  code: 'no-leak',
  phase: 'step',
  summary:
    "no request slot, granted page or response slot shows a peer the other domain's private data (XSA-403, XSA-216)",
  start: (config, scope) => new NoLeakChecker(config, (scope ?? newRunScope()).changes),
};
