// The guest above blkfront: vCPUs issuing a workload through the block layer, and the guest edge
// where every request is submitted and completed. An observer (the properties' ledger) watches
// this edge; it never looks at blkfront's shadows to decide what should have happened.
import { assert } from '../assert.ts';
import { type BlockRequest, SECTOR_SIZE, SECTORS_PER_PAGE } from '../blkfront/block-request.ts';
import type { Outcome } from '../blkfront/device.ts';
import type { DomainMemory } from '../xen/memory.ts';
import type { WorkloadItem } from './config.ts';

export interface GuestObserver {
  submitted(request: BlockRequest): void;
  /** `data` holds the request's bytes (the read result) and is valid only during the call. */
  completed(request: BlockRequest, outcome: Outcome, data: Uint8Array | undefined): void;
}

interface SplitParent {
  readonly request: BlockRequest;
  remaining: number;
  outcome: Outcome;
}

export interface Guest {
  readonly vcpuCount: number;
  /** Next workload item per vCPU. */
  readonly cursors: number[];
  readonly itemsByVcpu: readonly (readonly WorkloadItem[])[];
  nextTag: number;
  running: boolean;
  readonly splitParents: Map<number, SplitParent>;
  readonly observer: GuestObserver;
  submittedCount: number;
  completedCount: number;
}

export function createGuest(
  vcpuCount: number,
  workload: readonly WorkloadItem[],
  observer: GuestObserver,
): Guest {
  assert(Number.isInteger(vcpuCount) && vcpuCount >= 1, 'a guest of %s vCPUs', vcpuCount);
  const itemsByVcpu: WorkloadItem[][] = Array.from({ length: vcpuCount }, () => []);
  for (const item of workload) {
    // validateConfig keeps every item on a vCPU the guest has.
    assert(item.vcpu >= 0 && item.vcpu < vcpuCount, 'workload item on vCPU %s', item.vcpu);
    itemsByVcpu[item.vcpu]!.push(item);
  }
  assert(
    itemsByVcpu.reduce((n, items) => n + items.length, 0) === workload.length,
    'a workload of %s items spread over the vCPUs',
    workload.length,
  );
  // The configuration's items, frozen per vCPU: a fork shares them.
  return {
    vcpuCount,
    cursors: new Array<number>(vcpuCount).fill(0),
    itemsByVcpu: Object.freeze(itemsByVcpu.map((items) => Object.freeze(items))),
    nextTag: 1,
    running: true,
    splitParents: new Map(),
    observer,
    submittedCount: 0,
    completedCount: 0,
  };
}

export function hasWork(guest: Guest, vcpu: number): boolean {
  return guest.cursors[vcpu]! < guest.itemsByVcpu[vcpu]!.length;
}

/**
 * The block layer turns one workload item into requests that fit the device's segment limit
 * (blk_queue_max_segments), each with its own data buffer; writes carry stamped data.
 */
export function issueItem(
  guest: Guest,
  vcpu: number,
  segmentLimit: number,
  memory: DomainMemory,
): BlockRequest[] {
  const item = guest.itemsByVcpu[vcpu]?.[guest.cursors[vcpu]!];
  assert(item !== undefined, 'vCPU %s issues past its workload', vcpu);
  assert(segmentLimit >= 1, 'a device of %s segments per request', segmentLimit);
  guest.cursors[vcpu]! += 1;
  const out: BlockRequest[] = [];
  if (item.op === 'flush' || item.op === 'discard') {
    // Requests are frozen: immutable values that a fork of the world shares, never copies.
    out.push(
      Object.freeze({
        tag: guest.nextTag++,
        op: item.op,
        sector: item.sector,
        sectorCount: item.op === 'flush' ? 0 : item.sectorCount,
        vcpu,
        buffer: undefined,
        secure: false,
        parentTag: undefined,
      }),
    );
  } else {
    let sector = item.sector;
    let left = item.sectorCount;
    let offset = item.offsetSectors;
    while (left > 0) {
      const count = Math.min(left, segmentLimit * SECTORS_PER_PAGE - offset);
      const pageCount = Math.ceil((offset + count) / SECTORS_PER_PAGE);
      // blk_queue_max_segments: no request needs more pages than the device takes.
      assert(count > 0 && pageCount <= segmentLimit, 'request of %s pages', pageCount);
      // A bio's pages are ordinary guest memory: around (and, for a read, under) the request's
      // sectors they hold other private data (XSA-403: a 4 KiB grant shows the whole page).
      const buffer = Object.freeze({
        firstFrame: memory.allocRecycledPages(pageCount),
        pageCount,
        offsetBytes: offset * SECTOR_SIZE,
      });
      const request: BlockRequest = Object.freeze({
        tag: guest.nextTag++,
        op: item.op,
        sector,
        sectorCount: count,
        vcpu,
        buffer,
        secure: false,
        parentTag: undefined,
      });
      if (item.op === 'write') stampWrite(request, memory);
      out.push(request);
      sector += count;
      left -= count;
      offset = 0;
    }
  }
  for (const request of out) {
    guest.submittedCount += 1;
    guest.observer.submitted(request);
  }
  return out;
}

