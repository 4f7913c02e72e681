// blkif_completion before XSA-396 (Linux up to 5.17): for each grant gnttab_query_foreign_access,
// and only if that found it unmapped gnttab_end_foreign_access(ref, 0, 0UL). The two are separate
// steps, so the backend can map the grant in between; the end then fails, the reference waits on
// the deferred list, and the completion goes on as if it had ended: the data page goes back to
// the guest (or the bounce page back on rinfo->grants) while the backend still maps it. The fix
// (Juergen Gross, "xen/blkfront: don't use gnttab_query_foreign_access() for mapped status")
// ends with gnttab_try_end_foreign_access, one check-and-end whose failure is handled.
import type { BlkfrontDevice, FrontEnv } from '../../impl/blkfront/device.ts';
import { returnGrantSlot } from '../../impl/blkfront/grants.ts';
import { copyBouncedRead, endRequest } from '../../impl/blkfront/interrupt.ts';
import { INVALID_GRANT_REF, type RingInfo } from '../../impl/blkfront/ring-info.ts';
import type { BlkifResponse } from '../../impl/xen/blkif-abi.ts';
import { variantOf } from './variant.ts';

export const blkfrontQueriesThenEnds = variantOf('blkfront-queries-then-ends', {
  blkfront: {
    completeResponse(dev: BlkfrontDevice, rinfo: RingInfo, rsp: BlkifResponse, env: FrontEnv) {
      if (rinfo.revoking !== undefined) return endQueried(dev, rinfo, env);
      copyBouncedRead(dev, rinfo, rsp, env);
      const shadow = rinfo.shadow[rsp.id]!;
      const slots = shadow.grantsUsed.concat(shadow.indirectGrants);
      if (slots.length === 0) return endRequest(dev, rinfo, rsp, env);
      // The queries; the ends are the handler's next step on this ring.
      const mappedWhenQueried = slots.map((slot) => env.gnttab.isMapped(slot.ref));
      rinfo.revoking = { rsp, mappedWhenQueried };
      return undefined;
    },
  },
});

/** The second half: gnttab_end_foreign_access(ref, 0, 0UL) on each grant found unmapped. */
function endQueried(dev: BlkfrontDevice, rinfo: RingInfo, env: FrontEnv) {
  const revocation = rinfo.revoking!;
  rinfo.revoking = undefined;
  const shadow = rinfo.shadow[revocation.rsp.id]!;
  shadow.grantsUsed.concat(shadow.indirectGrants).forEach((slot, i) => {
    // Mapped when queried: "the backend has chosen to make this grant persistent", kept.
    if (revocation.mappedWhenQueried[i] === false) {
      // The result is not looked at: a grant mapped since the query is only deferred.
      env.gnttab.endForeignAccess(slot.ref);
      slot.ref = INVALID_GRANT_REF;
    }
    returnGrantSlot(rinfo, slot);
  });
  shadow.grantsUsed.length = 0;
  shadow.indirectGrants.length = 0;
  return endRequest(dev, rinfo, revocation.rsp, env);
}
