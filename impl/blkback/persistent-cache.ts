// xen_blkbk_map / xen_blkbk_unmap and the per-ring persistent-grant tree (get_persistent_gnt,
// add_persistent_gnt, put_persistent_gnt, purge_persistent_gnt). With persistent grants a mapping
// outlives its request and is reused by reference; without them every mapping is unmapped before
// the response. The tree holds at most max_persistent_grants entries and is purged of idle ones.
import { assert, maybe } from '../assert.ts';
import {
  type BlkifRequest,
  type BlkifSegment,
  readIndirectSegment,
  SEGS_PER_INDIRECT_FRAME,
} from '../xen/blkif-abi.ts';
import type { GrantError, GrantMapping, GrantRef } from '../xen/grant-table.ts';
import { PAGE_SIZE } from '../xen/memory.ts';
import { noteDescriptorReads } from '../xen/shared-ring.ts';
import type { BackEnv, BackRingState, MappedSegment } from './back-ring.ts';

/**
 * A segment in flight: its mapping, not a view of the page (the granter's memory resolves it on
 * use), so a fork of a world with I/O in flight copies no guest page it does not touch.
 */
class Segment implements MappedSegment {
  constructor(
    private readonly mapping: GrantMapping,
    readonly firstSect: number,
    readonly lastSect: number,
    readonly persistent: boolean,
  ) {}

  get gref(): GrantRef {
    return this.mapping.ref;
  }

  get page(): Uint8Array {
    return this.mapping.page;
  }

  get writable(): boolean {
    return this.mapping.writable;
  }
}

/** Map every data segment; on any failure unmap what was mapped and report (XSA-365's lesson). */
export function mapSegments(
  ring: BackRingState,
  requestId: number,
  descriptors: readonly BlkifSegment[],
  isRead: boolean,
  env: BackEnv,
): MappedSegment[] | undefined {
  maybe(descriptors.length === 0); // a flush carries no data
  const mapped: MappedSegment[] = [];
  // xen_blkbk_map: GNTMAP_readonly only when grants are one-shot (!use_persistent_gnts) and the
  // request writes to disk (the backend only reads guest memory); a persistent one may serve a
  // READ later.
  const writable = env.features.persistent || isRead;
  maybe(writable);
  for (const seg of descriptors) {
    const page = mapOne(ring, seg.gref, writable, env);
    if (page === undefined) {
      releaseSegments(ring, mapped, env);
      env.report({
        side: 'blkback',
        code: 'grant-map-failed',
        ring: ring.index,
        requestId,
        gref: seg.gref,
        message: `cannot map grant ${seg.gref} of request id ${requestId}`,
      });
      return undefined;
    }
    mapped.push(new Segment(page.mapping, seg.firstSect, seg.lastSect, page.persistent));
  }
  assert(mapped.length === descriptors.length, 'request %s: segments not all mapped', requestId);
  return mapped;
}

function mapOne(
  ring: BackRingState,
  gref: number,
  writable: boolean,
  env: BackEnv,
): { mapping: GrantMapping; persistent: boolean } | undefined {
  if (env.features.persistent) {
    const known = ring.persistent.get(gref);
    maybe(known !== undefined);
    if (known !== undefined && !known.active) {
      assert(known.mapping.ref === gref, 'persistent tree files grant %s elsewhere', gref);
      // get_persistent_gnt: active again, one more in use.
      known.active = true;
      ring.persistentInUse += 1;
      return { mapping: known.mapping, persistent: true };
    }
    // Found but active: the frontend reused a reference still in use; map it one-shot instead.
  }
  const mapping = env.gnttab.map(gref, env.domid, writable);
  if (!mapping.ok) return undefined;
  const keep = env.drivers.keepPersistent(ring, gref, env);
  if (keep) {
    // add_persistent_gnt: in the tree, active, in use.
    ring.persistent.set(gref, { mapping: mapping.value, active: true, recentlyUsed: true });
    ring.persistentInUse += 1;
  } else if (env.features.persistent && ring.persistent.size >= env.features.persistentGrantsMax) {
    // xen_blkbk_map: "is using maximum number of persistent grants".
    ring.vbd.overflowMaxGrants = true;
  }
  // The tree's limit is judged by the persistent-cache invariant, not asserted (a variant may
  // break it).
  assert(ring.persistentInUse <= ring.persistent.size, 'ring %s: in use past the tree', ring.index);
  return { mapping: mapping.value, persistent: keep };
}

