import { describe, expect, it } from 'vitest';
import { GrantTable } from '../xen/grant-table.ts';
import { DomainMemory } from '../xen/memory.ts';
import type { BackEnv, BackRingState } from './back-ring.ts';
import { LRU_PERCENT_CLEAN, purgePersistentGrants } from './persistent-cache.ts';

const GUEST = 1;
const BACKEND = 0;

/** A ring whose tree holds `count` mapped grants (what purge_persistent_gnt reads and changes). */
function treeOf(count: number, max: number) {
  const memory = new DomainMemory(GUEST);
  const gnttab = new GrantTable(GUEST, memory, 4096);
  const persistent: BackRingState['persistent'] = new Map();
  for (let i = 0; i < count; i++) {
    const ref = gnttab.grantAccess(BACKEND, memory.allocPages(1), false);
    if (!ref.ok) throw new Error(ref.error);
    const mapping = gnttab.map(ref.value, BACKEND, true);
    if (!mapping.ok) throw new Error(mapping.error);
    persistent.set(ref.value, { mapping: mapping.value, active: false, recentlyUsed: true });
  }
  const ring = { index: 0, persistent, persistentInUse: 0, vbd: { overflowMaxGrants: false } };
  const env = { domid: BACKEND, gnttab, features: { persistentGrantsMax: max } };
  return { ring: ring as unknown as BackRingState, env: env as unknown as BackEnv, gnttab };
}

describe('purge_persistent_gnt', () => {
  it('a full tree that overflowed loses (count - max) + 5 % of max idle entries, lowest first', () => {
    const { ring, env, gnttab } = treeOf(100, 100);
    expect(purgePersistentGrants(ring, env)).toEqual([]); // full, but no overflow: nothing
    ring.vbd.overflowMaxGrants = true;
    for (const entry of ring.persistent.values()) entry.recentlyUsed = true;
    const refs = [...ring.persistent.keys()].sort((a, b) => a - b);
    const purged = purgePersistentGrants(ring, env);
    expect(purged).toEqual(refs.slice(0, (100 / 100) * LRU_PERCENT_CLEAN));
    expect(ring.persistent.size).toBe(95);
    expect(ring.vbd.overflowMaxGrants).toBe(false);
    for (const ref of purged) expect(gnttab.isMapped(ref)).toBe(false);
  });

  it('below the limit only entries idle through a whole pass go, never an active one', () => {
    const { ring, env } = treeOf(4, 8);
    const [a, b] = [...ring.persistent.values()];
    a!.active = true;
    ring.persistentInUse = 1;
    expect(purgePersistentGrants(ring, env)).toEqual([]);
    b!.recentlyUsed = true; // put_persistent_gnt between the passes
    expect(purgePersistentGrants(ring, env).length).toBe(2);
    expect([...ring.persistent.values()]).toEqual([a, b]);
    expect(purgePersistentGrants(ring, env).length).toBe(1);
    expect([...ring.persistent.values()]).toEqual([a]);
  });

  it("one ring's overflow makes a sibling at the limit purge: the flag is the vbd's", () => {
    const a = treeOf(100, 100);
    const b = treeOf(100, 100);
    const vbd = { overflowMaxGrants: false };
    a.ring.vbd = vbd;
    b.ring.vbd = vbd;
    vbd.overflowMaxGrants = true; // xen_blkbk_map on ring a found its tree full
    expect(purgePersistentGrants(b.ring, b.env).length).toBe(LRU_PERCENT_CLEAN);
    // b's purge cleared the device's flag: a, also at the limit, now keeps its entries.
    expect(vbd.overflowMaxGrants).toBe(false);
    expect(purgePersistentGrants(a.ring, a.env)).toEqual([]);
  });
});
