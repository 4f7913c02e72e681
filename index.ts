// blkif-model's public API: what a user's driver variant imports (`import { variantOf } from
// 'blkif-model'`). A variant is the honest Drivers table with some routines replaced; `blkif check
// --drivers ./my-driver.ts` runs the properties on it. docs/your-driver.md walks through one.
export {
  type BlkbackDrivers,
  type BlkfrontDrivers,
  type Drivers,
  HONEST_DRIVERS,
} from './impl/world/drivers.ts';
export { type Replacements, variantOf } from './properties/mutants/variant.ts';
