// Which runs an invariant judges. With a hostile peer, every check that trusts that peer (its
// ring indices, its grants, liveness, the negotiation it reports) does not apply; what the honest
// side must still do is judged by honest-side.
import type { WorldConfig } from '../../impl/world/config.ts';

/** Both peers honest. */
export const honestRun = (config: WorldConfig): boolean => config.hostile === undefined;
/** A hostile peer is present. */
export const hostileRun = (config: WorldConfig): boolean => config.hostile !== undefined;
/**
 * The guest's ledger is honest: both peers, or a hostile backend (a hostile frontend owns the
 * guest, so its completions say nothing about blkback).
 */
export const honestGuest = (config: WorldConfig): boolean => config.hostile?.side !== 'blkfront';
