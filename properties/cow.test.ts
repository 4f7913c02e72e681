// Copy-on-write between forks (impl/blkback/disk.ts, impl/xen/xenstore.ts, impl/xen/memory.ts):
// a fork shares the parts' contents and copies a piece on its first write (guest memory: on the
// first page asked for of a run no view outside holds). The property: after a fork, the original
// and the fork each take their own operations, interleaved, and each behaves exactly as a part
// that was never forked and took the same operations (same results, same hash after every one,
// same contents at the end). Writing in the fork never changes the original, nor the other way.
// Teeth: variants that share a piece without copying it (the disk's chunks, xenstore's nodes,
// a run of guest memory that a view outside holds) are caught.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Disk } from '../impl/blkback/disk.ts';
import { FORK_SELF, type Forking, HASH_SELF, Hasher } from '../impl/hash.ts';
import { DomainMemory, type Frame, PAGE_SIZE } from '../impl/xen/memory.ts';
import { deepCopy, fingerprint } from '../impl/world/fork.ts';
import type { World } from '../impl/world/world.ts';
import type { Result } from '../impl/xen/result.ts';
import { Xenstore, type XsPermLetter } from '../impl/xen/xenstore.ts';

const forkOf = <T extends object>(part: T): T =>
  (part as unknown as { [FORK_SELF]: () => T })[FORK_SELF]();

function hashOf(part: object): string {
  const h = new Hasher();
  (part as { [HASH_SELF]: (h: Hasher, fresh: boolean) => void })[HASH_SELF](h, true);
  return h.hex();
}

/**
 * Runs `before` on a part, forks it, then runs `mine` on the original and `theirs` on the fork,
 * one operation of each in turn; two never-forked parts take the same operations as references.
 * Returns a description of the first disagreement, or undefined.
 */
function divergesFrom<P extends object, O>(
  make: () => P,
  apply: (part: P, op: O) => unknown,
  contents: (part: P) => unknown,
  before: readonly O[],
  mine: readonly O[],
  theirs: readonly O[],
  fork: (part: P) => P = forkOf,
  hash: (part: P) => string = hashOf,
): string | undefined {
  const original = make();
  const refMine = make();
  const refTheirs = make();
  for (const op of before) {
    apply(original, op);
    apply(refMine, op);
    apply(refTheirs, op);
  }
  const copy = fork(original);
  if (hash(copy) !== hash(original)) return 'the fork starts from another state';
  const sides = [
    { part: original, ref: refMine, ops: mine, name: 'original' },
    { part: copy, ref: refTheirs, ops: theirs, name: 'fork' },
  ];
  for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
    for (const side of sides) {
      const op = side.ops[i];
      if (op === undefined) continue;
      const got = JSON.stringify(apply(side.part, op));
      const want = JSON.stringify(apply(side.ref, op));
      if (got !== want) return `${side.name} op ${i}: ${got} vs ${want}`;
      if (hash(side.part) !== hash(side.ref)) return `${side.name} after op ${i}: state`;
    }
  }
  for (const side of sides) {
    if (JSON.stringify(contents(side.part)) !== JSON.stringify(contents(side.ref)))
      return `${side.name}: contents at the end`;
  }
  return undefined;
}

// ---- the disk

type DiskOp = { kind: 'write' | 'discard'; sector: number; count: number; fill: number };
const diskOp: fc.Arbitrary<DiskOp> = fc.record({
  kind: fc.constantFrom('write' as const, 'write' as const, 'discard' as const),
  sector: fc.nat(40),
  count: fc.integer({ min: 1, max: 12 }),
  fill: fc.integer({ min: 1, max: 255 }),
});

function applyDisk(disk: Disk, op: DiskOp): unknown {
  if (op.kind === 'discard') disk.discard(op.sector, op.count);
  else {
    const data = new Uint8Array(op.count * 512).fill(op.fill);
    data[0] = op.sector;
    disk.write(op.sector, data);
  }
  return disk.snapshot(op.sector, op.count).reduce((a, b) => (a * 31 + b) | 0, 0);
}

const diskProperty = fc.property(
  fc.array(diskOp, { minLength: 1, maxLength: 12 }),
  fc.array(diskOp, { maxLength: 12 }),
  fc.array(diskOp, { maxLength: 12 }),
  (before, mine, theirs) => {
    const found = divergesFrom(
      () => new Disk(64, false),
      applyDisk,
      (disk) => Array.from(disk.snapshot(0, 64)),
      before,
      mine,
      theirs,
    );
    if (found !== undefined) throw new Error(found);
  },
);

// ---- xenstore

type XsOp =
  | { kind: 'write'; dom: number; path: string; value: string; tx: number }
  | { kind: 'mkdir' | 'rm'; dom: number; path: string; tx: number }
  | { kind: 'setPerms'; dom: number; path: string; perm: XsPermLetter; tx: number }
  | { kind: 'watch' | 'unwatch'; dom: number; path: string }
  | { kind: 'take'; dom: number }
  | { kind: 'start'; dom: number }
  | { kind: 'end'; dom: number; tx: number; commit: boolean };

