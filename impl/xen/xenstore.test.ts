import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DomId } from './memory.ts';
import type { Result } from './result.ts';
import { type TxId, type WatchEvent, type XsError, Xenstore } from './xenstore.ts';

const DOM0 = 0;
const GUEST = 1;
const OTHER = 2;
const FE = '/local/domain/1/device/vbd/51712';
const BE = '/local/domain/0/backend/vbd/1/51712';

function must<T>(result: Result<T, XsError>): T {
  if (!result.ok) throw new Error(`unexpected ${result.error}`);
  return result.value;
}

function drain(xs: Xenstore, dom: DomId): WatchEvent[] {
  const events: WatchEvent[] = [];
  for (let event = xs.takeWatchEvent(dom); event !== undefined; event = xs.takeWatchEvent(dom))
    events.push(event);
  return events;
}

/** What libxl does before the drivers start (the recorded xs-ls listings: FE n1,r0; BE n0,r1). */
function toolstack(): Xenstore {
  const xs = new Xenstore();
  must(xs.mkdir(DOM0, '/local/domain/1'));
  must(
    xs.setPerms(DOM0, '/local/domain/1', [
      { dom: DOM0, perm: 'n' },
      { dom: GUEST, perm: 'r' },
    ]),
  );
  must(xs.mkdir(DOM0, FE));
  must(
    xs.setPerms(DOM0, FE, [
      { dom: GUEST, perm: 'n' },
      { dom: DOM0, perm: 'r' },
    ]),
  );
  must(xs.write(DOM0, `${FE}/state`, '1'));
  must(
    xs.setPerms(DOM0, `${FE}/state`, [
      { dom: GUEST, perm: 'n' },
      { dom: DOM0, perm: 'r' },
    ]),
  );
  must(xs.mkdir(DOM0, BE));
  must(
    xs.setPerms(DOM0, BE, [
      { dom: DOM0, perm: 'n' },
      { dom: GUEST, perm: 'r' },
    ]),
  );
  must(xs.write(DOM0, `${BE}/state`, '1'));
  return xs;
}

describe('Xenstore tree', () => {
  it('write creates missing parents with empty values; directory lists in creation order', () => {
    const xs = new Xenstore();
    must(xs.write(DOM0, '/a/b/c', 'x'));
    must(xs.write(DOM0, '/a/a', 'y'));
    expect(must(xs.read(DOM0, '/a/b'))).toBe('');
    expect(must(xs.read(DOM0, '/a/b/c'))).toBe('x');
    expect(must(xs.directory(DOM0, '/a'))).toEqual(['b', 'a']);
    expect(xs.read(DOM0, '/a/z')).toEqual({ ok: false, error: 'ENOENT' });
    expect([...xs.snapshot('/a').keys()]).toEqual(['/a', '/a/b', '/a/b/c', '/a/a']);
  });

  it('rm is recursive, fine on an absent node, ENOENT without a parent, EINVAL on the root', () => {
    const xs = new Xenstore();
    must(xs.write(DOM0, '/a/b/c', 'x'));
    must(xs.rm(DOM0, '/a/b'));
    expect(xs.read(DOM0, '/a/b/c')).toEqual({ ok: false, error: 'ENOENT' });
    expect(must(xs.directory(DOM0, '/a'))).toEqual([]);
    expect(xs.rm(DOM0, '/a/b').ok).toBe(true);
    expect(xs.rm(DOM0, '/a/b/c')).toEqual({ ok: false, error: 'ENOENT' });
    expect(xs.rm(DOM0, '/')).toEqual({ ok: false, error: 'EINVAL' });
  });

  it('rejects malformed paths with EINVAL', () => {
    const xs = new Xenstore();
    for (const path of ['', '/a//b', '/a/', '/a b', '@introduceDomain', `/${'x'.repeat(3100)}`]) {
      expect(xs.write(DOM0, path, 'v')).toEqual({ ok: false, error: 'EINVAL' });
    }
  });

  it('resolves relative paths under /local/domain/<dom>', () => {
    const xs = toolstack();
    must(xs.write(GUEST, 'device/vbd/51712/ring-ref', '8'));
    expect(must(xs.read(DOM0, `${FE}/ring-ref`))).toBe('8');
  });
});

