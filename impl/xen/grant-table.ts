// One grant table per granting domain, with v1 semantics (xen/include/public/grant_table.h) and
// the allocator of Linux's drivers/xen/grant-table.c folded in: references 0..7 are reserved
// (GNTTAB_NR_RESERVED_ENTRIES, the toolstack's console and xenstore pages), the free list starts
// at 8 and a freed reference goes back to its head (put_free_entry), so a fresh guest hands out
// 8, 9, 10... as the recorded traffic shows and a just-freed reference is the next one reused.
//
// endAccess mirrors gnttab_try_end_foreign_access (XSA-396): while the grantee holds a mapping the
// call is refused and nothing changes; the old query-then-end race is a driver-level mutant.
// endForeignAccess is gnttab_end_foreign_access: a reference the grantee still maps goes on the
// deferred list (gnttab_add_deferred) and handleDeferred, the guest kernel's deferred timer
// (gnttab_handle_deferred), retries each entry once, ending those no longer mapped.
// map/unmap are the grantee's GNTTABOP_map_grant_ref / unmap_grant_ref; the mapping aliases the
// granter's page bytes, looked up in the granter's memory on each use (a grant pins its frame
// there, so a page the granter frees while granted is still what the mapping reaches). A read-only mapping (GNTMAP_readonly) still hands out a Uint8Array, which
// JavaScript cannot make read-only without a proxy on the hot path, so the permission is enforced
// at the write: a mapper writes through a mapping only after writeThrough() allows it. Xen installs
// a GNTMAP_readonly mapping without write permission, so such a write faults in the mapper and the
// page is left as it was; the fault is recorded (writeFaults) for the grant-permission invariant.
import { assert } from '../assert.ts';
import {
  FORK_SELF,
  type Forking,
  type ForksSelf,
  HASH_SELF,
  Hasher,
  type HashesSelf,
  type PartWalk,
} from '../hash.ts';
import { type DomainMemory, type DomId, type Frame, PAGE_SIZE } from './memory.ts';
import { err, OK_VOID, ok, type Result } from './result.ts';

export type GrantRef = number;

export type GrantError =
  | 'no-free-ref'
  | 'bad-ref'
  | 'not-granted'
  | 'still-mapped'
  | 'wrong-domain'
  | 'read-only'
  | 'not-mapped';

/** A write the mapper attempted through a read-only mapping (a page fault in the mapper). */
export interface GrantWriteFault {
  readonly mapper: DomId;
  readonly ref: GrantRef;
}

export interface GrantMapping {
  readonly ref: GrantRef;
  readonly frame: Frame;
  /** The granter's page, resolved on each use: a mapping holds no view of its own. */
  readonly page: Uint8Array;
  readonly writable: boolean;
}

/**
 * A mapping as the mapper keeps it: where, not the bytes. Holding a view would make every fork
 * of a world copy the slab behind each persistent grant; the granter's memory resolves it.
 */
class Mapping implements GrantMapping {
  constructor(
    readonly ref: GrantRef,
    readonly frame: Frame,
    readonly writable: boolean,
    private readonly memory: DomainMemory,
  ) {}

  get page(): Uint8Array {
    const page = this.memory.grantedPage(this.frame);
    assert(
      page.byteLength === PAGE_SIZE,
      'grant %s: a page of %s bytes',
      this.ref,
      page.byteLength,
    );
    return page;
  }
}

/** What the granter wrote into the entry (domid, frame, GTF_readonly). */
export interface GrantEntry {
  readonly grantee: DomId;
  readonly frame: Frame;
  readonly readOnly: boolean;
}

/** GNTTAB_NR_RESERVED_ENTRIES in Xen's grant_table.h. */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;

const GRANTEE_NONE = -1;
/** Slots of a fresh table: a connect grants a ring page or two and a few request pages. */
const CAPACITY_FIRST = 64;
const FREE_LIST_END = -1;

// Error results are shared constants: refusals happen on hot paths (persistent-grant probing).
const E_NO_FREE_REF = err('no-free-ref' as const);
const E_BAD_REF = err('bad-ref' as const);
const E_NOT_GRANTED = err('not-granted' as const);
const E_STILL_MAPPED = err('still-mapped' as const);
const E_WRONG_DOMAIN = err('wrong-domain' as const);
const E_READ_ONLY = err('read-only' as const);
const E_NOT_MAPPED = err('not-mapped' as const);