const PATHS = ['/a', '/a/b', '/a/c', '/a/b/e', '/d', '/local/domain/1/x'];
const dom = fc.constantFrom(0, 0, 1);
const path = fc.constantFrom(...PATHS);
/** 0: outside a transaction; n: the n-th transaction started so far (ids start at 1). */
const tx = fc.constantFrom(0, 0, 0, 1, 2);
const xsOp: fc.Arbitrary<XsOp> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    dom,
    path,
    value: fc.constantFrom('x', 'y'),
    tx,
  }),
  fc.record({ kind: fc.constantFrom('mkdir' as const, 'rm' as const), dom, path, tx }),
  fc.record({
    kind: fc.constant('setPerms' as const),
    dom,
    path,
    perm: fc.constantFrom<XsPermLetter>('n', 'r', 'b'),
    tx,
  }),
  fc.record({ kind: fc.constantFrom('watch' as const, 'unwatch' as const), dom, path }),
  fc.record({ kind: fc.constant('take' as const), dom }),
  fc.record({ kind: fc.constant('start' as const), dom }),
  fc.record({ kind: fc.constant('end' as const), dom, tx, commit: fc.boolean() }),
);

const shown = <T>(r: Result<T, string>): unknown => (r.ok ? ['ok', r.value] : r.error);

function applyXs(xs: Xenstore, op: XsOp): unknown {
  switch (op.kind) {
    case 'write':
      return shown(xs.write(op.dom, op.path, op.value, op.tx));
    case 'mkdir':
      return shown(xs.mkdir(op.dom, op.path, op.tx));
    case 'rm':
      return shown(xs.rm(op.dom, op.path, op.tx));
    case 'setPerms':
      return shown(xs.setPerms(op.dom, op.path, [{ dom: 1, perm: op.perm }], op.tx));
    case 'watch':
      return shown(xs.watch(op.dom, op.path, 't'));
    case 'unwatch':
      return shown(xs.unwatch(op.dom, op.path, 't'));
    case 'take':
      return xs.takeWatchEvent(op.dom) ?? null;
    case 'start':
      return xs.transactionStart(op.dom);
    case 'end':
      return shown(xs.transactionEnd(op.dom, op.tx, op.commit));
  }
}

function xsContents(xs: Xenstore): unknown {
  const tree = [...xs.snapshot('/')].map(([p, v]) => [p, v, shown(xs.getPerms(0, p))]);
  const events = [0, 1].map((d) => {
    const out: unknown[] = [];
    for (let e = xs.takeWatchEvent(d); e !== undefined; e = xs.takeWatchEvent(d)) out.push(e);
    return out;
  });
  return { tree, events, open: xs.openTransactions() };
}

const xsProperty = fc.property(
  fc.array(xsOp, { minLength: 1, maxLength: 20 }),
  fc.array(xsOp, { maxLength: 20 }),
  fc.array(xsOp, { maxLength: 20 }),
  (before, mine, theirs) => {
    const found = divergesFrom(() => new Xenstore(), applyXs, xsContents, before, mine, theirs);
    if (found !== undefined) throw new Error(found);
  },
);

// ---- guest memory, with page views held outside it (as rings and grant mappings hold them)

/** A domain's memory and the views others hold of it: what the world's fork copies together. */
interface Held {
  readonly memory: DomainMemory;
  readonly runs: [Frame, number][];
  readonly views: Uint8Array[];
}

type MemOp =
  | { kind: 'alloc'; count: number }
  | { kind: 'hold' | 'free'; run: number; page: number }
  | { kind: 'poke'; via: 'page' | 'view'; run: number; page: number; at: number; byte: number };