describe('Xenstore permissions', () => {
  it('lets the guest write its own device nodes and read the backend only where granted', () => {
    const xs = toolstack();
    must(xs.write(GUEST, `${FE}/state`, '3'));
    must(xs.write(GUEST, `${FE}/queue-0/ring-ref`, '8'));
    expect(must(xs.getPerms(DOM0, `${FE}/queue-0/ring-ref`))).toEqual([
      { dom: GUEST, perm: 'n' },
      { dom: DOM0, perm: 'r' },
    ]);
    expect(must(xs.read(GUEST, `${BE}/state`))).toBe('1');
    expect(xs.write(GUEST, `${BE}/state`, '4')).toEqual({ ok: false, error: 'EACCES' });
    expect(xs.write(GUEST, `${BE}/new`, '4')).toEqual({ ok: false, error: 'EACCES' });
    expect(xs.read(OTHER, `${BE}/state`)).toEqual({ ok: false, error: 'EACCES' });
    expect(xs.write(GUEST, '/local/domain/0/x', 'v')).toEqual({ ok: false, error: 'EACCES' });
  });

  it('hides existence behind an unreadable ancestor (errno_from_parents)', () => {
    const xs = toolstack();
    expect(xs.read(GUEST, `${BE}/absent`)).toEqual({ ok: false, error: 'ENOENT' });
    expect(xs.read(OTHER, `${BE}/absent`)).toEqual({ ok: false, error: 'EACCES' });
  });

  it('an unprivileged domain that creates a node owns it', () => {
    const xs = new Xenstore();
    must(xs.mkdir(DOM0, '/shared'));
    must(xs.setPerms(DOM0, '/shared', [{ dom: DOM0, perm: 'b' }]));
    must(xs.write(GUEST, '/shared/x', 'v'));
    expect(must(xs.getPerms(DOM0, '/shared/x'))).toEqual([{ dom: GUEST, perm: 'b' }]);
  });

  it('only the owner or dom0 sets permissions, and a guest cannot give a node away', () => {
    const xs = toolstack();
    const mine = [
      { dom: GUEST, perm: 'n' as const },
      { dom: DOM0, perm: 'b' as const },
    ];
    expect(xs.setPerms(GUEST, `${FE}/state`, mine).ok).toBe(true);
    expect(xs.setPerms(GUEST, `${BE}/state`, mine)).toEqual({ ok: false, error: 'EACCES' });
    expect(xs.setPerms(GUEST, `${FE}/state`, [{ dom: OTHER, perm: 'n' }])).toEqual({
      ok: false,
      error: 'EACCES',
    });
    expect(xs.setPerms(DOM0, `${FE}/state`, [])).toEqual({ ok: false, error: 'EINVAL' });
  });
});