/**
 * The backend's persistent-grant policy for a grant it just mapped (add_persistent_gnt): keep the
 * mapping in the ring's tree past the request, or unmap it when the request ends. Honest: only
 * with persistent grants negotiated, a reference not already in the tree, and room below
 * max_persistent_grants. Pure: reads env.features and `ring.persistent`; the caller inserts.
 */
export function keepPersistent(ring: BackRingState, gref: number, env: BackEnv): boolean {
  assert(
    ring.persistent.size <= env.features.persistentGrantsMax,
    'ring %s: persistent tree past max_pgrants',
    ring.index,
  );
  return (
    env.features.persistent &&
    !ring.persistent.has(gref) &&
    ring.persistent.size < env.features.persistentGrantsMax
  );
}

/** Persistent mappings go idle; one-shot mappings are unmapped. */
export function releaseSegments(
  ring: BackRingState,
  segments: readonly MappedSegment[],
  env: BackEnv,
): void {
  for (const seg of segments) {
    maybe(seg.persistent);
    if (seg.persistent) {
      const entry = ring.persistent.get(seg.gref);
      assert(
        entry !== undefined,
        'ring %s: persistent grant %s not in the tree',
        ring.index,
        seg.gref,
      );
      assert(entry.active, 'ring %s: persistent grant %s released twice', ring.index, seg.gref);
      // put_persistent_gnt: idle, last_used now, one fewer in use.
      entry.active = false;
      entry.recentlyUsed = true;
      ring.persistentInUse -= 1;
      assert(ring.persistentInUse >= 0, 'ring %s: persistent_gnt_in_use < 0', ring.index);
    } else {
      // xen_blkbk_unmap: our own mapping, so the hypervisor cannot refuse it.
      const unmapped = env.gnttab.unmap(seg.gref, env.domid);
      assert(unmapped.ok, 'ring %s: one-shot grant %s was not mapped', ring.index, seg.gref);
    }
  }
}

/**
 * xen_blkbk_parse_indirect: map the indirect pages (read-only), read each descriptor exactly once
 * into private memory, unmap the pages at once.
 */
export function readIndirectSegments(
  ring: BackRingState,
  req: BlkifRequest & { kind: 'indirect' },
  env: BackEnv,
): BlkifSegment[] | undefined {
  const pageCount = Math.ceil(req.nrSegments / SEGS_PER_INDIRECT_FRAME);
  // validate() bounded nr_segments on the private copy before any page is mapped.
  assert(req.nrSegments >= 1, 'request %s: indirect with no segments', req.id);
  if (pageCount > req.indirectGrefs.length) return undefined;
  const segments: BlkifSegment[] = [];
  for (let p = 0; p < pageCount; p++) {
    const gref = req.indirectGrefs[p]!;
    const mapping = env.gnttab.map(gref, env.domid, false);
    if (!mapping.ok) {
      env.report({
        side: 'blkback',
        code: 'grant-map-failed',
        ring: ring.index,
        requestId: req.id,
        gref,
        message: `cannot map indirect page grant ${gref} of request id ${req.id}`,
      });
      return undefined;
    }
    const page = mapping.value.page;
    const view = new DataView(page.buffer, page.byteOffset, PAGE_SIZE);
    const end = Math.min(req.nrSegments - p * SEGS_PER_INDIRECT_FRAME, SEGS_PER_INDIRECT_FRAME);
    for (let i = 0; i < end; i++) {
      segments.push(readIndirectSegment(view, i));
      noteDescriptorReads(ring.back, gref, p * SEGS_PER_INDIRECT_FRAME + i);
    }
    const unmapped = env.gnttab.unmap(gref, env.domid);
    assert(unmapped.ok, 'ring %s: indirect page grant %s was not mapped', ring.index, gref);
  }
  assert(segments.length === req.nrSegments, 'request %s: descriptors not all read', req.id);
  return segments;
}