const memOp: fc.Arbitrary<MemOp> = fc.oneof(
  fc.record({ kind: fc.constant('alloc' as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    kind: fc.constantFrom('hold' as const, 'free' as const),
    run: fc.nat(),
    page: fc.nat(),
  }),
  fc.record({
    kind: fc.constant('poke' as const),
    via: fc.constantFrom('page' as const, 'page' as const, 'view' as const),
    run: fc.nat(),
    page: fc.nat(),
    at: fc.nat(PAGE_SIZE - 1),
    byte: fc.integer({ min: 1, max: 255 }),
  }),
);

function applyMem(held: Held, op: MemOp): unknown {
  if (op.kind === 'alloc') {
    held.runs.push([held.memory.allocPages(op.count), op.count]);
    return held.runs.length;
  }
  const run = held.runs[op.run % Math.max(1, held.runs.length)];
  if (run === undefined) return 'no run';
  const frame = run[0] + (op.page % run[1]);
  if (op.kind !== 'poke') {
    if (!held.memory.isAllocated(frame)) return 'freed';
    if (op.kind === 'free') held.memory.freePages(run[0], run[1]);
    else held.views.push(held.memory.page(frame));
    return held.views.length;
  }
  const view = held.views[op.run % Math.max(1, held.views.length)];
  if (op.via === 'view' && view !== undefined) {
    view[op.at] = op.byte;
    return view.reduce((a, b) => (a * 31 + b) | 0, 0);
  }
  if (!held.memory.isAllocated(frame)) return 'freed';
  const page = held.memory.page(frame);
  page[op.at] = op.byte;
  return page.reduce((a, b) => (a * 31 + b) | 0, 0);
}

/** Every allocated page's bytes and every held view's. */
function memContents(held: Held): unknown {
  const pages = held.runs.flatMap(([first, count]) =>
    Array.from({ length: count }, (_, i) =>
      held.memory.isAllocated(first + i) ? Array.from(held.memory.page(first + i)) : 'freed',
    ),
  );
  return { pages, views: held.views.map((v) => Array.from(v)) };
}

const heldFork = (held: Held): Held => deepCopy(held, []);
const heldHash = (held: Held): string => fingerprint(held as unknown as World, { fresh: true });

const memProperty = fc.property(
  fc.array(memOp, { minLength: 1, maxLength: 14 }),
  fc.array(memOp, { maxLength: 14 }),
  fc.array(memOp, { maxLength: 14 }),
  (before, mine, theirs) => {
    const make = (): Held => ({ memory: new DomainMemory(1), runs: [], views: [] });
    const first: MemOp = { kind: 'alloc', count: 2 };
    const found = divergesFrom(
      make,
      applyMem,
      memContents,
      [first, ...before],
      mine,
      theirs,
      heldFork,
      heldHash,
    );
    if (found !== undefined) throw new Error(found);
  },
);

/** Runs `body` with `method` of `proto` replaced; restores it whatever happens. */
function patched<T>(proto: object, method: string, replacement: unknown, body: () => T): T {
  const target = proto as Record<string, unknown>;
  const saved = target[method];
  target[method] = replacement;
  try {
    return body();
  } finally {
    target[method] = saved;
  }
}

describe('copy-on-write forks', () => {
  it('a forked disk and its original each behave as if never forked', () => {
    fc.assert(diskProperty, { numRuns: 100 });
  });

  it('a forked xenstore and its original each behave as if never forked', () => {
    fc.assert(xsProperty, { numRuns: 300 });
  });

  it('a forked guest memory and its original each behave as if never forked, views held', () => {
    fc.assert(memProperty, { numRuns: 80 });
  });

  it('teeth: a memory fork that shares a run a view outside holds is caught', () => {
    const proto = DomainMemory.prototype as unknown as Record<symbol, (f: Forking) => object>;
    const real = proto[FORK_SELF]!;
    // The fork never learns which buffers the world copied with their views: it shares them all.
    const blind = function (this: DomainMemory, fork: Forking): object {
      return real.call(this, {
        ...fork,
        copied: (v) => (v instanceof ArrayBuffer ? undefined : fork.copied(v)),
      });
    };
    proto[FORK_SELF] = blind;
    try {
      expect(fc.check(memProperty, { numRuns: 150, seed: 1, endOnFailure: true }).failed).toBe(
        true,
      );
    } finally {
      proto[FORK_SELF] = real;
    }
  });

  it('teeth: a disk that writes a shared chunk in place is caught', () => {
    type Chunks = { chunks: Map<number, Uint8Array> };
    const inPlace = function (this: Chunks, index: number): Uint8Array {
      let chunk = this.chunks.get(index);
      if (chunk === undefined) {
        chunk = new Uint8Array(4096);
        this.chunks.set(index, chunk);
      }
      return chunk;
    };
    const result = patched(Disk.prototype, 'writable', inPlace, () =>
      fc.check(diskProperty, { numRuns: 100, seed: 1, endOnFailure: true }),
    );
    expect(result.failed).toBe(true);
  });

  it('teeth: a xenstore fork that keeps writing shared nodes in place is caught', () => {
    type Owned = { store: { owner: object; nodes: Map<string, { owner: object }> } };
    const realFork = (Xenstore.prototype as unknown as Record<symbol, () => Xenstore>)[FORK_SELF]!;
    // Both sides keep the token the shared nodes carry: neither copies before writing.
    const sharing = function (this: Xenstore): Xenstore {
      const token = (this as unknown as Owned).store.nodes.get('/')!.owner;
      const copy = realFork.call(this);
      (this as unknown as Owned).store.owner = token;
      (copy as unknown as Owned).store.owner = token;
      return copy;
    };
    const proto = Xenstore.prototype as unknown as Record<symbol, unknown>;
    const saved = proto[FORK_SELF];
    proto[FORK_SELF] = sharing;
    try {
      expect(fc.check(xsProperty, { numRuns: 300, seed: 1, endOnFailure: true }).failed).toBe(true);
    } finally {
      proto[FORK_SELF] = saved;
    }
  });
});