describe('Xenstore watches', () => {
  it('fires once on registration, then for the path and every descendant, queued per domain', () => {
    const xs = toolstack();
    must(xs.watch(GUEST, `${BE}/state`, 'be-state'));
    must(xs.watch(DOM0, FE, 'fe'));
    expect(xs.pendingWatchDomains()).toEqual([DOM0, GUEST]);
    expect(xs.peekWatchEvent(GUEST)).toEqual({
      dom: GUEST,
      path: `${BE}/state`,
      token: 'be-state',
    });
    expect(drain(xs, GUEST)).toEqual([{ dom: GUEST, path: `${BE}/state`, token: 'be-state' }]);
    drain(xs, DOM0);
    must(xs.write(DOM0, `${BE}/state`, '2'));
    must(xs.write(GUEST, `${FE}/queue-0/ring-ref`, '8'));
    must(xs.write(GUEST, `${FE}/state`, '3'));
    expect(drain(xs, GUEST)).toEqual([{ dom: GUEST, path: `${BE}/state`, token: 'be-state' }]);
    expect(drain(xs, DOM0).map((e) => e.path)).toEqual([`${FE}/queue-0/ring-ref`, `${FE}/state`]);
    expect(xs.pendingWatchDomains()).toEqual([]);
  });

  it('rm fires exact events on removed descendants and on the removed node, bottom-up', () => {
    const xs = new Xenstore();
    must(xs.write(DOM0, '/d/q/r', 'v'));
    must(xs.watch(DOM0, '/d/q/r', 'leaf'));
    must(xs.watch(DOM0, '/d/q/absent', 'absent'));
    must(xs.watch(DOM0, '/d', 'top'));
    drain(xs, DOM0);
    must(xs.rm(DOM0, '/d/q'));
    expect(drain(xs, DOM0).map((e) => `${e.token}:${e.path}`)).toEqual(['leaf:/d/q/r', 'top:/d/q']);
  });

  it('mkdir fires only when it creates; relative watches give relative paths', () => {
    const xs = toolstack();
    must(xs.watch(GUEST, 'device', 'dev'));
    expect(drain(xs, GUEST)).toEqual([{ dom: GUEST, path: 'device', token: 'dev' }]);
    must(xs.mkdir(DOM0, `${FE}`));
    must(xs.mkdir(DOM0, '/local/domain/1/device/vbd/51728'));
    expect(drain(xs, GUEST)).toEqual([{ dom: GUEST, path: 'device/vbd/51728', token: 'dev' }]);
  });

  it('a watcher that may not read the node (nor its parent) gets no event', () => {
    const xs = toolstack();
    must(xs.watch(OTHER, BE, 'spy'));
    drain(xs, OTHER);
    must(xs.write(DOM0, `${BE}/state`, '4'));
    expect(drain(xs, OTHER)).toEqual([]);
  });

  it('reports duplicate watches and unknown unwatches', () => {
    const xs = new Xenstore();
    must(xs.watch(DOM0, '/x', 't'));
    expect(xs.watch(DOM0, '/x', 't')).toEqual({ ok: false, error: 'EEXIST' });
    expect(xs.watch(GUEST, '/x', 't').ok).toBe(true);
    must(xs.unwatch(DOM0, '/x', 't'));
    expect(xs.unwatch(DOM0, '/x', 't')).toEqual({ ok: false, error: 'ENOENT' });
    drain(xs, DOM0);
    must(xs.write(DOM0, '/x', 'v'));
    expect(xs.pendingWatchCount(DOM0)).toBe(0);
    // /x inherits the root's n0, which the guest may not read: only its initial firing is queued.
    expect(xs.pendingWatchCount(GUEST)).toBe(1);
  });
});

describe('Xenstore transactions', () => {
  it('writes are invisible to others and fire watches only at commit', () => {
    const xs = toolstack();
    must(xs.watch(DOM0, FE, 'fe'));
    drain(xs, DOM0);
    const tx = xs.transactionStart(GUEST);
    must(xs.write(GUEST, `${FE}/ring-ref`, '8', tx));
    must(xs.write(GUEST, `${FE}/event-channel`, '15', tx));
    expect(must(xs.read(GUEST, `${FE}/ring-ref`, tx))).toBe('8');
    expect(xs.read(DOM0, `${FE}/ring-ref`)).toEqual({ ok: false, error: 'ENOENT' });
    expect(xs.pendingWatchCount(DOM0)).toBe(0);
    expect(xs.openTransactions()).toBe(1);
    const writesBefore = xs.writeCount;
    must(xs.transactionEnd(GUEST, tx, true));
    expect(xs.writeCount).toBe(writesBefore + 2);
    expect(drain(xs, DOM0).map((e) => e.path)).toEqual([`${FE}/ring-ref`, `${FE}/event-channel`]);
    expect(must(xs.read(DOM0, `${FE}/event-channel`))).toBe('15');
    expect(xs.openTransactions()).toBe(0);
  });

  it('EAGAIN when a node it read, wrote or found absent changed since; the transaction is gone', () => {
    const cases: ((xs: Xenstore, tx: TxId) => void)[] = [
      (xs, tx) => must(xs.read(GUEST, `${BE}/state`, tx)),
      (xs, tx) => must(xs.write(GUEST, `${FE}/state`, '3', tx)),
      (xs, tx) => expect(xs.read(GUEST, `${BE}/absent`, tx).ok).toBe(false),
    ];
    const interferences: ((xs: Xenstore) => void)[] = [
      (xs) => must(xs.write(DOM0, `${BE}/state`, '2')),
      (xs) => must(xs.write(DOM0, `${FE}/state`, '5')),
      (xs) => must(xs.write(DOM0, `${BE}/absent`, 'now')),
    ];
    cases.forEach((use, i) => {
      const xs = toolstack();
      const tx = xs.transactionStart(GUEST);
      use(xs, tx);
      interferences[i]!(xs);
      expect(xs.transactionEnd(GUEST, tx, true)).toEqual({ ok: false, error: 'EAGAIN' });
      expect(xs.openTransactions()).toBe(0);
      expect(xs.transactionEnd(GUEST, tx, true)).toEqual({ ok: false, error: 'ENOENT' });
    });
  });

  it('commits when others only touched unrelated nodes; two creators under one parent conflict', () => {
    const xs = toolstack();
    const tx = xs.transactionStart(GUEST);
    must(xs.write(GUEST, `${FE}/state`, '3', tx));
    must(xs.write(DOM0, `${BE}/state`, '2'));
    expect(xs.transactionEnd(GUEST, tx, true).ok).toBe(true);
    const a = xs.transactionStart(GUEST);
    const b = xs.transactionStart(GUEST);
    must(xs.write(GUEST, `${FE}/x`, '1', a));
    must(xs.write(GUEST, `${FE}/y`, '1', b));
    expect(xs.transactionEnd(GUEST, a, true).ok).toBe(true);
    expect(xs.transactionEnd(GUEST, b, true)).toEqual({ ok: false, error: 'EAGAIN' });
  });

  it('a transaction whose lazily copied view went inconsistent cannot commit', () => {
    const xs = new Xenstore();
    must(xs.write(DOM0, '/a/x', 'v'));
    const tx = xs.transactionStart(DOM0);
    must(xs.read(DOM0, '/a/x', tx));
    must(xs.rm(DOM0, '/a'));
    expect(xs.rm(DOM0, '/a/x', tx).ok).toBe(true);
    expect(xs.transactionEnd(DOM0, tx, true)).toEqual({ ok: false, error: 'EAGAIN' });
    expect(xs.read(DOM0, '/a')).toEqual({ ok: false, error: 'ENOENT' });
  });

  it('abort discards; another domain cannot use the transaction', () => {
    const xs = toolstack();
    const tx = xs.transactionStart(GUEST);
    expect(xs.write(DOM0, `${FE}/x`, '1', tx)).toEqual({ ok: false, error: 'ENOENT' });
    must(xs.rm(GUEST, `${FE}/state`, tx));
    expect(xs.read(GUEST, `${FE}/state`, tx)).toEqual({ ok: false, error: 'ENOENT' });
    expect(xs.transactionEnd(DOM0, tx, true)).toEqual({ ok: false, error: 'ENOENT' });
    must(xs.transactionEnd(GUEST, tx, false));
    expect(must(xs.read(GUEST, `${FE}/state`))).toBe('1');
  });
});

