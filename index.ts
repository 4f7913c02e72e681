// blkif-model's public API: what a user's driver variant imports (`import { variantOf } from
// 'blkif-model'`). A variant is the honest Drivers table with some routines replaced; `blkif check
// --drivers ./my-driver.ts` runs the properties on it. docs/your-driver.md walks through one.
//
// What is here: the table and its seams (impl/world/drivers.ts, each entry's contract beside
// it), the state a seam is handed (blkfront's device, ring and shadows; blkback's ring and
// pending requests; both environments), the honest routines to wrap, and the protocol's words
// a seam speaks (ring indices and ring.h's notify rules, blkif operations and statuses,
// xenstore key names). Everything else is internal and may change.

// --- the table ---
export {
  type BlkbackDrivers,
  type BlkfrontDrivers,
  type Drivers,
  HONEST_DRIVERS,
} from './impl/world/drivers.ts';
export { type Replacements, variantOf } from './properties/mutants/variant.ts';

// --- blkfront: its state, environment and results ---
export type { BlockBuffer, BlockOp, BlockRequest } from './impl/blkfront/block-request.ts';
export {
  type BlkbackReportCode,
  type BlkfrontDevice,
  type BlkfrontReportCode,
  type Connection,
  type DriverReport,
  type DriverReportCode,
  envWith,
  type FlushMode,
  type FrontEnv,
  type FrontFeatures,
  type Outcome,
  type Refusal,
} from './impl/blkfront/device.ts';
export { returnGrantSlot } from './impl/blkfront/grants.ts';
export type { ResponsesResult } from './impl/blkfront/interrupt.ts';
export type { QueueResult } from './impl/blkfront/queue-request.ts';
export {
  type GrantSlot,
  INVALID_GRANT_REF,
  type RingInfo,
  type Shadow,
  type ShadowStatus,
} from './impl/blkfront/ring-info.ts';
export type { BackendLimits as AdvertisedLimits } from './impl/blkfront/xenbus.ts';
export type { FrontendParameters } from './impl/blkfront/xenbus.ts';

// --- blkback: its state, environment and results ---
export type {
  BackEnv,
  BackFeatures,
  BackRingState,
  IoKind,
  MappedSegment,
  PendingRequest,
  PersistentGrant,
} from './impl/blkback/back-ring.ts';
export type { ConnectResult } from './impl/blkback/connect.ts';
export type { CompleteResult, ConsumeResult, RequestCheck } from './impl/blkback/ring-worker.ts';
export type {
  BackendParameters,
  DiskDescription,
  KeyWrite,
} from './impl/blkback/xenbus.ts';

// --- negotiation (model/negotiate.ts) and xenstore key names ---
export {
  type BackendLimits,
  type FrontendKeyReader,
  type FrontendKeys,
  NOT_ADVERTISED,
  type RingKeys,
} from './model/negotiate.ts';
export { BE, FE } from './model/xenstore-keys.ts';

// --- the protocol's words: ring indices, ring.h, blkif.h ---
export { type RingIdx, ringIdxAdd, ringIdxDistance } from './impl/xen/ring-index.ts';
export {
  type BackRing,
  entryOffset,
  finalCheckForRequests,
  finalCheckForResponses,
  type FrontRing,
  mustNotify,
  pushRequestsAndCheckNotify,
  pushResponsesAndCheckNotify,
  reqEvent,
  reqProd,
  rspEvent,
  rspProd,
  setReqEvent,
  setRspEvent,
  type SharedRing,
  unconsumedRequests,
  unconsumedResponses,
} from './impl/xen/shared-ring.ts';
export {
  BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD,
  BLKIF_OP_FLUSH_DISKCACHE,
  BLKIF_OP_INDIRECT,
  BLKIF_OP_READ,
  BLKIF_OP_WRITE,
  BLKIF_OP_WRITE_BARRIER,
  BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR,
  BLKIF_RSP_OKAY,
  type BlkifAbi,
  type BlkifRequest,
  type BlkifResponse,
  type BlkifSegment,
} from './impl/xen/blkif-abi.ts';
export type { GrantRef } from './impl/xen/grant-table.ts';
export type { Port } from './impl/xen/event-channel.ts';
export type { DomId, Frame } from './impl/xen/memory.ts';