export class GrantTable implements ForksSelf, HashesSelf {
  readonly owner: DomId;
  readonly refCountMax: number;
  private memory: DomainMemory;
  // Struct of arrays indexed by reference: no object per entry, no allocation per grant. They
  // grow on demand (doubling, up to refCountMax): a run uses a few hundred references of a
  // 16k-entry table, and a fresh world must stay small. A reference past them was never granted.
  private grantee: Int32Array;
  private frame: Float64Array;
  private readOnly: Uint8Array;
  private mapCounts: Uint32Array;
  private freeNext: Int32Array;
  private freeHead: GrantRef;
  /** One past the highest reference ever handed out: bounds grantedRefs() scans. */
  private refHighWater = GNTTAB_NR_RESERVED_ENTRIES;
  private granted = 0;
  private mapped = 0;
  private grantedByGrantee: Map<DomId, number>;
  private mappedByMapper: Map<DomId, number>;
  /** The five columns are shared with a fork (or its original): copied before a change. */
  private columnsShared = false;
  /** hashA/hashB hold the hash of the entries while nothing changed. */
  private hashed = false;
  private hashA = 0;
  private hashB = 0;
  /** drivers/xen/grant-table.c's deferred_list: references ended by force, oldest first. */
  private deferred: GrantRef[];
  /** Writes refused because the mapping was read-only, oldest first. */
  private writeFaults: GrantWriteFault[];

  /** `from`: a fork's original (its columns shared, its lists and counts copied). */
  constructor(owner: DomId, memory: DomainMemory, refCountMax: number, from?: GrantTable) {
    assert(memory.domid === owner, 'GrantTable: memory belongs to another domain');
    assert(Number.isInteger(refCountMax), 'GrantTable: refCountMax must be an integer');
    assert(refCountMax > GNTTAB_NR_RESERVED_ENTRIES, 'GrantTable: no room past reserved refs');
    this.owner = owner;
    this.memory = memory;
    this.refCountMax = refCountMax;
    if (from !== undefined) {
      this.grantee = from.grantee;
      this.frame = from.frame;
      this.readOnly = from.readOnly;
      this.mapCounts = from.mapCounts;
      this.freeNext = from.freeNext;
      this.freeHead = from.freeHead;
      this.refHighWater = from.refHighWater;
      this.granted = from.granted;
      this.mapped = from.mapped;
      this.grantedByGrantee = new Map(from.grantedByGrantee);
      this.mappedByMapper = new Map(from.mappedByMapper);
      this.hashed = from.hashed;
      this.hashA = from.hashA;
      this.hashB = from.hashB;
      this.deferred = [...from.deferred];
      this.writeFaults = [...from.writeFaults];
      return;
    }
    this.grantedByGrantee = new Map();
    this.mappedByMapper = new Map();
    this.deferred = [];
    this.writeFaults = [];
    const capacity = Math.min(refCountMax, CAPACITY_FIRST);
    this.grantee = new Int32Array(capacity).fill(GRANTEE_NONE);
    this.frame = new Float64Array(capacity);
    this.readOnly = new Uint8Array(capacity);
    this.mapCounts = new Uint32Array(capacity);
    this.freeNext = new Int32Array(capacity);
    // Freed references form a LIFO list; never-used ones come from the bump pointer refHighWater,
    // which yields 8, 9, 10... exactly as Linux's initial free list does.
    this.freeHead = FREE_LIST_END;
  }

  /** gnttab_grant_foreign_access: claim a free reference and fill its entry. */
  grantAccess(grantee: DomId, frame: Frame, readOnly: boolean): Result<GrantRef, GrantError> {
    assert(this.memory.isAllocated(frame), 'grantAccess: frame %s is not allocated', frame);
    assert(Number.isInteger(grantee) && grantee >= 0, 'grantAccess: bad grantee domid');
    this.changing();
    let ref = this.freeHead;
    if (ref !== FREE_LIST_END) {
      this.freeHead = this.freeNext[ref]!;
    } else {
      if (this.refHighWater >= this.refCountMax) return E_NO_FREE_REF;
      ref = this.refHighWater;
      if (ref >= this.grantee.length) this.grow();
    }
    this.grantee[ref] = grantee;
    this.frame[ref] = frame;
    this.readOnly[ref] = readOnly ? 1 : 0;
    // The grant pins the frame: a granter that frees a still-granted page leaves the grantee's
    // mapping aliasing a dead buffer (the real use-after-free), reported by an invariant.
    this.memory.pin(frame);
    if (ref >= this.refHighWater) this.refHighWater = ref + 1;
    this.granted++;
    this.grantedByGrantee.set(grantee, (this.grantedByGrantee.get(grantee) ?? 0) + 1);
    assert(this.mapCounts[ref] === 0, 'grantAccess: a free reference was still mapped');
    // Linux's allocator never hands out the toolstack's reserved references.
    assert(ref >= GNTTAB_NR_RESERVED_ENTRIES, 'grantAccess: reserved reference %s', ref);
    assert(this.granteeAt(ref) === grantee, 'grantAccess: ref %s not granted to %s', ref, grantee);
    return ok(ref);
  }

