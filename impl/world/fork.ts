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
import { FORK_SELF, type ForksSelf, HASH_SELF, Hasher, type HashesSelf } from '../hash.ts';
import { X86_32_ABI, X86_64_ABI } from '../xen/blkif-abi.ts';
import type { World } from './world.ts';

/** Copies `root`'s graph; objects in `shared` (and everything reached only through them) are kept. */
export function deepCopy<T>(root: T, shared: Iterable<object>): T {
  const memo = new Map<unknown, unknown>();
  for (const object of shared) memo.set(object, object);
  return copyValue(root, memo) as T;
}

function copyValue(value: unknown, memo: Map<unknown, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = memo.get(value);
  if (known !== undefined) return known;
  // A frozen object is an immutable value (requests, their buffers, xenstore permission lists,
  // the configuration's workload): shared, not copied.
  if (Object.isFrozen(value)) return value;
  return copyObject(value, memo);
}

// Objects are copied whole first (slice, spread, Object.assign keep V8's fast shapes), then
// only their object-valued fields are replaced by copies: most fields are numbers and strings.
function copyObject(value: object, memo: Map<unknown, unknown>): unknown {
  if (Array.isArray(value)) {
    const out = value.slice();
    assert(out.length === value.length, 'copy of an array of %s items', value.length);
    memo.set(value, out);
    for (let i = 0; i < out.length; i++) {
      const item: unknown = out[i];
      if (typeof item === 'object' && item !== null) out[i] = copyValue(item, memo);
    }
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  // XState snapshots are never mutated (the world replaces them): shared wherever they are.
  if (isSnapshot(value)) return value;
  if (proto === Object.prototype) return copyFields(value, { ...value }, memo);
  if (value instanceof Map) {
    const out = new Map();
    memo.set(value, out);
    for (const [k, v] of value) out.set(copyValue(k, memo), copyValue(v, memo));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    memo.set(value, out);
    for (const v of value) out.add(copyValue(v, memo));
    return out;
  }
  if (value instanceof ArrayBuffer) {
    const out = value.slice(0);
    memo.set(value, out);
    return out;
  }
  if (ArrayBuffer.isView(value)) return copyView(value, memo);
  // A part that forks itself (copy-on-write: the disk's chunks, xenstore's nodes).
  const forkSelf = (value as Partial<ForksSelf>)[FORK_SELF];
  if (forkSelf !== undefined) {
    const out = forkSelf.call(value, (v) => copyValue(v, memo));
    assert(out !== value, 'a part forked itself into itself');
    memo.set(value, out);
    return out;
  }
  // A class instance: the same prototype, its own fields copied.
  return copyFields(value, Object.assign(Object.create(proto as object), value), memo);
}

function copyFields(value: object, out: Record<string, unknown>, memo: Map<unknown, unknown>) {
  memo.set(value, out);
  for (const key in out) {
    const field = out[key];
    if (typeof field === 'object' && field !== null) out[key] = copyValue(field, memo);
  }
  return out;
}

/** A view over the copy of its buffer: two views of one page stay aliases in the copy. */
function copyView(view: ArrayBufferView, memo: Map<unknown, unknown>): ArrayBufferView {
  const buffer = copyValue(view.buffer, memo) as ArrayBuffer;
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
  'observe',
  'config',
  'drivers',
  'env',
  'now',
  'actionCache',
  'sends',
]);

/** The world's hasher, plus field and class names hashed once per fingerprint (they repeat). */
interface Hash {
  readonly h: Hasher;
  readonly names: Map<string, number>;
  /** Ignore every cached hash (the parts' and the snapshots'): what the caches must agree with. */
  readonly fresh: boolean;
}

function mixName(hash: Hash, name: string): void {
  let code = hash.names.get(name);
  if (code === undefined) {
    code = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) code = Math.imul(code ^ name.charCodeAt(i), 0x01000193);
    hash.names.set(name, code);
  }
  hash.h.mix(code);
}

/** An XState snapshot: its state value, context and status are all the machine's state. */
function isSnapshot(value: object): value is { value: unknown; context: unknown; status: string } {
  return 'machine' in value && '_nodes' in value && 'context' in value;
}

