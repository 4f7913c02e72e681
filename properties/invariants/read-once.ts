// XSA-155 and the 2021 blkfront hardening: an honest reader fetches each field of a shared slot
// (a request, a response, an indirect descriptor) once into private memory, checks that copy and
// uses only it; it never fetches a field again (the peer can change it between the two reads)
// and never reads back what it wrote itself (blkfront once copied its request back from the
// ring page into its shadow). The readers' logs (impl/xen/slot-reads.ts) count every fetch;
// this judges them after every step, in every run: the rule is the reader's own, whoever the
// peer is.
import type { SlotReads } from '../../impl/xen/slot-reads.ts';
import type { World } from '../../impl/world/world.ts';
import { stateless } from './invariant.ts';
import { NO_VIOLATIONS, type Violation } from './violation.ts';

function judge(world: World, reader: string, ring: number, log: SlotReads): Violation | undefined {
  const f = log.finding;
  if (f === undefined) return undefined;
  const message =
    f.what === 'read-back'
      ? `${reader} read back the ${f.entry} it wrote itself at ring index ${f.index} (${f.field})`
      : `${reader} fetched ${f.field} of the ${f.entry} at ring index ${f.index} from shared memory twice`;
  return { code: 'read-once', step: world.stepCount, ring, message };
}

export const readOnce = stateless({
  code: 'read-once',
  phase: 'step',
  summary: 'no honest reader fetches a field of a shared slot twice or reads back what it wrote',
  check: (world) => {
    // An array only with a finding: most checks find nothing.
    let out: readonly Violation[] = NO_VIOLATIONS;
    for (const rinfo of world.front.device.rings) {
      const v = judge(world, 'blkfront', rinfo.index, rinfo.front.reads);
      if (v !== undefined) out = [...out, v];
    }
    for (const ring of world.host.back.rings) {
      const v = judge(world, 'blkback', ring.index, ring.back.reads);
      if (v !== undefined) out = [...out, v];
    }
    return out;
  },
});