  /** gnttab_try_end_foreign_access: refused, with nothing changed, while the grantee maps it. */
  endAccess(ref: GrantRef): Result<void, GrantError> {
    if (!this.inRange(ref)) return E_BAD_REF;
    const grantee = this.granteeAt(ref);
    if (grantee === GRANTEE_NONE) return E_NOT_GRANTED;
    if (this.mapCounts[ref] !== 0) return E_STILL_MAPPED;
    this.changing();
    this.grantee[ref] = GRANTEE_NONE;
    this.memory.unpin(this.frame[ref]!);
    this.freeNext[ref] = this.freeHead;
    this.freeHead = ref;
    this.granted--;
    this.grantedByGrantee.set(grantee, this.grantedByGrantee.get(grantee)! - 1);
    assert(this.granted >= 0, 'endAccess: granted count underflow');
    assert(this.grantedByGrantee.get(grantee)! >= 0, 'endAccess: dom %s grants below 0', grantee);
    return OK_VOID;
  }

  /**
   * gnttab_end_foreign_access: end access now, or, while the grantee still maps the reference,
   * queue it on the deferred list (gnttab_add_deferred) for the timer to end later. True when
   * ended now. The reference stays granted while deferred: it is not reused before it ends.
   */
  endForeignAccess(ref: GrantRef): boolean {
    assert(this.isGranted(ref), 'endForeignAccess: ref %s is not granted', ref);
    assert(!this.deferred.includes(ref), 'endForeignAccess: ref %s is already deferred', ref);
    if (this.endAccess(ref).ok) return true;
    this.changing();
    this.deferred.push(ref);
    assert(this.isMapped(ref), 'endForeignAccess: deferred ref %s is not mapped', ref);
    return false;
  }

  /**
   * gnttab_handle_deferred: one pass over the deferred list, each entry tried once; the ones the
   * grantee no longer maps are ended (their references free again), the others stay queued.
   * Returns the references ended, in list order.
   */
  handleDeferred(): GrantRef[] {
    this.changing();
    const ended: GrantRef[] = [];
    const before = this.deferred.length;
    let kept = 0;
    for (let i = 0; i < before; i++) {
      const ref = this.deferred[i]!;
      if (this.endAccess(ref).ok) ended.push(ref);
      else this.deferred[kept++] = ref;
    }
    this.deferred.length = kept;
    assert(kept + ended.length === before, 'handleDeferred: an entry lost');
    assert(
      this.deferred.every((ref) => this.isMapped(ref)),
      'handleDeferred: kept an unmapped',
    );
    return ended;
  }

  /** The deferred list, oldest first (for invariants and reports). */
  deferredRefs(): readonly GrantRef[] {
    assert(this.deferred.length <= this.granted, 'deferred list longer than the grants');
    return this.deferred;
  }

  /** The deferred timer would end something now: some deferred reference is no longer mapped. */
  deferredEndable(): boolean {
    for (const ref of this.deferred) if (this.mapCounts[ref] === 0) return true;
    return false;
  }

  /** GNTTABOP_map_grant_ref by `mapper`; Xen checks the entry's domid and GTF_readonly. */
  map(ref: GrantRef, mapper: DomId, writable: boolean): Result<GrantMapping, GrantError> {
    if (!this.inRange(ref)) return E_BAD_REF;
    const grantee = this.granteeAt(ref);
    if (grantee === GRANTEE_NONE) return E_NOT_GRANTED;
    if (grantee !== mapper) return E_WRONG_DOMAIN;
    if (writable && this.readOnly[ref] === 1) return E_READ_ONLY;
    this.changing();
    const frame = this.frame[ref]!;
    this.mapCounts[ref]!++;
    this.mapped++;
    this.mappedByMapper.set(mapper, (this.mappedByMapper.get(mapper) ?? 0) + 1);
    assert(this.mapped >= this.mapCounts[ref]!, 'map: ref %s has more maps than the table', ref);
    return ok(new Mapping(ref, frame, writable, this.memory));
  }