/**
 * free_persistent_gnts: unmap the whole tree (disconnect, or a host that abandons its I/O). The
 * unmaps' results are returned, not asserted: release-once judges them (a second release of the
 * same tree finds nothing mapped, and that is the error to report at the release).
 */
export function freePersistentGrants(ring: BackRingState, env: BackEnv): ('ok' | GrantError)[] {
  const results: ('ok' | GrantError)[] = [];
  for (const [gref, entry] of ring.persistent) {
    maybe(entry.active); // I/O the host abandoned (migration, a dead backend) leaves it active
    const unmapped = env.gnttab.unmap(gref, env.domid);
    results.push(unmapped.ok ? 'ok' : unmapped.error);
  }
  const size = ring.persistent.size;
  ring.persistent.clear();
  ring.persistentInUse = 0;
  assert(results.length === size, 'ring %s: one unmap per persistent grant', ring.index);
  assert(ring.persistent.size === 0, 'ring %s: persistent grants left after free', ring.index);
  return results;
}

/** LRU_PERCENT_CLEAN: the share of max_persistent_grants a purge of a full tree removes. */
export const LRU_PERCENT_CLEAN = 5;

/**
 * purge_persistent_gnt, run by the ring thread (xen_blkif_schedule, every LRU_INTERVAL): remove
 * every idle entry that timed out; when the tree is full and a grant could not be kept
 * (overflow_max_grants), also idle ones that did not, lowest reference first, until
 * (count - max) + LRU_PERCENT_CLEAN % of max are gone. An active entry (counted in
 * persistent_gnt_in_use) is never removed: its request's I/O still goes through the mapping.
 * The removed entries are unmapped at once (Linux queues them for xen_blkbk_unmap_purged_grants;
 * off the tree they are idle and unreachable, so only the moment of the unmap differs). Time is
 * counted in purge passes (recentlyUsed). Returns the references unmapped.
 */
export function purgePersistentGrants(ring: BackRingState, env: BackEnv): GrantRef[] {
  const max = env.features.persistentGrantsMax;
  const count = ring.persistent.size;
  const full = count > max || (count === max && ring.vbd.overflowMaxGrants);
  const clean = full ? Math.min(count, count - max + Math.floor(max / 100) * LRU_PERCENT_CLEAN) : 0;
  const purged: GrantRef[] = [];
  for (const [gref, entry] of ring.persistent)
    if (!entry.active && !entry.recentlyUsed) purged.push(gref);
  if (purged.length < clean) {
    // The rb-tree's order: ascending references.
    const used = [...ring.persistent].filter(([, e]) => !e.active && e.recentlyUsed);
    used.sort((a, b) => a[0] - b[0]);
    for (const [gref] of used.slice(0, clean - purged.length)) purged.push(gref);
  }
  for (const gref of purged) {
    ring.persistent.delete(gref);
    const unmapped = env.gnttab.unmap(gref, env.domid);
    assert(unmapped.ok, 'ring %s: purged persistent grant %s was not mapped', ring.index, gref);
  }
  maybe(purged.length > 0);
  if (purged.length > 0) ring.vbd.overflowMaxGrants = false;
  // The pass takes its time: what it keeps idle has not been used since.
  for (const entry of ring.persistent.values()) entry.recentlyUsed = false;
  assert(ring.persistent.size === count - purged.length, 'ring %s: purge miscounted', ring.index);
  assert(ring.persistentInUse <= ring.persistent.size, 'ring %s: in use past the tree', ring.index);
  return purged;
}