function sortedKeys(keys: Iterable<unknown>): unknown[] {
  return [...keys].sort((x, y) => {
    const sx = typeof x === 'number' ? x : String(x);
    const sy = typeof y === 'number' ? y : String(y);
    if (typeof sx === 'number' && typeof sy === 'number') return sx - sy;
    return String(sx) < String(sy) ? -1 : String(sx) > String(sy) ? 1 : 0;
  });
}

/** Primitives by type tag and value; functions are behaviour, not state (tagged only). */
function mixPrimitive(h: Hasher, value: unknown): void {
  if (value === undefined) h.mix(0);
  else if (value === null) h.mix(1);
  else if (typeof value === 'boolean') h.mix(value ? 3 : 2);
  else if (typeof value === 'number') h.mixNumber(value);
  else if (typeof value === 'string') h.mixString(value);
  else h.mix(12);
}

/** Hashes `value`; objects seen before hash as their visit number (aliasing is state too). */
function mixValue(hash: Hash, value: unknown, seen: Map<object, number>): void {
  if (typeof value === 'object' && value !== null) {
    const visit = seen.get(value);
    if (visit !== undefined) {
      hash.h.mix(13);
      hash.h.mix(visit);
      return;
    }
  } else {
    mixPrimitive(hash.h, value);
    return;
  }
  seen.set(value, seen.size);
  mixObject(hash, value, seen);
}

function mixObject(hash: Hash, value: object, seen: Map<object, number>): void {
  const h = hash.h;
  if (Array.isArray(value)) {
    h.mix(6);
    h.mix(value.length);
    for (const item of value) mixValue(hash, item, seen);
  } else if (value instanceof Map) {
    h.mix(7);
    h.mix(value.size);
    // Insertion order is history (which key was added first), not state: keys are sorted.
    for (const key of sortedKeys(value.keys())) {
      mixValue(hash, key, seen);
      mixValue(hash, value.get(key), seen);
    }
  } else if (value instanceof Set) {
    h.mix(8);
    h.mix(value.size);
    for (const item of sortedKeys(value)) mixValue(hash, item, seen);
  } else if (value instanceof ArrayBuffer) {
    h.mix(10);
    h.mixBytes(new Uint8Array(value));
  } else if (ArrayBuffer.isView(value)) {
    // A view is its buffer (hashed once, however many views alias it) and its window.
    h.mix(9);
    mixValue(hash, value.buffer, seen);
    h.mix(value.byteOffset);
    h.mix(value.byteLength);
  } else if (isSnapshot(value)) {
    h.mix(14);
    mixSnapshot(h, value, hash.fresh);
  } else mixInstance(hash, value, seen);
}

function mixInstance(hash: Hash, value: object, seen: Map<object, number>): void {
  const h = hash.h;
  const hashSelf = (value as Partial<HashesSelf>)[HASH_SELF];
  assert(hashSelf === undefined || typeof hashSelf === 'function', 'a HASH_SELF that is no method');
  h.mix(11);
  mixName(hash, value.constructor?.name ?? '');
  // A part that hashes itself (cached while it is unchanged: xenstore, the disk).
  if (hashSelf !== undefined) {
    hashSelf.call(value, h, hash.fresh);
    return;
  }
  const fields = value as Record<string, unknown>;
  for (const key in fields) {
    if (LEFT_OUT.has(key) || isDerivedCache(value, key)) continue;
    mixName(hash, key);
    mixValue(hash, fields[key], seen);
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

/** DomainMemory's page views are made on first use over its runs' buffers: a cache, not state. */
function isDerivedCache(owner: object, key: string): boolean {
  return key === 'pages' && owner.constructor?.name === 'DomainMemory';
}

/**
 * A 64-bit hash (16 hex digits) of the world's protocol-visible state: machines, xenstore (tree,
 * watches, queued events, transactions), event channels, ring pages and both ends' private
 * indices, shadows, grant tables, the disk, guest memory, the guest's queues and the ledger.
 * See docs/architecture.md ("Fork and fingerprint") for what is deliberately left out.
 */
export function fingerprint(world: World, options: { readonly fresh?: boolean } = {}): string {
  const hash: Hash = { h: new Hasher(), names: new Map(), fresh: options.fresh === true };
  const seen = new Map<object, number>();
  mixValue(hash, world, seen);
  assert(seen.size > 1, 'fingerprint: the walk reached the world');
  return hash.h.hex();
}
