// forkWorld and fingerprint: what an exhaustive explorer stands on. A fork is an independent
// world that continues exactly as the original would; a fingerprint names the protocol-visible
// state, so that two worlds in the same state (however they got there) are visited once.
//
// Both are generic walks over the world's object graph, which holds only plain data (objects,
// arrays, Maps, Sets, typed arrays over ArrayBuffers, class instances). What is immutable is
// shared, not copied: the configuration, the drivers table, the machines' snapshots (XState
// snapshots are never mutated; the world replaces them, and the machine memo hands out one
// object per state) and the ABI tables. Functions are shared as they are: the world holds no
// closure over its own run state (the frontend's and backend's env callbacks look the world up
// through their arguments), and `observe` is a hook of whoever drives the world.
import { assert } from '../assert.ts';
import {
  FORK_SELF,
  type Forking,
  type ForksSelf,
  HASH_PAGE_BYTES,
  HASH_SELF,
  Hasher,
  type HashesSelf,
  OWNED_BY_ARRAY,
  PageHashes,
  type PartWalk,
} from '../hash.ts';
import { X86_32_ABI, X86_64_ABI } from '../xen/blkif-abi.ts';
import type { World } from './world.ts';

/** Copies `root`'s graph; objects in `shared` (and everything reached only through them) are kept. */
export function deepCopy<T>(root: T, shared: Iterable<object>): T {
  const memo = new Map<unknown, unknown>();
  for (const object of shared) memo.set(object, object);
  const finishing: (() => void)[] = [];
  const fork: Forking = {
    copy: (value) => copyValue(value, memo, fork),
    copied: (value) => memo.get(value),
    after: (finish) => {
      // A few parts fork themselves (memory, xenstore, the disk): never one per object.
      assert(finishing.length < 64, 'deepCopy: %s parts to finish', finishing.length);
      finishing.push(finish);
    },
  };
  const copy = copyValue(root, memo, fork) as T;
  assert(
    typeof root !== 'object' || root === null || memo.has(root),
    'deepCopy: the root uncopied',
  );
  // Parts that fork themselves finish once every object reached has its copy (guest memory
  // shares the buffers no view outside it reaches).
  for (const finish of finishing) finish();
  return copy;
}

function copyValue(value: unknown, memo: Map<unknown, unknown>, fork: Forking): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = memo.get(value);
  if (known !== undefined) return known;
  // A frozen object is an immutable value (requests, their buffers, xenstore permission lists,
  // the configuration's workload): shared, not copied.
  if (Object.isFrozen(value)) return value;
  return copyObject(value, memo, fork);
}

