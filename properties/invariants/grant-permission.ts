// Grant permissions (xen/common/grant_table.c: a GNTMAP_readonly mapping gets no write permission;
// Linux's xen_blkbk_map asks for it when grants are one-shot and the request writes to disk). The
// backend never writes through a mapping it made read-only: the guest's grant table records every
// write a mapper attempted through a read-only mapping (GrantTable.writeThrough, where Xen's page
// tables would fault the writer), and each is reported at the step it happened.
import type { World } from '../../impl/world/world.ts';
import type { Ledger } from '../ledger.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { NO_VIOLATIONS, type Violation } from './violation.ts';

class PermissionChecker implements InvariantChecker {
  /** How far into the guest grant table's refused writes this checker has judged. */
  private seen = 0;

  check(world: World, _ledger: Ledger): readonly Violation[] {
    const faults = world.guestGnttab.faultedWrites();
    if (faults.length === this.seen) return NO_VIOLATIONS;
    const out: Violation[] = [];
    for (; this.seen < faults.length; this.seen++) {
      const f = faults[this.seen]!;
      out.push({
        code: 'grant-permission',
        step: world.stepCount,
        gref: f.ref,
        message: `domain ${f.mapper} wrote through its read-only mapping of domain ${world.guestDomid}'s grant ${f.ref}`,
      });
    }
    return out;
  }
}

export const grantPermission: Invariant = {
  code: 'grant-permission',
  phase: 'step',
  summary: 'no domain writes through a grant mapping it made read-only (GNTMAP_readonly)',
  // A hostile backend's writes go straight to the pages it attacks; only the honest one maps.
  when: (config) => config.hostile?.side !== 'blkback',
  start: () => new PermissionChecker(),
};
