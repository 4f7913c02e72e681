// Ring throughput: how many request/response round trips per second the shared ring and the
// blkif ABI sustain, the hot path of every world step that moves I/O. Two figures:
// indices only (push, consume, notify checks, final checks), and the same cycle with each
// request written and privately copied, and each response written and copied, in x86_64-abi.
import {
  BLKIF_OP_READ,
  BLKIF_RSP_OKAY,
  type BlkifRequest,
  X86_64_ABI,
} from '../impl/xen/blkif-abi.ts';
import { ringIdxAdd } from '../impl/xen/ring-index.ts';
import {
  type BackRing,
  backRingAttach,
  entryOffset,
  type FrontRing,
  finalCheckForRequests,
  finalCheckForResponses,
  frontRingInit,
  pushRequestsAndCheckNotify,
  pushResponsesAndCheckNotify,
  sharedRingAttach,
  sharedRingInit,
  unconsumedRequests,
  unconsumedResponses,
} from '../impl/xen/shared-ring.ts';
import { interleave } from './interleave.ts';
import type { BenchFigure } from './main.ts';

const BATCH = 8; // requests per push: blk-mq hands blkfront small batches

function newPair(): { front: FrontRing; back: BackRing } {
  const sring = sharedRingAttach(new DataView(new ArrayBuffer(4096)), X86_64_ABI.entrySize);
  sharedRingInit(sring);
  return { front: frontRingInit(sring), back: backRingAttach(sring) };
}

/** One round trip of BATCH requests; `withData` adds the slot encode/copy work. */
function cycle(front: FrontRing, back: BackRing, withData: boolean, req: BlkifRequest): number {
  const view = front.sring.view;
  let notifies = 0;
  for (let i = 0; i < BATCH; i++) {
    if (withData) {
      req.id = front.reqProdPvt;
      X86_64_ABI.writeRequest(view, entryOffset(front.sring, front.reqProdPvt), req);
    }
    front.reqProdPvt = ringIdxAdd(front.reqProdPvt, 1);
  }
  if (pushRequestsAndCheckNotify(front)) notifies++;
  do {
    while (unconsumedRequests(back) > 0) {
      if (withData) {
        const copy = X86_64_ABI.copyRequest(view, entryOffset(back.sring, back.reqCons));
        if (copy.ok)
          X86_64_ABI.writeResponse(view, entryOffset(back.sring, back.rspProdPvt), {
            id: copy.value.id,
            operation: copy.value.operation,
            status: BLKIF_RSP_OKAY,
          });
      }
      back.reqCons = ringIdxAdd(back.reqCons, 1);
      back.rspProdPvt = ringIdxAdd(back.rspProdPvt, 1);
    }
    if (pushResponsesAndCheckNotify(back)) notifies++;
  } while (finalCheckForRequests(back));
  do {
    while (unconsumedResponses(front) > 0) {
      if (withData) X86_64_ABI.copyResponse(view, entryOffset(front.sring, front.rspCons));
      front.rspCons = ringIdxAdd(front.rspCons, 1);
    }
  } while (finalCheckForResponses(front));
  return notifies;
}

/** A bench variant's work: 1,000 round trips of BATCH requests on one ring pair; returns requests. */
export function ringRoundTrips(withData: boolean): () => number {
  const { front, back } = newPair();
  const req: BlkifRequest = {
    kind: 'rw',
    operation: BLKIF_OP_READ,
    nrSegments: 1,
    handle: 0,
    id: 0,
    sectorNumber: 0,
    segments: [{ gref: 8, firstSect: 0, lastSect: 7 }],
  };
  return () => {
    let notifies = 0;
    for (let i = 0; i < 1000; i++) notifies += cycle(front, back, withData, req);
    if (notifies === 0) throw new Error('bench ring never notified: the cycle is broken');
    return 1000 * BATCH;
  };
}

export function run(): BenchFigure[] {
  const rates = interleave(
    [
      { name: 'indices', work: ringRoundTrips(false) },
      { name: 'data', work: ringRoundTrips(true) },
    ],
    { rounds: 5, sliceSeconds: 0.1 },
  );
  return [
    {
      label: 'ring: request round trips, indices + notify checks',
      value: rates.get('indices')!,
      unit: 'req/s',
    },
    {
      label: 'ring: request round trips, x86_64 encode + private copy',
      value: rates.get('data')!,
      unit: 'req/s',
    },
  ];
}