// ---- Serializability of committed transactions --------------------------------------------

/** The slice of the API the property drives, so that a broken store can stand in. */
interface TxStore {
  read(dom: DomId, path: string, tx?: TxId): Result<string, XsError>;
  write(dom: DomId, path: string, value: string, tx?: TxId): Result<void, XsError>;
  rm(dom: DomId, path: string, tx?: TxId): Result<void, XsError>;
  transactionStart(dom: DomId): TxId;
  transactionEnd(dom: DomId, tx: TxId, commit: boolean): Result<void, XsError>;
  snapshot(prefix?: string): ReadonlyMap<string, string>;
}

type TxOp = { kind: 'read' | 'write' | 'rm' | 'end'; key: string; value: number };
type Step = TxOp & { actor: number };
const KEYS = ['a', 'b', 'a/x'];
const PLAIN_ACTOR = 3;
const ACTOR_DOMS: readonly DomId[] = [DOM0, GUEST, OTHER, GUEST];

const stepArb: fc.Arbitrary<Step> = fc.record({
  actor: fc.nat(PLAIN_ACTOR),
  kind: fc.constantFrom(
    'read' as const,
    'write' as const,
    'write' as const,
    'rm' as const,
    'end' as const,
  ),
  key: fc.constantFrom(...KEYS),
  value: fc.nat(9),
});

interface Unit {
  ops: { op: TxOp; seen: string }[];
}

function applyOp(store: TxStore, dom: DomId, op: TxOp, tx: TxId | undefined): string {
  const path = `/t/${op.key}`;
  if (op.kind === 'read') {
    const result = store.read(dom, path, tx);
    return result.ok ? result.value : result.error;
  }
  const result =
    op.kind === 'write' ? store.write(dom, path, `${op.value}`, tx) : store.rm(dom, path, tx);
  return result.ok ? 'ok' : result.error;
}