  /**
   * `mapper` is about to write through its mapping of `ref`, made `writable` or not: a mapping Xen
   * made with GNTMAP_readonly has no write permission in the mapper's page tables, so the write
   * faults (recorded, and false: the caller must not write; the page stays as it was).
   */
  writeThrough(ref: GrantRef, writable: boolean, mapper: DomId): boolean {
    if (writable) return true;
    assert(this.mapCount(ref) > 0, 'writeThrough: dom %s does not map grant %s', mapper, ref);
    this.changing();
    this.writeFaults.push({ mapper, ref });
    assert(this.writeFaults.length > 0, 'writeThrough: the fault was not recorded');
    return false;
  }

  /** Writes refused by writeThrough, oldest first (judged by the grant-permission invariant). */
  faultedWrites(): readonly GrantWriteFault[] {
    return this.writeFaults;
  }

  /** GNTTABOP_unmap_grant_ref: drops one of `mapper`'s mappings of `ref`. */
  unmap(ref: GrantRef, mapper: DomId): Result<void, GrantError> {
    if (!this.inRange(ref)) return E_BAD_REF;
    const grantee = this.granteeAt(ref);
    if (grantee === GRANTEE_NONE) return E_NOT_GRANTED;
    if (grantee !== mapper) return E_WRONG_DOMAIN;
    if (this.mapCounts[ref] === 0) return E_NOT_MAPPED;
    this.changing();
    this.mapCounts[ref]!--;
    this.mapped--;
    this.mappedByMapper.set(mapper, this.mappedByMapper.get(mapper)! - 1);
    assert(this.mapped >= 0, 'unmap: mapped count underflow');
    assert(this.mappedByMapper.get(mapper)! >= 0, 'unmap: dom %s maps below 0', mapper);
    return OK_VOID;
  }

  isGranted(ref: GrantRef): boolean {
    return this.inRange(ref) && this.granteeAt(ref) !== GRANTEE_NONE;
  }

  isMapped(ref: GrantRef): boolean {
    return this.inRange(ref) && ref < this.mapCounts.length && this.mapCounts[ref] !== 0;
  }

  /** Number of live mappings of `ref` (each map() counts once until its unmap()). */
  mapCount(ref: GrantRef): number {
    const count = this.inRange(ref) && ref < this.mapCounts.length ? this.mapCounts[ref]! : 0;
    // unmap() refuses a ref with no mapping, so a negative count is a bookkeeping bug here.
    assert(count >= 0, 'grant ref %s: %s mappings', ref, count);
    return count;
  }

  /** The entry as the granter wrote it, or undefined if `ref` is not granted. */
  entry(ref: GrantRef): GrantEntry | undefined {
    if (!this.isGranted(ref)) return undefined;
    return {
      grantee: this.grantee[ref]!,
      frame: this.frame[ref]!,
      readOnly: this.readOnly[ref] === 1,
    };
  }

  /** Granted references, to `grantee` if given. */
  grantedCount(grantee?: DomId): number {
    // Granted references are distinct ones between the reserved entries and the high water.
    assert(
      this.granted <= this.refHighWater - GNTTAB_NR_RESERVED_ENTRIES,
      'grant table of dom %s: %s granted',
      this.owner,
      this.granted,
    );
    return grantee === undefined ? this.granted : (this.grantedByGrantee.get(grantee) ?? 0);
  }

  /** Live mappings (sum of map counts), by `mapper` if given. */
  mappedCount(mapper?: DomId): number {
    assert(this.mapped >= 0, 'grant table of dom %s: %s mapped', this.owner, this.mapped);
    return mapper === undefined ? this.mapped : (this.mappedByMapper.get(mapper) ?? 0);
  }

  /** Granted references in ascending order, for invariants and reports. */
  grantedRefs(): readonly GrantRef[] {
    const refs: GrantRef[] = [];
    for (let ref = 0; ref < this.refHighWater; ref++) {
      if (this.grantee[ref] !== GRANTEE_NONE) refs.push(ref);
    }
    assert(refs.length === this.granted, 'grantedRefs: count disagrees with the ledger');
    return refs;
  }

  private inRange(ref: GrantRef): boolean {
    return Number.isInteger(ref) && ref >= 0 && ref < this.refCountMax;
  }

