// xen_blkbk_map / xen_blkbk_unmap and the per-ring persistent-grant tree (get_persistent_gnt,
// add_persistent_gnt, put_persistent_gnt). With persistent grants a mapping outlives its request
// and is reused by reference; without them every mapping is unmapped before the response.
import {
  type BlkifRequest,
  type BlkifSegment,
  readIndirectSegment,
  SEGS_PER_INDIRECT_FRAME,
} from '../xen/blkif-abi.ts';
import { PAGE_SIZE } from '../xen/memory.ts';
import type { BackEnv, BackRingState, MappedSegment } from './back-ring.ts';

/** Map every data segment; on any failure unmap what was mapped and report (XSA-365's lesson). */
export function mapSegments(
  ring: BackRingState,
  requestId: number,
  descriptors: readonly BlkifSegment[],
  isRead: boolean,
  env: BackEnv,
): MappedSegment[] | undefined {
  const mapped: MappedSegment[] = [];
  // Read-only only when grants are one-shot and the backend only reads guest memory.
  const writable = env.features.persistent || isRead;
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
    mapped.push({
      gref: seg.gref,
      page: page.page,
      firstSect: seg.firstSect,
      lastSect: seg.lastSect,
      persistent: page.persistent,
    });
  }
  return mapped;
}

function mapOne(
  ring: BackRingState,
  gref: number,
  writable: boolean,
  env: BackEnv,
): { page: Uint8Array; persistent: boolean } | undefined {
  if (env.features.persistent) {
    const known = ring.persistent.get(gref);
    if (known !== undefined && !known.active) {
      known.active = true;
      return { page: known.mapping.page, persistent: true };
    }
    // Found but active: the frontend reused a reference still in use; map it one-shot instead.
  }
  const mapping = env.gnttab.map(gref, env.domid, writable);
  if (!mapping.ok) return undefined;
  const keep =
    env.features.persistent &&
    !ring.persistent.has(gref) &&
    ring.persistent.size < env.features.persistentGrantsMax;
  if (keep) ring.persistent.set(gref, { mapping: mapping.value, active: true });
  return { page: mapping.value.page, persistent: keep };
}

/** Persistent mappings go idle; one-shot mappings are unmapped. */
export function releaseSegments(
  ring: BackRingState,
  segments: readonly MappedSegment[],
  env: BackEnv,
): void {
  for (const seg of segments) {
    if (seg.persistent) {
      const entry = ring.persistent.get(seg.gref);
      if (entry !== undefined) entry.active = false;
    } else {
      env.gnttab.unmap(seg.gref, env.domid);
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
    for (let i = 0; i < end; i++) segments.push(readIndirectSegment(view, i));
    env.gnttab.unmap(gref, env.domid);
  }
  return segments;
}

/** free_persistent_gnts: unmap the whole tree (disconnect). Active entries must not exist here. */
export function freePersistentGrants(ring: BackRingState, env: BackEnv): void {
  for (const gref of ring.persistent.keys()) env.gnttab.unmap(gref, env.domid);
  ring.persistent.clear();
}
