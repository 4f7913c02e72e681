import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../assert.ts';
import {
  GNTTAB_NR_RESERVED_ENTRIES,
  type GrantError,
  type GrantRef,
  GrantTable,
} from './grant-table.ts';
import { DomainMemory, type DomId } from './memory.ts';

const GUEST = 1;
const BACKEND = 0;
const OTHER = 2;

function fresh(refCountMax = 64): { memory: DomainMemory; table: GrantTable } {
  const memory = new DomainMemory(GUEST);
  return { memory, table: new GrantTable(GUEST, memory, refCountMax) };
}

function grant(
  table: GrantTable,
  frame: number,
  readOnly = false,
  grantee: DomId = BACKEND,
): GrantRef {
  const result = table.grantAccess(grantee, frame, readOnly);
  if (!result.ok) throw new Error(`grant failed: ${result.error}`);
  return result.value;
}

describe('GrantTable', () => {
  it('hands out 8, 9, 10... in a fresh table and reuses the last freed reference first', () => {
    const { memory, table } = fresh();
    const frame = memory.allocPages(1);
    expect([grant(table, frame), grant(table, frame), grant(table, frame)]).toEqual([8, 9, 10]);
    expect(table.endAccess(9)).toEqual({ ok: true, value: undefined });
    expect(grant(table, frame)).toBe(9);
    expect(grant(table, frame)).toBe(11);
    expect(table.grantedRefs()).toEqual([8, 9, 10, 11]);
  });

  it('refuses to end access while mapped, and changes nothing', () => {
    const { memory, table } = fresh();
    const ref = grant(table, memory.allocPages(1));
    expect(table.map(ref, BACKEND, true).ok).toBe(true);
    expect(table.endAccess(ref)).toEqual({ ok: false, error: 'still-mapped' });
    expect(table.isGranted(ref)).toBe(true);
    expect(table.mapCount(ref)).toBe(1);
    expect(table.grantedCount(BACKEND)).toBe(1);
    expect(table.unmap(ref, BACKEND).ok).toBe(true);
    expect(table.endAccess(ref).ok).toBe(true);
    expect(table.isGranted(ref)).toBe(false);
    expect(table.endAccess(ref)).toEqual({ ok: false, error: 'not-granted' });
  });

  it('defers the end of a mapped reference and ends it once the grantee unmaps (the deferred list)', () => {
    const { memory, table } = fresh();
    const frame = memory.allocPages(1);
    const idle = grant(table, frame);
    const held = grant(table, frame);
    expect(table.map(held, BACKEND, false).ok).toBe(true);
    expect(table.endForeignAccess(idle)).toBe(true);
    expect(table.endForeignAccess(held)).toBe(false);
    // Deferred: still granted (not reused), and the timer has nothing to end while it is mapped.
    expect(table.isGranted(held)).toBe(true);
    expect(table.deferredRefs()).toEqual([held]);
    expect(table.deferredEndable()).toBe(false);
    expect(table.handleDeferred()).toEqual([]);
    expect(grant(table, frame)).toBe(idle);
    expect(table.unmap(held, BACKEND).ok).toBe(true);
    expect(table.deferredEndable()).toBe(true);
    expect(table.handleDeferred()).toEqual([held]);
    expect(table.isGranted(held)).toBe(false);
    expect(table.deferredRefs()).toEqual([]);
    expect(table.deferredEndable()).toBe(false);
  });

  it('refuses maps by the wrong domain and writable maps of read-only grants', () => {
    const { memory, table } = fresh();
    const ref = grant(table, memory.allocPages(1), true);
    expect(table.map(ref, OTHER, false)).toEqual({ ok: false, error: 'wrong-domain' });
    expect(table.map(ref, BACKEND, true)).toEqual({ ok: false, error: 'read-only' });
    expect(table.mapCount(ref)).toBe(0);
    expect(table.map(ref, BACKEND, false).ok).toBe(true);
    expect(table.unmap(ref, OTHER)).toEqual({ ok: false, error: 'wrong-domain' });
  });

  it('refuses a write through a read-only mapping, records it, and allows one through a writable', () => {
    const { memory, table } = fresh();
    const ref = grant(table, memory.allocPages(1));
    const readOnly = table.map(ref, BACKEND, false);
    const writable = table.map(ref, BACKEND, true);
    if (!readOnly.ok || !writable.ok) throw new Error('maps of a writable grant failed');
    expect(table.writeThrough(ref, writable.value.writable, BACKEND)).toBe(true);
    expect(table.faultedWrites()).toEqual([]);
    expect(table.writeThrough(ref, readOnly.value.writable, BACKEND)).toBe(false);
    expect(table.faultedWrites()).toEqual([{ mapper: BACKEND, ref }]);
    // Every refused write is recorded, oldest first.
    const other = grant(table, memory.allocPages(1));
    table.map(other, BACKEND, false);
    table.writeThrough(other, false, BACKEND);
    expect(table.faultedWrites().map((f) => f.ref)).toEqual([ref, other]);
  });

  it('counts maps and keeps accounting by grantee and mapper', () => {
    const { memory, table } = fresh();
    const frame = memory.allocPages(1);
    const a = grant(table, frame, false, BACKEND);
    const b = grant(table, frame, false, OTHER);
    table.map(a, BACKEND, true);
    table.map(a, BACKEND, false);
    table.map(b, OTHER, true);
    expect(table.mapCount(a)).toBe(2);
    expect(table.mappedCount()).toBe(3);
    expect(table.mappedCount(BACKEND)).toBe(2);
    expect(table.mappedCount(OTHER)).toBe(1);
    expect(table.grantedCount(BACKEND)).toBe(1);
    expect(table.grantedCount()).toBe(2);
    table.unmap(a, BACKEND);
    expect(table.endAccess(a)).toEqual({ ok: false, error: 'still-mapped' });
    table.unmap(a, BACKEND);
    expect(table.unmap(a, BACKEND)).toEqual({ ok: false, error: 'not-mapped' });
    expect(table.endAccess(a).ok).toBe(true);
    expect(table.grantedCount(BACKEND)).toBe(0);
  });

  it('reports bad references and running out of references', () => {
    const { memory, table } = fresh(GNTTAB_NR_RESERVED_ENTRIES + 2);
    const frame = memory.allocPages(1);
    grant(table, frame);
    grant(table, frame);
    expect(table.grantAccess(BACKEND, frame, false)).toEqual({ ok: false, error: 'no-free-ref' });
    for (const ref of [-1, 10, 1.5, Number.NaN]) {
      expect(table.map(ref, BACKEND, false)).toEqual({ ok: false, error: 'bad-ref' });
      expect(table.endAccess(ref)).toEqual({ ok: false, error: 'bad-ref' });
    }
    expect(table.map(3, BACKEND, false)).toEqual({ ok: false, error: 'not-granted' });
  });

  it('grows on demand: entries survive growth, references past it are free, not bad', () => {
    const { memory, table } = fresh(16_384);
    const frames = Array.from({ length: 300 }, () => memory.allocPages(1));
    const refs = frames.map((frame, i) =>
      grant(table, frame, i % 3 === 0, i % 2 ? OTHER : BACKEND),
    );
    expect(refs[299]).toBe(GNTTAB_NR_RESERVED_ENTRIES + 299);
    refs.forEach((ref, i) => {
      expect(table.entry(ref)).toEqual({
        grantee: i % 2 ? OTHER : BACKEND,
        frame: frames[i],
        readOnly: i % 3 === 0,
      });
    });
    expect(table.map(refs[10]!, BACKEND, false).ok).toBe(true);
    expect(table.endAccess(refs[10]!)).toEqual({ ok: false, error: 'still-mapped' });
    for (const ref of [5000, 16_383]) {
      expect(table.isGranted(ref)).toBe(false);
      expect(table.mapCount(ref)).toBe(0);
      expect(table.map(ref, BACKEND, false)).toEqual({ ok: false, error: 'not-granted' });
      expect(table.endAccess(ref)).toEqual({ ok: false, error: 'not-granted' });
      expect(table.unmap(ref, BACKEND)).toEqual({ ok: false, error: 'not-granted' });
    }
    expect(table.endAccess(16_384)).toEqual({ ok: false, error: 'bad-ref' });
    expect(table.grantedCount()).toBe(300);
    expect(table.grantedRefs()).toEqual(refs);
  });

  it('a mapping aliases the granter page, even after the granter wrongly frees it', () => {
    const { memory, table } = fresh();
    const frame = memory.allocPages(1);
    const ref = grant(table, frame);
    const mapping = table.map(ref, BACKEND, true);
    if (!mapping.ok) throw new Error('map failed');
    mapping.value.page[5] = 0xab;
    expect(memory.page(frame)[5]).toBe(0xab);
    memory.freePages(frame, 1);
    const again = table.map(ref, BACKEND, true);
    expect(again.ok && again.value.page[5]).toBe(0xab);
  });

  it('a frame freed while granted is gone once its last grant ends', () => {
    const { memory, table } = fresh();
    const frame = memory.allocPages(1);
    const first = grant(table, frame);
    const second = grant(table, frame);
    const mapping = table.map(first, BACKEND, true);
    if (!mapping.ok) throw new Error('map failed');
    memory.freePages(frame, 1);
    expect(memory.isAllocated(frame)).toBe(false);
    expect(() => memory.page(frame)).toThrow(AssertionError);
    mapping.value.page[7] = 0xcd;
    expect(table.unmap(first, BACKEND).ok).toBe(true);
    expect(table.endAccess(first).ok).toBe(true);
    // The second grant still pins the dead frame: the grantee reads what was written into it.
    const again = table.map(second, BACKEND, false);
    expect(again.ok && again.value.page[7]).toBe(0xcd);
    expect(table.unmap(second, BACKEND).ok).toBe(true);
    expect(table.endAccess(second).ok).toBe(true);
    expect(() => memory.grantedPage(frame)).toThrow(AssertionError);
  });

  it('asserts when our own code grants a frame it does not own', () => {
    const { table } = fresh();
    expect(() => table.grantAccess(BACKEND, 12345, false)).toThrow(AssertionError);
  });
});