  /** The entry's domid, GRANTEE_NONE for a free reference or one past the slots grown so far. */
  private granteeAt(ref: GrantRef): DomId {
    assert(ref >= 0 && ref < this.refCountMax, 'granteeAt: ref %s out of the table', ref);
    return ref < this.grantee.length ? this.grantee[ref]! : GRANTEE_NONE;
  }

  /** Before any change: the table's own columns, and its cached hash dropped. */
  private changing(): void {
    this.hashed = false;
    if (!this.columnsShared) return;
    this.columnsShared = false;
    this.grantee = this.grantee.slice();
    this.frame = this.frame.slice();
    this.readOnly = this.readOnly.slice();
    this.mapCounts = this.mapCounts.slice();
    this.freeNext = this.freeNext.slice();
    assert(this.grantee.length === this.mapCounts.length, 'grant table: ragged columns');
  }

  /**
   * A copy that shares the five columns copy-on-write: each side copies them before its first
   * change (most forks in a search are dropped before they grant or map again). The memory goes
   * through the world's fork (its mappings resolve pages there).
   */
  [FORK_SELF](fork: Forking): GrantTable {
    // Field by field, not Object.assign: a generic copy of twenty fields cost a tenth of a fork.
    const copy = new GrantTable(
      this.owner,
      fork.copy(this.memory) as DomainMemory,
      this.refCountMax,
      this,
    );
    this.columnsShared = true;
    copy.columnsShared = true;
    assert(copy.grantee === this.grantee && copy.deferred !== this.deferred, 'grant table fork');
    return copy;
  }

  /**
   * The entries in use (domid, frame, read-only, map count of each granted reference), the free
   * list in its order (it decides the next references), the deferred list, the high water and
   * the counts: cached until the next change. Stale columns of free references and the capacity
   * grown so far are not state. The granted pages' bytes are the memory's to hash (its dead
   * frames included).
   */
  [HASH_SELF](h: Hasher, fresh: boolean, walk: PartWalk): void {
    if (fresh || !this.hashed) {
      const own = this.entriesHash();
      if (fresh) {
        h.mix(own.a);
        h.mix(own.b);
        walk.value(this.memory);
        return;
      }
      this.hashA = own.a;
      this.hashB = own.b;
      this.hashed = true;
    }
    assert(this.hashed, 'grant table: no cached hash');
    h.mix(this.hashA);
    h.mix(this.hashB);
    walk.value(this.memory);
  }

  /** The entries' own hash: cached and fresh fingerprints mix its two words alike. */
  private entriesHash(): Hasher {
    const own = new Hasher();
    own.mix(this.owner);
    own.mix(this.refCountMax);
    own.mix(this.refHighWater);
    for (let ref = 0; ref < this.refHighWater; ref++) {
      const grantee = this.granteeAt(ref);
      own.mix(grantee);
      if (grantee === GRANTEE_NONE) continue;
      own.mixNumber(this.frame[ref]!);
      own.mix(this.readOnly[ref]!);
      own.mix(this.mapCounts[ref]!);
    }
    let free = 0;
    for (let ref = this.freeHead; ref !== FREE_LIST_END; ref = this.freeNext[ref]!) {
      own.mix(ref);
      free += 1;
      assert(free <= this.refHighWater, 'grant table: a free list that loops');
    }
    own.mix(free);
    own.mix(this.deferred.length);
    for (const ref of this.deferred) own.mix(ref);
    own.mix(this.writeFaults.length);
    for (const f of this.writeFaults) {
      own.mix(f.mapper);
      own.mix(f.ref);
    }
    own.mix(this.granted);
    own.mix(this.mapped);
    return own;
  }

  /** Doubles every column, new slots free and unmapped. */
  private grow(): void {
    const old = this.grantee.length;
    const capacity = Math.min(this.refCountMax, old * 2);
    assert(capacity > old, 'grant table: grown past refCountMax');
    const widen = <T extends Int32Array | Float64Array | Uint8Array | Uint32Array>(
      from: T,
      to: T,
    ): T => {
      to.set(from);
      return to;
    };
    this.grantee = widen(this.grantee, new Int32Array(capacity).fill(GRANTEE_NONE));
    this.frame = widen(this.frame, new Float64Array(capacity));
    this.readOnly = widen(this.readOnly, new Uint8Array(capacity));
    this.mapCounts = widen(this.mapCounts, new Uint32Array(capacity));
    this.freeNext = widen(this.freeNext, new Int32Array(capacity));
    assert(this.mapCounts.length === capacity && this.freeNext.length === capacity, 'grow: ragged');
  }
}