// Objects are copied whole first (slice, spread, Object.assign keep V8's fast shapes), then
// only their object-valued fields are replaced by copies: most fields are numbers and strings.
function copyObject(value: object, memo: Map<unknown, unknown>, fork: Forking): unknown {
  if (Array.isArray(value)) {
    const out = value.slice();
    assert(out.length === value.length, 'copy of an array of %s items', value.length);
    memo.set(value, out);
    const owner = ownerPrototype(out);
    for (let i = 0; i < out.length; i++) {
      const item: unknown = out[i];
      if (typeof item !== 'object' || item === null) continue;
      // An entry only this slot holds needs no memo entry: nothing else can reach it.
      if (owner !== undefined && Object.getPrototypeOf(item) === owner)
        out[i] = (item as ForksSelf)[FORK_SELF](fork);
      else out[i] = copyValue(item, memo, fork);
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype) {
    // XState snapshots are never mutated (the world replaces them): shared wherever they are.
    if ('_nodes' in value && isSnapshot(value)) return value;
    return copyFields(value, { ...value }, memo, fork);
  }
  // A part that forks itself (copy-on-write: the disk's chunks, xenstore's nodes; the grant
  // table; shadows), looked up first: most class instances in a world are such parts.
  const forkSelf = (value as Partial<ForksSelf>)[FORK_SELF];
  if (forkSelf !== undefined) {
    const out = forkSelf.call(value, fork);
    assert(out !== value, 'a part forked itself into itself');
    memo.set(value, out);
    return out;
  }
  if (isSnapshot(value)) return value;
  if (value instanceof Map) {
    const out = new Map();
    memo.set(value, out);
    for (const [k, v] of value) out.set(copyValue(k, memo, fork), copyValue(v, memo, fork));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    memo.set(value, out);
    for (const v of value) out.add(copyValue(v, memo, fork));
    return out;
  }
  if (value instanceof ArrayBuffer) {
    const out = value.slice(0);
    memo.set(value, out);
    return out;
  }
  if (ArrayBuffer.isView(value)) return copyView(value, memo, fork);
  // A class instance: the same prototype, its own fields copied.
  return copyFields(value, Object.assign(Object.create(proto as object), value), memo, fork);
}

function copyFields(
  value: object,
  out: Record<string, unknown>,
  memo: Map<unknown, unknown>,
  fork: Forking,
) {
  memo.set(value, out);
  for (const key in out) {
    const field = out[key];
    if (typeof field === 'object' && field !== null) out[key] = copyValue(field, memo, fork);
  }
  return out;
}

/** A view over the copy of its buffer: two views of one page stay aliases in the copy. */
function copyView(
  view: ArrayBufferView,
  memo: Map<unknown, unknown>,
  fork: Forking,
): ArrayBufferView {
  const buffer = copyValue(view.buffer, memo, fork) as ArrayBuffer;
  let out: ArrayBufferView;
  if (view instanceof DataView) out = new DataView(buffer, view.byteOffset, view.byteLength);
  else {
    const typed = view as unknown as {
      constructor: new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView;
      length: number;
    };
    out = new typed.constructor(buffer, view.byteOffset, typed.length);
  }
  // The copy covers the same window of the copied buffer: aliases stay aliases.
  assert(out.byteLength === view.byteLength && out.byteOffset === view.byteOffset, 'view copy');
  memo.set(view, out);
  return out;
}

/**
 * The prototype of an array's entries when they are each held by their slot alone (hash.ts's
 * OWNED_BY_ARRAY, asked of the first entry), or undefined.
 */
function ownerPrototype(items: readonly unknown[]): object | undefined {
  const first = items[0];
  if (typeof first !== 'object' || first === null) return undefined;
  if ((first as { [OWNED_BY_ARRAY]?: boolean })[OWNED_BY_ARRAY] !== true) return undefined;
  assert(
    FORK_SELF in first && HASH_SELF in first,
    'an entry owned by its array forks and hashes itself',
  );
  return Object.getPrototypeOf(first) as object;
}

/** The immutable objects a world shares with its forks. */
function sharedOf(world: World): object[] {
  // The action cache holds immutable actions made on demand from (kind, ring): sharing it
  // between forks changes no result.
  const shared: object[] = [world.config, world.drivers, X86_64_ABI, X86_32_ABI, world.actionCache];
  shared.push(world.host.back.config);
  return shared;
}

/**
 * An independent copy of `world` (its ledger included: the guest's observer is part of the
 * graph) that continues identically: the same actions enabled, the same results of each step.
 * `observe` is left unset on the copy; whoever drives the fork sets its own.
 */
export function forkWorld(world: World): World {
  assert(world.front !== undefined && world.host !== undefined, 'forkWorld: an initialised world');
  const copy = deepCopy(world, sharedOf(world));
  copy.observe = undefined;
  assert(copy !== world && copy.xs !== world.xs, 'forkWorld: nothing mutable is shared');
  return copy;
}

/**
 * Fields that are not protocol state: step counters, the drivers' report log and the state-write
 * log (observation buffers the invariants read), the trace hook, the configuration and drivers
 * (fixed for a run, and the same for every world an explorer compares), the env objects (views
 * of the world's own parts plus callbacks), the ledger's `now` (a step number) and the world's
 * cache of immutable action objects, and the event channels' send counts (for traces).
 */
const LEFT_OUT: ReadonlySet<string> = new Set([
  'stepCount',
  'reports',
  'stateWrites',
  'ringReleases',
  'ringEnds',
  'observe',
  'config',
  'drivers',
  'env',
  'now',
  'actionCache',
  'sends',
]);

/** A name's code stands for a field left out of the fingerprint. */
const LEFT_OUT_CODE = Number.NaN;

/**
 * Field and class names' codes, which a caller fingerprinting many worlds (an explorer) keeps
 * across fingerprints: they are the program's names, and hashing them anew in every walk cost
 * a sixth of a fingerprint.
 */
export class FingerprintNames {
  private readonly codes = new Map<string, number>();

  code(name: string): number {
    let code = this.codes.get(name);
    if (code === undefined) {
      if (LEFT_OUT.has(name)) code = LEFT_OUT_CODE;
      else {
        code = 0x811c9dc5;
        for (let i = 0; i < name.length; i++)
          code = Math.imul(code ^ name.charCodeAt(i), 0x01000193);
      }
      // Field and class names are few; a plain object keyed by data could bring many: not kept.
      if (this.codes.size < NAME_CODES_MAX) this.codes.set(name, code);
      assert(this.codes.size <= NAME_CODES_MAX, 'fingerprint: %s names kept', this.codes.size);
    }
    return code;
  }
}

const NAME_CODES_MAX = 4096;

/** One fingerprint's walk: its hasher, the objects seen so far, the cache rule. */
class Walk implements PartWalk {
  readonly h = new Hasher();
  /** Objects seen so far by visit number: one reached again hashes as a back-reference. */
  private readonly seen = new Map<object, number>();
  /** Page hashes of the buffers reached so far (views of one page share its hash). */
  private readonly pageCache = new Map<ArrayBuffer, PageHashes>();
  /** A fresh walk: the entries taken as owned by their arrays, to check that they are. */
  private readonly owned: Set<object> | undefined;

  /** `fresh`: ignore every cached hash (the parts' and the snapshots'), for checking them. */
  constructor(
    readonly fresh: boolean,
    private readonly names: FingerprintNames,
  ) {
    assert(typeof fresh === 'boolean', 'fingerprint: fresh is %s', typeof fresh);
    this.owned = fresh ? new Set() : undefined;
  }

  get visited(): number {
    return this.seen.size;
  }

  value(value: unknown): void {
    assert(this.seen.size > 0, 'a part hashed outside the walk of its world');
    this.mixValue(value);
  }

  /** An ArrayBuffer is its bytes' own hash, so that a part may keep it for bytes it knows fixed. */
  pages(buffer: ArrayBuffer, offset: number, count: number, cache: PageHashes | undefined): void {
    assert(cache === undefined || !this.fresh, 'cached page hashes in a fresh fingerprint');
    this.identity(buffer);
    this.h.mix(offset);
    this.h.mix(count * HASH_PAGE_BYTES);
    this.contents(buffer, offset, count * HASH_PAGE_BYTES, cache);
  }

  /** True the first time `object` is reached (numbered); later, mixes the back-reference. */
  private firstVisit(object: object): boolean {
    assert(this.owned?.has(object) !== true, 'fingerprint: an owned entry reached elsewhere');
    const visit = this.seen.get(object);
    if (visit !== undefined) {
      this.h.mix(13);
      this.h.mix(visit);
      return false;
    }
    const number = this.seen.size;
    this.seen.set(object, number);
    assert(this.seen.size === number + 1, 'object number %s given twice', number);
    return true;
  }

  /** A buffer is an object like any other: reached again, it is a back-reference. */
  private identity(buffer: ArrayBuffer): void {
    if (!this.firstVisit(buffer)) return;
    this.h.mix(10);
    this.h.mix(buffer.byteLength);
  }

  /**
   * The bytes of one window of a buffer: whole pages by their hashes (each page hashed once per
   * walk however many views and runs cover it), any other window byte by byte. Bytes no view
   * and no live run covers (a slab's dead or unused space) are never part of the state.
   */
  private contents(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    cache: PageHashes | undefined,
  ): void {
    assert(offset >= 0 && offset + length <= buffer.byteLength, 'a window past its buffer');
    if (offset % HASH_PAGE_BYTES !== 0 || length % HASH_PAGE_BYTES !== 0) {
      this.h.mixBytes(new Uint8Array(buffer, offset, length));
      return;
    }
    let pages = cache ?? this.pageCache.get(buffer);
    if (pages === undefined) {
      pages = new PageHashes(Math.floor(buffer.byteLength / HASH_PAGE_BYTES));
      this.pageCache.set(buffer, pages);
    }
    const first = offset / HASH_PAGE_BYTES;
    for (let i = first; i < first + length / HASH_PAGE_BYTES; i++) pages.mixPage(this.h, buffer, i);
  }

  mixValue(value: unknown): void {
    if (typeof value !== 'object' || value === null) {
      mixPrimitive(this.h, value);
      return;
    }
    if (value instanceof ArrayBuffer) {
      // Reached as a buffer, not through a view: all of it.
      this.identity(value);
      this.contents(value, 0, value.byteLength, undefined);
      return;
    }
    if (!this.firstVisit(value)) return;
    if (Array.isArray(value)) {
      this.h.mix(6);
      this.h.mix(value.length);
      const owner = ownerPrototype(value);
      if (owner === undefined) for (let i = 0; i < value.length; i++) this.mixValue(value[i]);
      else this.mixOwned(value, owner);
    } else if (Object.getPrototypeOf(value) === Object.prototype) {
      if ('_nodes' in value && isSnapshot(value)) {
        this.h.mix(14);
        mixSnapshot(this.h, value, this.fresh);
      } else {
        this.h.mix(5);
        this.mixFields(value);
      }
    } else this.mixOther(value);
  }

  /**
   * An array of entries owned by it: each as mixInstance would mix it, without a visit number
   * (nothing else reaches it, which a fresh walk checks); other items as usual.
   */
  private mixOwned(items: readonly unknown[], owner: object): void {
    const code = this.names.code(owner.constructor?.name ?? '');
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item !== 'object' || item === null || Object.getPrototypeOf(item) !== owner) {
        this.mixValue(item);
        continue;
      }
      if (this.owned !== undefined) {
        assert(!this.seen.has(item) && !this.owned.has(item), 'fingerprint: an entry owned twice');
        this.owned.add(item);
      }
      this.h.mix(11);
      this.h.mix(code);
      (item as HashesSelf)[HASH_SELF](this.h, this.fresh, this);
    }
  }

  /** Own enumerable fields in order, each with its name; left-out names are skipped. */
  private mixFields(value: object): void {
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const code = this.names.code(key);
      if (Number.isNaN(code)) continue; // LEFT_OUT_CODE
      this.h.mix(code);
      this.mixValue(fields[key]);
    }
  }

  private mixOther(value: object): void {
    assert(!Array.isArray(value), 'an array in the walk of non-plain objects');
    const h = this.h;
    // A part that hashes itself first: most class instances in a world are such parts.
    if ((value as Partial<HashesSelf>)[HASH_SELF] !== undefined) {
      this.mixInstance(value);
      return;
    }
    if (value instanceof Map) {
      h.mix(7);
      h.mix(value.size);
      // Insertion order is history (which key was added first), not state: keys in order.
      if (ascendingNumbers(value.keys()))
        for (const [key, item] of value) {
          h.mixNumber(key as number);
          this.mixValue(item);
        }
      else
        for (const key of sortedKeys(value.keys())) {
          this.mixValue(key);
          this.mixValue(value.get(key));
        }
    } else if (value instanceof Set) {
      h.mix(8);
      h.mix(value.size);
      if (ascendingNumbers(value.values())) for (const item of value) h.mixNumber(item as number);
      else for (const item of sortedKeys(value)) this.mixValue(item);
    } else if (ArrayBuffer.isView(value)) {
      // A view is its buffer (which other views may alias) and the bytes of its window.
      h.mix(9);
      const buffer = value.buffer as ArrayBuffer;
      this.identity(buffer);
      h.mix(value.byteOffset);
      h.mix(value.byteLength);
      this.contents(buffer, value.byteOffset, value.byteLength, undefined);
    } else if (isSnapshot(value)) {
      h.mix(14);
      mixSnapshot(h, value, this.fresh);
    } else this.mixInstance(value);
  }

  private mixInstance(value: object): void {
    const hashSelf = (value as Partial<HashesSelf>)[HASH_SELF];
    assert(
      hashSelf === undefined || typeof hashSelf === 'function',
      'a HASH_SELF that is no method',
    );
    this.h.mix(11);
    this.h.mix(this.names.code(value.constructor?.name ?? ''));
    // A part that hashes itself (xenstore and the disk cache theirs while unchanged).
    if (hashSelf !== undefined) hashSelf.call(value, this.h, this.fresh, this);
    else this.mixFields(value);
  }
}