/** The reference: a flat map; write creates the parent, rm is recursive and needs the parent. */
function serialApply(serial: Map<string, string>, op: TxOp): string {
  const path = `/t/${op.key}`;
  const parent = path.slice(0, path.lastIndexOf('/'));
  if (op.kind === 'read') return serial.get(path) ?? 'ENOENT';
  if (op.kind === 'write') {
    if (parent !== '/t' && !serial.has(parent)) serial.set(parent, '');
    serial.set(path, `${op.value}`);
    return 'ok';
  }
  if (!serial.has(path) && parent !== '/t' && !serial.has(parent)) return 'ENOENT';
  for (const key of [...serial.keys()])
    if (key === path || key.startsWith(`${path}/`)) serial.delete(key);
  return 'ok';
}

function serializableProperty(make: () => TxStore) {
  return fc.property(fc.array(stepArb, { maxLength: 40 }), (steps) => {
    const store = make();
    for (const key of KEYS) must(store.write(DOM0, `/t/${key}`, '0'));
    const open = new Map<number, { tx: TxId; unit: Unit }>();
    const committed: Unit[] = [];
    const end = (actor: number, commit: boolean): void => {
      const current = open.get(actor)!;
      open.delete(actor);
      const result = store.transactionEnd(ACTOR_DOMS[actor]!, current.tx, commit);
      if (result.ok && commit) committed.push(current.unit);
    };
    for (const step of steps) {
      const dom = ACTOR_DOMS[step.actor]!;
      if (step.actor === PLAIN_ACTOR) {
        if (step.kind !== 'end')
          committed.push({ ops: [{ op: step, seen: applyOp(store, dom, step, undefined) }] });
        continue;
      }
      if (step.kind === 'end') {
        if (open.has(step.actor)) end(step.actor, step.value !== 0);
        continue;
      }
      if (!open.has(step.actor))
        open.set(step.actor, { tx: store.transactionStart(dom), unit: { ops: [] } });
      const current = open.get(step.actor)!;
      current.unit.ops.push({ op: step, seen: applyOp(store, dom, step, current.tx) });
    }
    for (const actor of [...open.keys()].sort()) end(actor, true);
    // Serial replay of the committed units, in commit order, on a plain map.
    const serial = new Map(KEYS.map((key) => [`/t/${key}`, '0']));
    for (const unit of committed) {
      for (const { op, seen } of unit.ops) {
        if (seen !== serialApply(serial, op)) return false;
      }
    }
    const final = new Map(store.snapshot('/t'));
    final.delete('/t');
    return JSON.stringify([...final].sort()) === JSON.stringify([...serial].sort());
  });
}

function sharedTree(): Xenstore {
  const xs = new Xenstore();
  must(xs.mkdir(DOM0, '/t'));
  must(xs.setPerms(DOM0, '/t', [{ dom: GUEST, perm: 'b' }]));
  return xs;
}

/** A transaction layer with no conflict check: buffered writes, last committer wins. */
class NoConflictCheck implements TxStore {
  private readonly live = sharedTree();
  private readonly buffers = new Map<TxId, Map<string, string | null>>();
  private next = 1;

  read(dom: DomId, path: string, tx?: TxId): Result<string, XsError> {
    const buffered = tx === undefined ? undefined : this.buffers.get(tx)?.get(path);
    if (buffered === null) return { ok: false, error: 'ENOENT' };
    return buffered !== undefined ? { ok: true, value: buffered } : this.live.read(dom, path);
  }
  write(dom: DomId, path: string, value: string, tx?: TxId): Result<void, XsError> {
    if (tx === undefined) return this.live.write(dom, path, value);
    this.buffers.get(tx)!.set(path, value);
    return { ok: true, value: undefined };
  }
  rm(dom: DomId, path: string, tx?: TxId): Result<void, XsError> {
    if (tx === undefined) return this.live.rm(dom, path);
    this.buffers.get(tx)!.set(path, null);
    return { ok: true, value: undefined };
  }
  transactionStart(): TxId {
    this.buffers.set(this.next, new Map());
    return this.next++;
  }
  transactionEnd(dom: DomId, tx: TxId, commit: boolean): Result<void, XsError> {
    const buffer = this.buffers.get(tx)!;
    this.buffers.delete(tx);
    if (commit)
      for (const [path, value] of buffer)
        value === null ? this.live.rm(dom, path) : this.live.write(dom, path, value);
    return { ok: true, value: undefined };
  }
  snapshot(prefix?: string): ReadonlyMap<string, string> {
    return this.live.snapshot(prefix);
  }
}