/** Words 0 and 1 of every written sector: the writer's tag and the sector number; zeros between. */
export function stampWrite(request: BlockRequest, memory: DomainMemory): void {
  const bytes = requestBytes(request, memory);
  assert(bytes !== undefined, 'write %s without a buffer to stamp', request.tag);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The write's data is every byte of its sectors: what the guest means the disk to hold.
  bytes.fill(0);
  for (let s = 0; s < request.sectorCount; s++) {
    const at = s * SECTOR_SIZE;
    view.setUint32(at, request.tag, true);
    view.setUint32(at + 4, request.sector + s, true);
    view.setUint32(at + SECTOR_SIZE - 4, request.tag ^ (request.sector + s), true);
  }
}

/** The request's data bytes in guest memory (offset to end), or undefined for dataless requests. */
export function requestBytes(request: BlockRequest, memory: DomainMemory): Uint8Array | undefined {
  const buffer = request.buffer;
  if (buffer === undefined) return undefined;
  const view = memory.view(buffer.firstFrame, buffer.pageCount);
  assert(view !== undefined, 'request %s: buffer pages are one allocation', request.tag);
  return new Uint8Array(
    view.buffer,
    view.byteOffset + buffer.offsetBytes,
    request.sectorCount * SECTOR_SIZE,
  );
}

/**
 * Re-submission after resume: the block layer splits a captured request whose data no longer fits
 * the new segment limit into children sharing its pages; the parent completes when they all have.
 */
export function splitForLimit(
  guest: Guest,
  request: BlockRequest,
  segmentLimit: number,
): BlockRequest[] {
  const buffer = request.buffer;
  if (buffer === undefined || buffer.pageCount <= segmentLimit) return [request];
  const children: BlockRequest[] = [];
  let page = 0;
  let sector = request.sector;
  let left = request.sectorCount;
  let offset = buffer.offsetBytes / SECTOR_SIZE;
  while (left > 0) {
    const count = Math.min(left, segmentLimit * SECTORS_PER_PAGE - offset);
    const pageCount = Math.ceil((offset + count) / SECTORS_PER_PAGE);
    // Each child fits the new limit and lies inside its parent's pages.
    assert(count > 0 && pageCount <= segmentLimit, 'split child of %s pages', pageCount);
    assert(page + pageCount <= buffer.pageCount, 'split child past page %s', buffer.pageCount);
    children.push(
      Object.freeze({
        tag: guest.nextTag++,
        op: request.op,
        sector,
        sectorCount: count,
        vcpu: request.vcpu,
        buffer: Object.freeze({
          firstFrame: buffer.firstFrame + page,
          pageCount,
          offsetBytes: offset * SECTOR_SIZE,
        }),
        secure: request.secure,
        parentTag: request.tag,
      }),
    );
    page += pageCount - (offset + count === pageCount * SECTORS_PER_PAGE ? 0 : 1);
    sector += count;
    left -= count;
    offset = (offset + count) % SECTORS_PER_PAGE;
  }
  guest.splitParents.set(request.tag, { request, remaining: children.length, outcome: 'ok' });
  return children;
}

/** blk_mq_end_request: the one place a request completes to the guest. */
export function completeToGuest(
  guest: Guest,
  request: BlockRequest,
  outcome: Outcome,
  memory: DomainMemory,
): void {
  if (request.parentTag !== undefined) {
    const parent = guest.splitParents.get(request.parentTag);
    assert(parent !== undefined, 'split child %s has a parent', request.tag);
    assert(
      parent.remaining >= 1,
      'split parent %s completes with no child left',
      parent.request.tag,
    );
    if (outcome !== 'ok') parent.outcome = outcome;
    parent.remaining -= 1;
    if (parent.remaining > 0) return;
    guest.splitParents.delete(request.parentTag);
    completeToGuest(guest, parent.request, parent.outcome, memory);
    return;
  }
  guest.completedCount += 1;
  // The observer sees every completion, also a second one of a request whose pages the first
  // already freed (a driver bug it must report, not a crash of the guest edge).
  const live = request.buffer === undefined || memory.isAllocated(request.buffer.firstFrame);
  guest.observer.completed(request, outcome, live ? requestBytes(request, memory) : undefined);
  if (request.buffer !== undefined)
    memory.freePages(request.buffer.firstFrame, request.buffer.pageCount);
}
