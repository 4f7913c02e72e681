// blkfront_resume (capture before the rings are freed), blkif_free, and blkif_recover (requeue on
// the new rings). The order is the 2016 fix "save uncompleted reqs in blkfront_resume()": in 4.6
// the capture ran after the rings had been rebuilt, and in-flight requests were lost.
import { assert } from '../assert.ts';
import type { BlockRequest } from './block-request.ts';
import type { BlkfrontDevice, FrontEnv } from './device.ts';
import { fillGrantBuffers, freeRing } from './setup.ts';

/**
 * Take every request attached to a shadow of every ring, and every request still waiting in a
 * hardware queue, onto the device-wide list. Nothing stays tied to an old ring: the block layer
 * will map each onto the new hardware queues.
 */
export function captureInflight(dev: BlkfrontDevice): number {
  const capturedBefore = dev.captured.length;
  let count = 0;
  for (const rinfo of dev.rings) {
    for (const shadow of rinfo.shadow) {
      if (shadow.request === undefined) continue;
      dev.captured.push(shadow.request);
      count += 1;
    }
    for (const request of rinfo.dispatch) dev.captured.push(request);
    count += rinfo.dispatch.length;
    rinfo.dispatch.length = 0;
  }
  assert(dev.captured.length === capturedBefore + count, 'capture lost a request');
  return count;
}

/**
 * blkif_free: end every grant of every ring, close the channels, drop the ring array. Returns the
 * references whose access could not be ended (Linux's deferred list).
 */
export function freeRings(dev: BlkfrontDevice, env: FrontEnv): number[] {
  const deferred: number[] = [];
  for (const rinfo of dev.rings) {
    for (const shadow of rinfo.shadow) {
      // A request still attached here was captured, or the device is going away: its shadow is
      // discarded with the ring; completion (if any) is the captured copy's or the teardown's job.
      shadow.request = undefined;
    }
    deferred.push(...freeRing(rinfo, env));
  }
  dev.rings = [];
  assert(deferred.every(Number.isInteger), 'deferred grant references are references');
  return deferred;
}

/**
 * blkif_recover after the new backend connected: rebuild per-ring grant buffers for the new
 * limits, then hand every captured request back to the block layer, which splits it to the new
 * segment limit and maps it to a hardware queue by the submitting vCPU.
 */
export function requeueCaptured(
  dev: BlkfrontDevice,
  resubmit: (request: BlockRequest) => readonly BlockRequest[],
): number {
  assert(dev.rings.length > 0, 'blkif_recover without rings');
  for (const rinfo of dev.rings) fillGrantBuffers(dev, rinfo);
  // Requests the guest queued on the new rings before the reconnect were sized for the old
  // limits: they go through the block layer again too.
  for (const rinfo of dev.rings) dev.captured.push(...rinfo.dispatch.splice(0));
  const captured = dev.captured.splice(0);
  let count = 0;
  for (const request of captured) {
    for (const piece of resubmit(request)) {
      const rinfo = dev.rings[piece.vcpu % dev.rings.length]!;
      rinfo.dispatch.push(piece);
      count += 1;
    }
  }
  assert(dev.captured.length === 0, 'blkif_recover left captured requests behind');
  return count;
}

/** Device teardown (blkfront_remove / a dead disk): every request the driver still owns fails. */
export function failOutstanding(dev: BlkfrontDevice, env: FrontEnv): number {
  const outstanding: BlockRequest[] = dev.captured.splice(0);
  for (const rinfo of dev.rings) {
    for (const shadow of rinfo.shadow) {
      if (shadow.request === undefined) continue;
      outstanding.push(shadow.request);
      // Detached: a late response for this id finds no request and completes nothing.
      shadow.request = undefined;
    }
    outstanding.push(...rinfo.dispatch.splice(0));
  }
  for (const request of outstanding) env.complete(request, 'error');
  assert(dev.captured.length === 0, 'teardown left captured requests behind');
  return outstanding.length;
}
