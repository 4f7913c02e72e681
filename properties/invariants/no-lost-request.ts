// Invariant 22, liveness half: at quiescence every request the guest submitted has completed
// (successfully or with an error), unless the frontend legitimately disabled a broken device.
import type { World } from '../../impl/world/world.ts';
import type { BlockRequest } from '../../impl/blkfront/block-request.ts';
import { stateless } from './invariant.ts';
import { honestRun } from './runs.ts';

/** Where a pending request sits, in protocol terms (for the message only, never the verdict). */
function whereIs(
  world: World,
  request: BlockRequest,
): { ring?: number; requestId?: number; where: string } {
  for (const rinfo of world.front.device.rings) {
    const id = rinfo.shadow.findIndex((s) => s.request?.tag === request.tag);
    if (id >= 0)
      return {
        ring: rinfo.index,
        requestId: id,
        where: `in flight on ring ${rinfo.index} as request id ${id}`,
      };
    if (rinfo.dispatch.some((r) => r.tag === request.tag))
      return { ring: rinfo.index, where: `waiting in hardware queue ${rinfo.index}` };
  }
  if (world.front.device.captured.some((r) => r.tag === request.tag))
    return { where: 'captured for recovery and never requeued' };
  return { where: 'known to no ring: the driver dropped it' };
}

export const noLostRequest = stateless({
  code: 'no-lost-request',
  phase: 'quiescence',
  when: honestRun,
  summary: 'every submitted request completes (exactly once, see no-duplicate-completion)',
  check(world, ledger) {
    // Only a hostile backend may legitimately leave the device broken with requests pending.
    if (world.front.device.connection === 'error' && world.config.hostile !== undefined) return [];
    const pending = ledger.pending();
    if (pending.length === 0) return [];
    const first = pending[0]!;
    const at = whereIs(world, first);
    return [
      {
        code: 'no-lost-request',
        step: world.stepCount,
        ...(at.ring !== undefined ? { ring: at.ring } : {}),
        ...(at.requestId !== undefined ? { requestId: at.requestId } : {}),
        message: `${pending.length} request(s) never completed; first: guest request ${first.tag} (${first.op} of ${first.sectorCount} sectors at ${first.sector}), ${at.where}`,
      },
    ];
  },
});