// Model-based: commands against the table and a plain model of entries.
type Command =
  | { kind: 'grant'; grantee: DomId; readOnly: boolean }
  | { kind: 'end'; pick: number }
  | { kind: 'map'; pick: number; mapper: DomId; writable: boolean }
  | { kind: 'unmap'; pick: number; mapper: DomId };

const domArb = fc.constantFrom(BACKEND, OTHER);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('grant' as const), grantee: domArb, readOnly: fc.boolean() }),
  fc.record({ kind: fc.constant('end' as const), pick: fc.nat(40) }),
  fc.record({
    kind: fc.constant('map' as const),
    pick: fc.nat(40),
    mapper: domArb,
    writable: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('unmap' as const), pick: fc.nat(40), mapper: domArb }),
);

interface ModelEntry {
  grantee: DomId;
  readOnly: boolean;
  maps: number;
}

const REF_COUNT_MAX = GNTTAB_NR_RESERVED_ENTRIES + 6;

function expected(
  model: Map<GrantRef, ModelEntry>,
  command: Command,
  ref: GrantRef,
): GrantError | 'ok' {
  const entry = model.get(ref);
  if (command.kind === 'grant')
    return model.size === REF_COUNT_MAX - GNTTAB_NR_RESERVED_ENTRIES ? 'no-free-ref' : 'ok';
  if (entry === undefined) return 'not-granted';
  if (command.kind === 'end') return entry.maps > 0 ? 'still-mapped' : 'ok';
  if (command.mapper !== entry.grantee) return 'wrong-domain';
  if (command.kind === 'map') return command.writable && entry.readOnly ? 'read-only' : 'ok';
  return entry.maps === 0 ? 'not-mapped' : 'ok';
}