/** Numbers in ascending order already (the common case of numeric keys): no sort needed. */
export function ascendingNumbers(keys: Iterable<unknown>): boolean {
  let last = Number.NEGATIVE_INFINITY;
  for (const key of keys) {
    if (typeof key !== 'number' || !(key > last)) return false;
    last = key;
  }
  return true;
}

/** An XState snapshot: its state value, context and status are all the machine's state. */
function isSnapshot(value: object): value is { value: unknown; context: unknown; status: string } {
  return 'machine' in value && '_nodes' in value && 'context' in value;
}

function sortedKeys(keys: Iterable<unknown>): unknown[] {
  const order = (x: unknown, y: unknown): number => {
    const sx = typeof x === 'number' ? x : String(x);
    const sy = typeof y === 'number' ? y : String(y);
    if (typeof sx === 'number' && typeof sy === 'number') return sx - sy;
    return String(sx) < String(sy) ? -1 : String(sx) > String(sy) ? 1 : 0;
  };
  return [...keys].sort(order);
}

/** Primitives by type tag and value; functions are behaviour, not state (tagged only). */
function mixPrimitive(h: Hasher, value: unknown): void {
  if (typeof value === 'number') h.mixNumber(value);
  else if (typeof value === 'string') h.mixString(value);
  else if (value === undefined) h.mix(0);
  else if (value === null) h.mix(1);
  else if (typeof value === 'boolean') h.mix(value ? 3 : 2);
  else {
    // Functions are behaviour, tagged only; a bigint would lose its value here.
    assert(typeof value !== 'bigint', 'fingerprint: a bigint is hashed as a tag only');
    h.mix(12);
  }
}