describe('Xenstore: committed transactions are serializable', () => {
  it('final store and every committed read equal the serial replay in commit order', () => {
    fc.assert(serializableProperty(sharedTree), { numRuns: 300 });
  });

  it('teeth: transactions without the generation check are caught', () => {
    expect(
      fc.check(
        serializableProperty(() => new NoConflictCheck()),
        { numRuns: 300 },
      ).failed,
    ).toBe(true);
  });
});

// ---- Watches: every write under a watched path reaches the watcher, and only the watcher ------

const WATCH_PATHS = ['/w', '/w/a', '/w/a/x', '/w/b', '/w/c/deep'];
const WRITE_PATHS = ['/w/a', '/w/a/x', '/w/a/y', '/w/b', '/w/b/z', '/w/c', '/w/c/deep/er'];
const WATCHERS: readonly DomId[] = [DOM0, GUEST, OTHER];

function isUnder(path: string, watched: string): boolean {
  return path === watched || path.startsWith(`${watched}/`);
}

/** `padded` registers unrelated watches first, so matching takes its ancestor-walk branch. */
function watchProperty(make: () => Xenstore, padded = false) {
  const registration = fc.record({
    dom: fc.constantFrom(...WATCHERS),
    path: fc.constantFrom(...WATCH_PATHS),
  });
  const writes = fc.array(fc.record({ path: fc.constantFrom(...WRITE_PATHS), tx: fc.boolean() }), {
    maxLength: 25,
  });
  return fc.property(
    fc.array(registration, { maxLength: 8 }),
    writes,
    (registrations, writeList) => {
      const xs = make();
      must(xs.mkdir(DOM0, '/w'));
      must(xs.setPerms(DOM0, '/w', [{ dom: DOM0, perm: 'r' }]));
      const PADDER = 3;
      for (let i = 0; padded && i < 10; i++) must(xs.watch(PADDER, `/pad/${i}`, 'pad'));
      drain(xs, PADDER);
      const watches = registrations.map((r, i) => ({ ...r, token: `t${i}` }));
      for (const w of watches) must(xs.watch(w.dom, w.path, w.token));
      for (const dom of WATCHERS) {
        const initial = watches
          .filter((w) => w.dom === dom)
          .map((w) => ({ dom, path: w.path, token: w.token }));
        if (JSON.stringify(drain(xs, dom)) !== JSON.stringify(initial)) return false;
      }
      for (const [i, write] of writeList.entries()) {
        const tx = write.tx ? xs.transactionStart(DOM0) : undefined;
        must(xs.write(DOM0, write.path, `${i}`, tx));
        if (tx !== undefined) must(xs.transactionEnd(DOM0, tx, true));
        for (const dom of WATCHERS) {
          const want = watches
            .filter((w) => w.dom === dom && isUnder(write.path, w.path))
            .map((w) => ({ dom, path: write.path, token: w.token }));
          if (JSON.stringify(drain(xs, dom)) !== JSON.stringify(want)) return false;
        }
      }
      return xs.pendingWatchDomains().length === 0;
    },
  );
}

/** A watch matcher that only fires for the watched path itself, never for descendants. */
class ExactPathWatches extends Xenstore {
  private readonly watched = new Set<string>();
  override watch(dom: DomId, path: string, token: string) {
    this.watched.add(`${dom}:${path}`);
    return super.watch(dom, path, token);
  }
  override takeWatchEvent(dom: DomId): WatchEvent | undefined {
    for (
      let event = super.takeWatchEvent(dom);
      event !== undefined;
      event = super.takeWatchEvent(dom)
    ) {
      if (this.watched.has(`${dom}:${event.path}`)) return event;
    }
    return undefined;
  }
}

describe('Xenstore: watches', () => {
  it('every write under a watched path queues one event for the watching domain, none for others', () => {
    fc.assert(
      watchProperty(() => new Xenstore()),
      { numRuns: 200 },
    );
    fc.assert(
      watchProperty(() => new Xenstore(), true),
      { numRuns: 100 },
    );
  });

  it('teeth: exact-path-only watch matching is caught', () => {
    expect(
      fc.check(
        watchProperty(() => new ExactPathWatches()),
        { numRuns: 200 },
      ).failed,
    ).toBe(true);
  });
});