function grantAccountingProperty(make: (memory: DomainMemory) => GrantTable) {
  return fc.property(fc.array(commandArb, { maxLength: 60 }), (commands) => {
    const memory = new DomainMemory(GUEST);
    const frame = memory.allocPages(1);
    const table = make(memory);
    const model = new Map<GrantRef, ModelEntry>();
    for (const command of commands) {
      // Targets by position modulo what exists, plus never-granted refs in range.
      const known = [...model.keys()].sort((a, b) => a - b);
      const ref =
        command.kind === 'grant'
          ? -1
          : (known[command.pick % (known.length + 2)] ?? 2 + (command.pick % 2));
      const want = expected(model, command, ref);
      const mappedBefore = table.isMapped(ref);
      let got: { ok: boolean; error?: GrantError };
      if (command.kind === 'grant') {
        const result = table.grantAccess(command.grantee, frame, command.readOnly);
        got = result;
        if (result.ok) {
          if (model.has(result.value) || result.value < GNTTAB_NR_RESERVED_ENTRIES) return false;
          model.set(result.value, {
            grantee: command.grantee,
            readOnly: command.readOnly,
            maps: 0,
          });
        }
      } else if (command.kind === 'end') {
        got = table.endAccess(ref);
        if (got.ok && mappedBefore) return false; // ending never succeeds while mapped
        if (got.ok) model.delete(ref);
      } else if (command.kind === 'map') {
        got = table.map(ref, command.mapper, command.writable);
        if (got.ok) model.get(ref)!.maps++;
      } else {
        got = table.unmap(ref, command.mapper);
        if (got.ok) model.get(ref)!.maps--;
      }
      if ((got.ok ? 'ok' : got.error) !== want) return false;
      const entries = [...model.entries()];
      const sum = (pick: (e: ModelEntry) => number) =>
        entries.reduce((acc, [, e]) => acc + pick(e), 0);
      for (const dom of [BACKEND, OTHER]) {
        if (table.grantedCount(dom) !== sum((e) => (e.grantee === dom ? 1 : 0))) return false;
        if (table.mappedCount(dom) !== sum((e) => (e.grantee === dom ? e.maps : 0))) return false;
      }
      if (table.mappedCount() !== sum((e) => e.maps)) return false;
      const refs = entries.map(([r]) => r).sort((a, b) => a - b);
      if (JSON.stringify(table.grantedRefs()) !== JSON.stringify(refs)) return false;
      for (const [r, e] of entries) if (table.mapCount(r) !== e.maps) return false;
    }
    return true;
  });
}

/** XSA-396's bug class: ending access without honouring the grantee's mapping. */
class EndsWhileMapped extends GrantTable {
  override endAccess(ref: GrantRef) {
    const entry = this.entry(ref);
    while (entry !== undefined && this.isMapped(ref)) this.unmap(ref, entry.grantee);
    return super.endAccess(ref);
  }
}

describe('GrantTable accounting (model-based)', () => {
  it('agrees with the model; ending never succeeds while mapped', () => {
    fc.assert(
      grantAccountingProperty((m) => new GrantTable(GUEST, m, REF_COUNT_MAX)),
      { numRuns: 200 },
    );
  });

  it('teeth: a table that ends access while mapped is caught', () => {
    // Seeded: the broken case needs grant, map by the grantee, then end; a fixed seed keeps the
    // teeth from depending on luck.
    const result = fc.check(
      grantAccountingProperty((m) => new EndsWhileMapped(GUEST, m, REF_COUNT_MAX)),
      {
        numRuns: 1000,
        seed: 396,
      },
    );
    expect(result.failed).toBe(true);
  });
});
