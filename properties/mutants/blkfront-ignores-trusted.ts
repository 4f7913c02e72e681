// info->bounce as blkfront set it before 2400617da7ee ("xen/blkfront: force data bouncing when
// backend is untrusted", XSA-403 / CVE-2022-33742): only persistent grants bounce, so against an
// untrusted backend without them the guest's own data pages are granted whole, with whatever
// else of the guest's lies around (and, for a read, under) the request's sectors.
import { variantOf } from './variant.ts';

export const blkfrontIgnoresTrusted = variantOf('blkfront-ignores-trusted', {
  blkfront: { bounces: (_backendTrusted: boolean, persistent: boolean) => persistent },
});
