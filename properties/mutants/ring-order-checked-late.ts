// connect_ring that reads and maps the ring-refN keys before it checks ring-page-order against
// xen_blkif_max_ring_order (as if the limit were only the grant-table's): a frontend with an order
// above the maximum gets a refusal for the keys it lacks, or a connection, not "requested ring
// page order N exceed max".
import { validateFrontendKeys } from '../../model/negotiate.ts';
import { variantOf } from './variant.ts';

/** Far above any order blkback advertises: the order check never fires. */
const NO_ORDER_LIMIT = 16;

export const ringOrderCheckedLate = variantOf('blkback-ring-order-checked-late', {
  blkback: {
    validateFrontendKeys: (read, limits, frontendPath) =>
      validateFrontendKeys(read, { ...limits, ringPageOrderMax: NO_ORDER_LIMIT }, frontendPath),
  },
});