/** A snapshot's hash, kept on the snapshot itself: snapshots are immutable and interned. */
const SNAPSHOT_HASH: unique symbol = Symbol('snapshotHash');

type HashedSnapshot = { [SNAPSHOT_HASH]?: readonly [number, number] };

function mixSnapshot(
  h: Hasher,
  value: { value: unknown; context: unknown; status: string },
  fresh: boolean,
): void {
  const held = value as HashedSnapshot;
  let pair = held[SNAPSHOT_HASH];
  if (pair === undefined || fresh) {
    const one = new Hasher();
    one.mixString(JSON.stringify([value.value, value.context, value.status]));
    pair = [one.a, one.b];
    assert(Object.isExtensible(value), 'an XState snapshot that cannot keep its hash');
    // Not enumerable: JSON, for-in and xstate never see it.
    Object.defineProperty(value, SNAPSHOT_HASH, { value: pair, enumerable: false, writable: true });
  }
  h.mix(pair[0]);
  h.mix(pair[1]);
}

/**
 * A 64-bit hash (16 hex digits) of the world's protocol-visible state: machines, xenstore (tree,
 * watches, queued events, transactions), event channels, ring pages and both ends' private
 * indices, shadows, grant tables, the disk, guest memory, the guest's queues and the ledger.
 * See docs/architecture.md ("Fork and fingerprint") for what is deliberately left out.
 * `fresh` ignores every cached hash: the caches must agree with it (properties/fork.test.ts).
 * `names`: the name codes to reuse (one FingerprintNames for all the worlds of a search).
 */
export function fingerprint(
  world: World,
  options: { readonly fresh?: boolean; readonly names?: FingerprintNames | undefined } = {},
): string {
  return fingerprintHash(world, options).hex();
}

/** fingerprint's hasher, for a caller that keys by the two lanes itself (an explorer). */
export function fingerprintHash(
  world: World,
  options: { readonly fresh?: boolean; readonly names?: FingerprintNames | undefined } = {},
): Hasher {
  const walk = new Walk(options.fresh === true, options.names ?? new FingerprintNames());
  walk.mixValue(world);
  assert(walk.visited > 1, 'fingerprint: the walk reached the world');
  return walk.h;
}
