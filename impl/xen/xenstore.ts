// xenstored as the drivers see it (Xen's tools/xenstored core.c, watch.c, transaction.c;
// docs/misc/xenstore.txt): the node tree, permissions by domain, watches whose events are queued
// per connection (delivery is a separate world action, so a driver can act on a stale value,
// as xenbus callbacks do), and transactions that end with EAGAIN on a conflict.
//
// Fidelity notes, each mirroring the C daemon:
// - Permissions (perm_for_conn): dom0 and the owner (first entry) may do anything; otherwise the
//   first matching later entry applies, else the first entry's letter is the default. A missing
//   node reports EACCES instead of ENOENT when its nearest existing ancestor denies the access
//   (errno_from_parents). Created nodes inherit their parent's list, and an unprivileged creator
//   becomes the owner (construct_node).
// - Watches fire for the changed node and every ancestor's watch (is_child), with the changed
//   path; rm fires, bottom-up, an exact event on every removed descendant, so a watch on any
//   removed node fires. A watcher gets an event only if it may read the node, its parent, or
//   (setPerms) the old permissions (watch_permitted). Registering fires once at once.
// - Transactions (transaction.c): the first access to a node records its generation (or absence)
//   and a private copy; commit fails with EAGAIN if any accessed node's generation moved, which
//   includes a parent whose child list changed. Events of a transaction fire only at commit, one
//   per modified node, in first-access order. A transaction ends on commit, abort and EAGAIN.
// - Not modelled: quotas (E2BIG, ENOSPC, ENOMEM), DIRECTORY_PART, SET_TARGET, the duplicate-event
//   suppression of newer xenstored, XS_PERM_IGNORE. Unprivileged owner change is EPERM in C and
//   'EACCES' here (XsError has no EPERM).
import { assert } from '../assert.ts';
import { FORK_SELF, type ForksSelf, HASH_SELF, Hasher, HashSum, type HashesSelf } from '../hash.ts';
import type { DomId } from './memory.ts';
import { err, OK_VOID, ok, type Result } from './result.ts';

export type XsError = 'ENOENT' | 'EACCES' | 'EAGAIN' | 'EINVAL' | 'EEXIST' | 'ENOTEMPTY';
export type TxId = number;
export type XsPermLetter = 'n' | 'r' | 'w' | 'b';
export interface XsPerm {
  readonly dom: DomId;
  readonly perm: XsPermLetter;
}
export interface WatchEvent {
  readonly dom: DomId;
  readonly path: string;
  readonly token: string;
}

/** Domain 0 is the privileged domain (domain_is_unprivileged is false only for it here). */
export const XS_PRIVILEGED_DOMID: DomId = 0;
/** XENSTORE_ABS_PATH_MAX in xs_wire.h. */
export const XENSTORE_ABS_PATH_MAX = 3072;
/** Generation of a node that does not exist (NO_GENERATION in transaction.c). */
const NO_GENERATION = 0;

const PERM_READ = 1;
const PERM_WRITE = 2;
const PERM_OWNER = 4;
const PERM_BITS: Readonly<Record<XsPermLetter, number>> = { n: 0, r: 1, w: 2, b: 3 };

interface XsNode {
  value: string;
  /** Immutable once stored; inherited lists are shared by reference. */
  perms: readonly XsPerm[];
  /** Leaf names in creation order, as xenstored's child list. */
  children: string[];
  generation: number;
  /**
   * The committed store that may change this node in place (copy-on-write between forks: a
   * fork shares every node, and whichever side writes one first writes its own copy).
   */
  owner: object;
  /** The node's hash (value, permissions, children) while `hashed`; cleared on every change. */
  hashed: boolean;
  hashA: number;
  hashB: number;
}

/** A node's copy that `owner` may change: same contents, no cached hash. */
function copyNode(node: XsNode, owner: object): XsNode {
  assert(node.perms.length > 0, 'copy of a node without an owner (value %s)', node.value);
  return {
    value: node.value,
    perms: node.perms,
    children: node.children.slice(),
    generation: node.generation,
    owner,
    hashed: false,
    hashA: 0,
    hashB: 0,
  };
}

function newNode(value: string, perms: readonly XsPerm[], owner: object): XsNode {
  // Permission lists are shared between nodes (inherited by reference): they must not change.
  assert(perms.length > 0 && Object.isFrozen(perms), 'a node with %s mutable perms', perms.length);
  return {
    value,
    perms,
    children: [],
    generation: NO_GENERATION,
    owner,
    hashed: false,
    hashA: 0,
    hashB: 0,
  };
}

interface Watch {
  readonly dom: DomId;
  /** Canonical (absolute or @special) path. */
  readonly node: string;
  readonly token: string;
  /** Characters stripped from event paths for a relative watch (get_watch_path). */
  readonly prefixLength: number;
  /** Registration order: events of one change reach a domain in this order. */
  readonly seq: number;
}

/** One transaction's record of a node (transaction.c accessed_node). */
interface Access {
  readonly generation: number;
  /** The transaction's private copy; null while absent in the transaction's view. */
  node: XsNode | null;
  readonly originalPerms: readonly XsPerm[] | undefined;
  modified: boolean;
  fire: boolean;
  exact: boolean;
}

/** Where an operation reads and writes: the committed store or a transaction's view. */
interface View {
  get(path: string): XsNode | undefined;
  /**
   * `node` (from get) is about to change in place: the node to change. The committed store
   * copies a node it shares with a fork first; a transaction's nodes are its own already.
   */
  writable(path: string, node: XsNode): XsNode;
  /** A node created in this view (generation 0, no children). */
  create(value: string, perms: readonly XsPerm[]): XsNode;
  /** `node` (from writable, or create) changed; record it. */
  put(path: string, node: XsNode): void;
  remove(path: string): void;
  fire(
    path: string,
    exact: boolean,
    node: XsNode,
    parent: XsNode | undefined,
    originalPerms: readonly XsPerm[] | undefined,
  ): void;
  wrote(): void;
  /**
   * The view disagrees with itself (a child list copied at one time, a child at another). Only a
   * transaction's lazily copied view can: one of those nodes changed since its first access, so
   * the commit must fail (xenstored calls fail_transaction). In the committed store it is our bug.
   */
  inconsistent(what: string): void;
}

const E_ENOENT = err('ENOENT' as const);
const E_EACCES = err('EACCES' as const);
const E_EAGAIN = err('EAGAIN' as const);
const E_EINVAL = err('EINVAL' as const);
const E_EEXIST = err('EEXIST' as const);

/**
 * xenstored's valid path characters (A-Z a-z 0-9 - / _ @), tested by char code: every xenstore
 * operation canonicalizes its path, and a regular expression costs several times this loop.
 */
function validPathChars(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    const digit = c >= 48 && c <= 57;
    if (!letter && !digit && c !== 45 && c !== 47 && c !== 95 && c !== 64) return false;
  }
  return true;
}
const ROOT_PERMS: readonly XsPerm[] = Object.freeze([
  Object.freeze({ dom: 0, perm: 'n' as const }),
]);

export function parentPath(path: string): string {
  assert(path.charCodeAt(0) === 47, 'parent of %s, which is no absolute path', path);
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function childPath(parent: string, leaf: string): string {
  assert(leaf.length > 0 && parent.charCodeAt(0) === 47, 'child %s of %s', leaf, parent);
  return parent === '/' ? `/${leaf}` : `${parent}/${leaf}`;
}

/** Up to this many distinct watched paths, matching scans them instead of walking ancestors. */
const WATCHED_PATHS_SCAN_MAX = 8;

/** watch.c is_child(): `child` equals `parent` or lies below it; everything is below "/". */
function isChild(child: string, parent: string): boolean {
  assert(parent.length > 0, 'watch on an empty path (under %s)', child);
  if (parent === '/') return true;
  if (!child.startsWith(parent)) return false;
  return child.length === parent.length || child.charCodeAt(parent.length) === 47 /* / */;
}

function permFor(dom: DomId, perms: readonly XsPerm[]): number {
  const owner = perms[0];
  assert(owner !== undefined, 'node without permissions');
  if (dom === XS_PRIVILEGED_DOMID || owner.dom === dom) return PERM_READ | PERM_WRITE | PERM_OWNER;
  for (let i = 1; i < perms.length; i++) {
    const entry = perms[i]!;
    if (entry.dom === dom) return PERM_BITS[entry.perm];
  }
  return PERM_BITS[owner.perm];
}

const ERRORS: Readonly<Record<XsError, Result<never, XsError>>> = {
  ENOENT: E_ENOENT,
  EACCES: E_EACCES,
  EAGAIN: E_EAGAIN,
  EINVAL: E_EINVAL,
  EEXIST: E_EEXIST,
  ENOTEMPTY: err('ENOTEMPTY'),
};

/** canonicalize(): relative paths are under /local/domain/<dom>; EINVAL is reported as undefined. */
function canonicalize(dom: DomId, path: string, allowSpecial: boolean): string | undefined {
  if (path.length === 0 || !validPathChars(path)) return undefined;
  const first = path.charCodeAt(0);
  if (first === 64 /* @ */) return allowSpecial ? path : undefined;
  const name = first === 47 /* / */ ? path : `/local/domain/${dom}/${path}`;
  if (name.length > 1 && name.charCodeAt(name.length - 1) === 47) return undefined;
  if (name.includes('//') || name.length > XENSTORE_ABS_PATH_MAX) return undefined;
  assert(name.endsWith(path), 'canonical %s does not end with the path asked for', name);
  return name;
}

function inheritPerms(parentPerms: readonly XsPerm[], dom: DomId): readonly XsPerm[] {
  const owner = parentPerms[0];
  assert(owner !== undefined, 'a parent without permissions (creator dom %s)', dom);
  if (dom === XS_PRIVILEGED_DOMID || owner.dom === dom) return parentPerms;
  // construct_node: "Inherit permissions, unpriv domains own what they create."
  return Object.freeze([Object.freeze({ dom, perm: owner.perm }), ...parentPerms.slice(1)]);
}

/** The committed store plus watches and their per-domain queues. */
class Store {
  /** Path to node; shared with a fork until either side stores or removes a node (ownNodes). */
  nodes = new Map<string, XsNode>();
  private nodesShared = false;
  generation = NO_GENERATION;
  writes = 0;
  readonly watchesByPath = new Map<string, Watch[]>();
  readonly watchesByDom = new Map<DomId, Watch[]>();
  watchSeq = 0;
  readonly queues = new Map<DomId, { events: WatchEvent[]; head: number }>();
  private readonly matched: Watch[] = [];
  /** The token of the nodes this store changes in place; a fork gives both sides new ones. */
  owner: object = {};

  /**
   * A store that shares every node with this one: both sides get a new owner token, so the
   * first change of a node on either side copies it. Watch lists and queues are small: copied.
   */
  fork(): Store {
    const copy = new Store();
    this.owner = {};
    // Most forks in a search never write xenstore: the map is shared until one side does.
    copy.nodes = this.nodes;
    copy.nodesShared = true;
    this.nodesShared = true;
    copy.generation = this.generation;
    copy.writes = this.writes;
    // Watch objects are immutable: the lists are copied, the watches shared.
    for (const [path, list] of this.watchesByPath) copy.watchesByPath.set(path, list.slice());
    for (const [dom, list] of this.watchesByDom) copy.watchesByDom.set(dom, list.slice());
    copy.watchSeq = this.watchSeq;
    for (const [dom, queue] of this.queues)
      copy.queues.set(dom, { events: queue.events.slice(), head: queue.head });
    assert(copy.owner !== this.owner && copy.nodes.size === this.nodes.size, 'store fork');
    return copy;
  }

  /** The node map for a change: this store's own (copied first if a fork shares it). */
  ownNodes(): Map<string, XsNode> {
    if (this.nodesShared) {
      this.nodes = new Map(this.nodes);
      this.nodesShared = false;
    }
    return this.nodes;
  }

  enqueue(dom: DomId, path: string, token: string): void {
    let queue = this.queues.get(dom);
    if (queue === undefined) {
      queue = { events: [], head: 0 };
      this.queues.set(dom, queue);
    }
    assert(queue.head <= queue.events.length, 'dom %s: watch queue head past its tail', dom);
    queue.events.push({ dom, path, token });
  }

  /** fire_watches(): `exact` only for descendants removed by a recursive rm. */
  fireWatches(
    name: string,
    exact: boolean,
    node: XsNode | undefined,
    parent: XsNode | undefined,
    originalPerms: readonly XsPerm[] | undefined,
  ): void {
    if (this.watchesByPath.size === 0) return;
    // An exact event is a removed descendant's: never the root's.
    assert(!exact || name !== '/', 'exact event for %s', name);
    const matched = this.matched;
    assert(matched.length === 0, 'fireWatches re-entered while firing %s', name);
    if (exact) {
      const here = this.watchesByPath.get(name);
      if (here !== undefined) for (const watch of here) matched.push(watch);
    } else if (this.watchesByPath.size <= WATCHED_PATHS_SCAN_MAX) {
      // is_child(name, watch->node) over the few watched paths: cheaper than slicing ancestors.
      for (const [path, here] of this.watchesByPath) {
        if (isChild(name, path)) for (const watch of here) matched.push(watch);
      }
    } else {
      // The watches on `name` and on each of its ancestors: depth lookups, whatever the count.
      for (let path = name; ; path = parentPath(path)) {
        const here = this.watchesByPath.get(path);
        if (here !== undefined) for (const watch of here) matched.push(watch);
        if (path === '/') break;
      }
    }
    if (matched.length === 0) return;
    if (matched.length > 1) matched.sort((a, b) => a.seq - b.seq);
    for (const watch of matched) {
      if (!this.watchPermitted(watch.dom, name, node, parent, originalPerms)) continue;
      const path = watch.prefixLength === 0 ? name : name.slice(watch.prefixLength);
      this.enqueue(watch.dom, path, watch.token);
    }
    matched.length = 0;
  }

  /** watch_permitted(): the old permissions, the node, or its parent must be readable. */
  private watchPermitted(
    dom: DomId,
    name: string,
    node: XsNode | undefined,
    parent: XsNode | undefined,
    originalPerms: readonly XsPerm[] | undefined,
  ): boolean {
    assert(node === undefined || node.perms.length > 0, 'watched node %s has no owner', name);
    if (originalPerms !== undefined && (permFor(dom, originalPerms) & PERM_READ) !== 0) return true;
    if (node === undefined) return false;
    if ((permFor(dom, node.perms) & PERM_READ) !== 0) return true;
    const above = parent ?? (name === '/' ? undefined : this.nodes.get(parentPath(name)));
    return above !== undefined && (permFor(dom, above.perms) & PERM_READ) !== 0;
  }
}

/** Operations outside any transaction act on the committed store and fire at once. */
class CommittedView implements View {
  constructor(private readonly store: Store) {
    assert(store.nodes.has('/'), 'a committed store without its root');
  }

  get(path: string): XsNode | undefined {
    assert(path.charCodeAt(0) === 47, 'lookup of %s, which is no absolute path', path);
    return this.store.nodes.get(path);
  }

  writable(path: string, node: XsNode): XsNode {
    assert(this.store.nodes.get(path) === node, 'writable %s: not the stored node', path);
    if (node.owner === this.store.owner) {
      node.hashed = false;
      return node;
    }
    const mine = copyNode(node, this.store.owner);
    this.store.ownNodes().set(path, mine);
    return mine;
  }

  create(value: string, perms: readonly XsPerm[]): XsNode {
    assert(this.store.nodes.has('/'), 'a node created in a store without root (%s)', value);
    return newNode(value, perms, this.store.owner);
  }

  /** A new node (generation 0) is stored; a known one must already be the stored one. */
  put(path: string, node: XsNode): void {
    if (node.generation === NO_GENERATION) this.store.ownNodes().set(path, node);
    else assert(this.store.nodes.get(path) === node, 'put %s: not the stored node', path);
    assert(
      node.owner === this.store.owner && !node.hashed,
      'put %s: not written through writable',
      path,
    );
    node.generation = ++this.store.generation;
  }

  remove(path: string): void {
    assert(path !== '/', 'the root node removed');
    const removed = this.store.ownNodes().delete(path);
    assert(removed, 'removed %s, which was not stored', path);
  }

  fire(
    path: string,
    exact: boolean,
    node: XsNode,
    parent: XsNode | undefined,
    originalPerms: readonly XsPerm[] | undefined,
  ): void {
    // Outside a transaction a change fires once stored (a removed node: once removed).
    const live = this.store.nodes.get(path);
    assert(live === undefined || live === node, 'fired %s, which is not the stored node', path);
    this.store.fireWatches(path, exact, node, parent, originalPerms);
  }

  wrote(): void {
    assert(this.store.generation > NO_GENERATION, 'a write before the root existed');
    this.store.writes++;
  }

  inconsistent(what: string): void {
    assert(false, 'xenstore tree corrupt: %s', what);
  }
}

/** A transaction's view: private copies made at first access, events queued until commit. */
class TransactionView implements View {
  readonly accessed = new Map<string, Access>();
  writeOps = 0;
  private doomed = false;

  constructor(
    private readonly store: Store,
    readonly dom: DomId,
  ) {
    assert(Number.isInteger(dom) && dom >= 0, 'transaction of domain %s', dom);
  }

  get(path: string): XsNode | undefined {
    assert(path.charCodeAt(0) === 47, 'lookup of %s, which is no absolute path', path);
    const known = this.accessed.get(path);
    if (known !== undefined) return known.node ?? undefined;
    const live = this.store.nodes.get(path);
    // The transaction's private copy: it becomes the store's own node if the commit succeeds.
    const copy: XsNode | null = live === undefined ? null : copyNode(live, this.store.owner);
    this.accessed.set(path, {
      generation: live === undefined ? NO_GENERATION : live.generation,
      node: copy,
      originalPerms: live?.perms,
      modified: false,
      fire: false,
      exact: false,
    });
    return copy ?? undefined;
  }

  writable(path: string, node: XsNode): XsNode {
    assert(this.accessed.get(path)?.node === node, "writable %s: not the transaction's", path);
    node.hashed = false;
    return node;
  }

  create(value: string, perms: readonly XsPerm[]): XsNode {
    assert(this.store.nodes.has('/'), 'a node created in a store without root (%s)', value);
    return newNode(value, perms, this.store.owner);
  }

  put(path: string, node: XsNode): void {
    const access = this.access(path);
    // The transaction's copy is private: a node of the committed store never enters it.
    assert(this.store.nodes.get(path) !== node, 'transaction put the live node %s', path);
    access.node = node;
    access.modified = true;
  }

  remove(path: string): void {
    assert(path !== '/', 'the root node removed in a transaction');
    const access = this.access(path);
    access.node = null;
    access.modified = true;
  }

  /** queue_watches(): a non-exact event replaces an exact one, never the other way round. */
  fire(path: string, exact: boolean): void {
    const access = this.access(path);
    assert(access.modified, 'transaction fires %s, which it did not change', path);
    if (!access.fire) {
      access.fire = true;
      access.exact = exact;
    } else if (!exact) {
      access.exact = false;
    }
  }

  wrote(): void {
    assert(this.accessed.size > 0, 'transaction of dom %s wrote without a node', this.dom);
    this.writeOps++;
  }

  inconsistent(): void {
    assert(this.accessed.size > 0, 'transaction of dom %s saw no node', this.dom);
    this.doomed = true;
  }

  /** finalize_transaction(): check every generation, then publish, then fire. */
  commit(): Result<void, XsError> {
    const nodes = this.store.nodes;
    if (this.doomed) return E_EAGAIN;
    for (const [path, access] of this.accessed) {
      const live = nodes.get(path);
      if ((live === undefined ? NO_GENERATION : live.generation) !== access.generation)
        return E_EAGAIN;
    }
    for (const [path, access] of this.accessed) {
      if (!access.modified) continue;
      if (access.node === null) {
        this.store.ownNodes().delete(path);
        continue;
      }
      access.node.generation = ++this.store.generation;
      // The store's token now: a fork since this transaction's first access changed it.
      access.node.owner = this.store.owner;
      access.node.hashed = false;
      assert(access.node.generation > access.generation, 'commit of %s went back', path);
      this.store.ownNodes().set(path, access.node);
    }
    for (const [path, access] of this.accessed) {
      if (!access.fire) continue;
      this.store.fireWatches(path, access.exact, nodes.get(path), undefined, access.originalPerms);
    }
    this.store.writes += this.writeOps;
    return OK_VOID;
  }

  /** The same transaction over `store` (a fork's), with private copies of its own copies. */
  forkOnto(store: Store): TransactionView {
    const copy = new TransactionView(store, this.dom);
    for (const [path, access] of this.accessed) {
      const node = access.node === null ? null : copyNode(access.node, store.owner);
      copy.accessed.set(path, { ...access, node });
    }
    copy.writeOps = this.writeOps;
    copy.doomed = this.doomed;
    assert(
      copy.accessed.size === this.accessed.size,
      'transaction fork of %s nodes',
      copy.accessed.size,
    );
    return copy;
  }

  /**
   * What decides the commit and its effects: the nodes in first-access order (that order is the
   * events' order), each one's private copy and flags, and whether its live node still has the
   * generation the first access saw (generations are only ever compared for equality).
   */
  mixInto(h: Hasher): void {
    assert(this.store.nodes.has('/'), 'transaction of dom %s over a store without root', this.dom);
    h.mix(this.dom);
    h.mix(this.doomed ? 1 : 0);
    h.mix(this.accessed.size);
    for (const [path, access] of this.accessed) {
      h.mixString(path);
      const live = this.store.nodes.get(path);
      h.mix((live === undefined ? NO_GENERATION : live.generation) === access.generation ? 1 : 0);
      h.mix(access.generation === NO_GENERATION ? 1 : 0);
      if (access.node === null) h.mix(0);
      else mixNodeContents(h, access.node);
      mixPerms(h, access.originalPerms);
      h.mix((access.modified ? 1 : 0) | (access.fire ? 2 : 0) | (access.exact ? 4 : 0));
    }
  }

  private access(path: string): Access {
    const access = this.accessed.get(path);
    assert(access !== undefined, 'transaction changed %s without reading it first', path);
    return access;
  }
}

function mixPerms(h: Hasher, perms: readonly XsPerm[] | undefined): void {
  if (perms === undefined) {
    h.mix(0xffffffff);
    return;
  }
  assert(perms.length > 0, 'permissions without an owner');
  h.mix(perms.length);
  for (const entry of perms) {
    h.mix(entry.dom);
    h.mix(PERM_BITS[entry.perm]);
  }
}

/** A node's value, permissions and child list (in order): all a peer can read of it. */
function mixNodeContents(h: Hasher, node: XsNode): void {
  assert(node.perms.length > 0, 'hash of a node without an owner (value %s)', node.value);
  h.mixString(node.value);
  mixPerms(h, node.perms);
  h.mix(node.children.length);
  for (const child of node.children) h.mixString(child);
}

/** A stored node's hash with its path, kept on the node until it changes. */
function nodeHash(path: string, node: XsNode, fresh: boolean): Hasher {
  const one = new Hasher();
  if (node.hashed && !fresh) {
    one.a = node.hashA;
    one.b = node.hashB;
    return one;
  }
  one.mixString(path);
  mixNodeContents(one, node);
  node.hashA = one.a;
  node.hashB = one.b;
  node.hashed = true;
  assert(one.a === node.hashA, 'node %s: hash not kept', path);
  return one;
}

/** get_node() with its permission check; a string is the error xenstored would reply. */
function getNode(view: View, dom: DomId, name: string, perm: number): XsNode | XsError {
  assert(perm > 0 && perm <= (PERM_READ | PERM_WRITE | PERM_OWNER), 'permission %s', perm);
  const node = view.get(name);
  if (node !== undefined && (permFor(dom, node.perms) & perm) === perm) return node;
  return errnoFromParents(view, dom, name, node === undefined ? 'ENOENT' : 'EACCES', perm);
}

/** errno_from_parents(): hide a node's existence from a domain its nearest ancestor refuses. */
function errnoFromParents(
  view: View,
  dom: DomId,
  name: string,
  errnum: XsError,
  perm: number,
): XsError {
  assert(errnum === 'ENOENT' || errnum === 'EACCES', 'errno_from_parents of %s', errnum);
  for (let path = name; path !== '/'; ) {
    path = parentPath(path);
    const node = view.get(path);
    if (node !== undefined) return (permFor(dom, node.perms) & perm) !== 0 ? errnum : 'EACCES';
  }
  return 'EACCES';
}

/** construct_node() + create_node(): missing ancestors are created empty, top-down. */
function createNode(view: View, dom: DomId, name: string, value: string): XsNode {
  const missing: string[] = [name];
  let parentName = parentPath(name);
  let parent = view.get(parentName);
  while (parent === undefined) {
    assert(parentName !== '/', 'the root node is missing');
    missing.push(parentName);
    parentName = parentPath(parentName);
    parent = view.get(parentName);
  }
  let node = parent;
  for (let i = missing.length - 1; i >= 0; i--) {
    const path = missing[i]!;
    parent = view.writable(parentName, parent);
    node = view.create(i === 0 ? value : '', inheritPerms(parent.perms, dom));
    const leaf = path.slice(path.lastIndexOf('/') + 1);
    if (parent.children.includes(leaf)) view.inconsistent(`${path} absent but listed`);
    else parent.children.push(leaf);
    view.put(parentName, parent);
    view.put(path, node);
    parent = node;
    parentName = path;
  }
  assert(
    node.value === value && view.get(name) === node,
    'createNode: the new node is not visible',
  );
  return node;
}

function doWrite(view: View, dom: DomId, name: string, value: string): Result<void, XsError> {
  const found = getNode(view, dom, name, PERM_WRITE);
  if (typeof found !== 'string') {
    const node = view.writable(name, found);
    node.value = value;
    view.put(name, node);
    view.fire(name, false, node, undefined, undefined);
    view.wrote();
    return OK_VOID;
  }
  if (found !== 'ENOENT') return ERRORS[found];
  const created = createNode(view, dom, name, value);
  assert(created.value === value, 'write of %s stored another value', name);
  view.fire(name, false, created, undefined, undefined);
  view.wrote();
  return OK_VOID;
}

function doMkdir(view: View, dom: DomId, name: string): Result<void, XsError> {
  const found = getNode(view, dom, name, PERM_WRITE);
  if (typeof found !== 'string') return OK_VOID;
  if (found !== 'ENOENT') return ERRORS[found];
  const created = createNode(view, dom, name, '');
  assert(created.children.length === 0, 'mkdir of %s made a node with children', name);
  view.fire(name, false, created, undefined, undefined);
  view.wrote();
  return OK_VOID;
}

/** do_rm(): absent is fine if the parent exists; removal is recursive and fires bottom-up. */
function doRm(view: View, dom: DomId, name: string, nodeCountMax: number): Result<void, XsError> {
  const found = getNode(view, dom, name, PERM_WRITE);
  if (typeof found === 'string') {
    if (found !== 'ENOENT') return ERRORS[found];
    return view.get(parentPath(name)) !== undefined ? OK_VOID : E_ENOENT;
  }
  if (name === '/') return E_EINVAL;
  const parentName = parentPath(name);
  const parent = view.get(parentName);
  if (parent === undefined) {
    view.inconsistent(`${name} present without its parent`);
    return OK_VOID;
  }
  removeSubtree(view, name, found, parent, nodeCountMax);
  const index = parent.children.indexOf(name.slice(name.lastIndexOf('/') + 1));
  const changed = view.writable(parentName, parent);
  if (index < 0) view.inconsistent(`${name} present but not listed`);
  else changed.children.splice(index, 1);
  assert(view.get(name) === undefined, 'rm of %s left it in place', name);
  view.put(parentName, changed);
  view.wrote();
  return OK_VOID;
}

/** delnode_sub() over walk_node_tree(): post-order, exact events below the root of the rm. */
function removeSubtree(
  view: View,
  root: string,
  rootNode: XsNode,
  rootParent: XsNode,
  nodeCountMax: number,
): void {
  const stack = [{ path: root, node: rootNode, parent: rootParent, next: 0 }];
  for (let visits = 0; stack.length > 0; visits++) {
    assert(visits <= 2 * nodeCountMax, 'rm: walk exceeded the node count');
    const top = stack[stack.length - 1]!;
    if (top.next < top.node.children.length) {
      const path = childPath(top.path, top.node.children[top.next++]!);
      const child = view.get(path);
      if (child === undefined) view.inconsistent(`${path} listed but absent`);
      else stack.push({ path, node: child, parent: top.node, next: 0 });
      continue;
    }
    stack.pop();
    assert(top.next === top.node.children.length, 'rm removed %s before its children', top.path);
    view.remove(top.path);
    view.fire(top.path, top.path !== root, top.node, top.parent, top.node.perms);
  }
}

function validPerms(perms: readonly XsPerm[]): boolean {
  if (perms.length === 0) return false;
  for (const entry of perms) {
    if (!Number.isInteger(entry.dom) || entry.dom < 0 || entry.dom > 0xffff) return false;
    if (!Object.hasOwn(PERM_BITS, entry.perm)) return false;
  }
  return true;
}

function doSetPerms(
  view: View,
  dom: DomId,
  name: string,
  perms: readonly XsPerm[],
): Result<void, XsError> {
  if (!validPerms(perms)) return E_EINVAL;
  const found = getNode(view, dom, name, PERM_WRITE | PERM_OWNER);
  if (typeof found === 'string') return ERRORS[found];
  // "Unprivileged domains may not change the owner" (EPERM in xenstored).
  if (dom !== XS_PRIVILEGED_DOMID && perms[0]!.dom !== found.perms[0]!.dom) return E_EACCES;
  const originalPerms = found.perms;
  const node = view.writable(name, found);
  node.perms = Object.freeze(
    perms.map((entry) => Object.freeze({ dom: entry.dom, perm: entry.perm })),
  );
  assert(node.perms.length === perms.length, 'set_perms on %s lost an entry', name);
  assert(
    dom === XS_PRIVILEGED_DOMID || node.perms[0]!.dom === originalPerms[0]!.dom,
    'domain %s changed the owner of %s',
    dom,
    name,
  );
  view.put(name, node);
  view.fire(name, false, node, undefined, originalPerms);
  view.wrote();
  return OK_VOID;
}

export class Xenstore implements ForksSelf, HashesSelf {
  private readonly store: Store = new Store();
  private readonly committed: CommittedView;
  private readonly transactions = new Map<TxId, TransactionView>();
  private txNext: TxId = 1;
  /**
   * Bumped by every call that may change anything (a read in a transaction records an access):
   * the cached hash is of `hashedVersion`. Not state: a fork copies it with the cache.
   */
  private version = 0;
  private hashedVersion = -1;
  private hashA = 0;
  private hashB = 0;

  constructor() {
    const root = newNode('', ROOT_PERMS, this.store.owner);
    root.generation = ++this.store.generation;
    this.store.ownNodes().set('/', root);
    this.committed = new CommittedView(this.store);
    assert(this.store.nodes.size === 1, 'a new store holds only its root');
  }

  /** Successful changes (write, created mkdir, rm, setPerms); a transaction's count at commit. */
  get writeCount(): number {
    return this.store.writes;
  }

  /**
   * The committed generation of the node at absolute path `path` (0 when absent): each write to
   * it moves it, as xenstored's per-node generation that transactions compare. For a checker's
   * cache of what it read: unchanged generations, unchanged values.
   */
  generationOf(path: string): number {
    assert(path.charCodeAt(0) === 47, 'generationOf a relative path %s', path);
    return this.store.nodes.get(path)?.generation ?? NO_GENERATION;
  }

  read(dom: DomId, path: string, tx?: TxId): Result<string, XsError> {
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    const found = getNode(view, dom, name, PERM_READ);
    return typeof found === 'string' ? ERRORS[found] : ok(found.value);
  }

  /** WRITE: creates missing parents (empty, permissions inherited) and fires watches. */
  write(dom: DomId, path: string, value: string, tx?: TxId): Result<void, XsError> {
    this.version += 1;
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    return doWrite(view, dom, name, value);
  }

  mkdir(dom: DomId, path: string, tx?: TxId): Result<void, XsError> {
    this.version += 1;
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    return doMkdir(view, dom, name);
  }

  /** RM: recursive; removing an absent node is fine if its parent exists. */
  rm(dom: DomId, path: string, tx?: TxId): Result<void, XsError> {
    this.version += 1;
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    return doRm(view, dom, name, this.store.nodes.size + this.createdBound(view));
  }

  /** DIRECTORY: child leaf names in creation order. */
  directory(dom: DomId, path: string, tx?: TxId): Result<readonly string[], XsError> {
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    const found = getNode(view, dom, name, PERM_READ);
    if (typeof found === 'string') return ERRORS[found];
    assert(!found.children.includes(''), 'directory %s lists an empty name', name);
    return ok(found.children.slice());
  }

  /** SET_PERMS: the first entry is the owner and the default for unlisted domains. */
  setPerms(dom: DomId, path: string, perms: readonly XsPerm[], tx?: TxId): Result<void, XsError> {
    this.version += 1;
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    return doSetPerms(view, dom, name, perms);
  }

  getPerms(dom: DomId, path: string, tx?: TxId): Result<readonly XsPerm[], XsError> {
    const view = this.viewFor(dom, tx);
    const name = canonicalize(dom, path, false);
    if (view === undefined) return E_ENOENT;
    if (name === undefined) return E_EINVAL;
    const found = getNode(view, dom, name, PERM_READ);
    if (typeof found === 'string') return ERRORS[found];
    assert(Object.isFrozen(found.perms), 'the permissions of %s are not frozen', name);
    return ok(found.perms);
  }

  /** WATCH: queues the initial firing at once; a relative path gets relative events. */
  watch(dom: DomId, path: string, token: string): Result<void, XsError> {
    this.version += 1;
    assert(Number.isInteger(dom) && dom >= 0, 'watch by domain %s', dom);
    const name = canonicalize(dom, path, true);
    if (name === undefined) return E_EINVAL;
    const mine = this.store.watchesByDom.get(dom) ?? [];
    for (const watch of mine) if (watch.node === name && watch.token === token) return E_EEXIST;
    const prefixLength = name === path ? 0 : name.length - path.length;
    const watch: Watch = { dom, node: name, token, prefixLength, seq: this.store.watchSeq++ };
    mine.push(watch);
    this.store.watchesByDom.set(dom, mine);
    const here = this.store.watchesByPath.get(name);
    if (here === undefined) this.store.watchesByPath.set(name, [watch]);
    else here.push(watch);
    assert(this.store.watchesByDom.get(dom) === mine, 'dom %s: watch %s not indexed', dom, name);
    this.store.enqueue(dom, path, token);
    return OK_VOID;
  }

  /** UNWATCH: events already queued stay queued, as messages already on the ring do. */
  unwatch(dom: DomId, path: string, token: string): Result<void, XsError> {
    this.version += 1;
    assert(Number.isInteger(dom) && dom >= 0, 'unwatch by domain %s', dom);
    const name = canonicalize(dom, path, true);
    if (name === undefined) return E_EINVAL;
    const mine = this.store.watchesByDom.get(dom);
    const index = mine?.findIndex((watch) => watch.node === name && watch.token === token) ?? -1;
    if (mine === undefined || index < 0) return E_ENOENT;
    const watch = mine[index]!;
    mine.splice(index, 1);
    // Both indexes hold every watch: by its domain and by its path.
    const here = this.store.watchesByPath.get(name);
    const at = here?.indexOf(watch) ?? -1;
    assert(here !== undefined && at >= 0, 'watch on %s indexed by domain only', name);
    here.splice(at, 1);
    if (here.length === 0) this.store.watchesByPath.delete(name);
    return OK_VOID;
  }

  /** Fires a special watch (@introduceDomain, @releaseDomain); only dom0 may read them. */
  fireSpecialWatch(name: '@introduceDomain' | '@releaseDomain'): void {
    this.version += 1;
    assert(name.charCodeAt(0) === 64, 'special watch %s without its @', name);
    for (const watch of this.store.watchesByPath.get(name) ?? []) {
      if (watch.dom === XS_PRIVILEGED_DOMID) this.store.enqueue(watch.dom, name, watch.token);
    }
  }

  /** Domains with queued watch events, ascending. */
  pendingWatchDomains(): readonly DomId[] {
    const doms: DomId[] = [];
    for (const [dom, queue] of this.store.queues) {
      assert(queue.head <= queue.events.length, 'dom %s: watch queue head past its tail', dom);
      if (queue.head < queue.events.length) doms.push(dom);
    }
    return doms.sort((a, b) => a - b);
  }

  pendingWatchCount(dom: DomId): number {
    const queue = this.store.queues.get(dom);
    return queue === undefined ? 0 : queue.events.length - queue.head;
  }

  peekWatchEvent(dom: DomId): WatchEvent | undefined {
    const queue = this.store.queues.get(dom);
    const event = queue === undefined ? undefined : queue.events[queue.head];
    assert(
      event === undefined || event.dom === dom,
      'dom %s: queued event of dom %s',
      dom,
      event?.dom,
    );
    return event;
  }

  /** How many queued events of `dom` after the head have the head's path and token. */
  queuedRepeatsOfHead(dom: DomId): number {
    const queue = this.store.queues.get(dom);
    const head = queue?.events[queue.head];
    if (queue === undefined || head === undefined) return 0;
    let n = 0;
    for (let i = queue.head + 1; i < queue.events.length; i++) {
      const e = queue.events[i]!;
      if (e.path === head.path && e.token === head.token) n += 1;
    }
    return n;
  }

  /**
   * Drops the queued events after the head that repeat its path and token (the watch's
   * will_handle refused them while one was pending); returns how many went.
   */
  dropRepeatsOfHead(dom: DomId): number {
    this.version += 1;
    const queue = this.store.queues.get(dom);
    const head = queue?.events[queue.head];
    if (queue === undefined || head === undefined) return 0;
    const kept = queue.events.filter(
      (e, i) => i <= queue.head || e.path !== head.path || e.token !== head.token,
    );
    const dropped = queue.events.length - kept.length;
    queue.events.length = 0;
    queue.events.push(...kept);
    assert(queue.head < queue.events.length, 'the head event stays queued');
    return dropped;
  }

  takeWatchEvent(dom: DomId): WatchEvent | undefined {
    this.version += 1;
    const queue = this.store.queues.get(dom);
    if (queue === undefined || queue.head >= queue.events.length) return undefined;
    const event = queue.events[queue.head++];
    // A connection's queue holds its own domain's events, each taken once.
    assert(
      event !== undefined && event.dom === dom,
      'dom %s: queued event of dom %s',
      dom,
      event?.dom,
    );
    if (queue.head === queue.events.length) {
      queue.events.length = 0;
      queue.head = 0;
    }
    return event;
  }

  transactionStart(dom: DomId): TxId {
    this.version += 1;
    assert(Number.isInteger(dom) && dom >= 0, 'transactionStart: bad domid');
    const tx = this.txNext++;
    assert(!this.transactions.has(tx), 'transaction id %s reused', tx);
    this.transactions.set(tx, new TransactionView(this.store, dom));
    return tx;
  }

  /** TRANSACTION_END: the transaction is gone afterwards, whether it committed, aborted or met EAGAIN. */
  transactionEnd(dom: DomId, tx: TxId, commit: boolean): Result<void, XsError> {
    this.version += 1;
    const view = this.transactions.get(tx);
    if (view === undefined || view.dom !== dom) return E_ENOENT;
    this.transactions.delete(tx);
    assert(this.transactions.get(tx) === undefined, 'transaction %s outlived its end', tx);
    return commit ? view.commit() : OK_VOID;
  }

  openTransactions(): number {
    return this.transactions.size;
  }

  /** Every path → value under `prefix` (itself included), depth-first in child order. */
  snapshot(prefix = '/'): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    const stack: string[] = this.store.nodes.has(prefix) ? [prefix] : [];
    while (stack.length > 0) {
      const path = stack.pop()!;
      const node = this.store.nodes.get(path);
      assert(node !== undefined, 'snapshot: %s listed but absent', path);
      out.set(path, node.value);
      for (let i = node.children.length - 1; i >= 0; i--)
        stack.push(childPath(path, node.children[i]!));
    }
    assert(out.size <= this.store.nodes.size, 'snapshot visited a node twice');
    return out;
  }

  private viewFor(dom: DomId, tx: TxId | undefined): View | undefined {
    // The caller's connection is ours: its domain id is a real one, whatever the path says.
    assert(Number.isInteger(dom) && dom >= 0 && dom <= 0xffff, 'xenstore access by domain %s', dom);
    if (tx === undefined || tx === 0) return this.committed;
    // Any access in a transaction may record a first access: a change of the transaction.
    this.version += 1;
    const view = this.transactions.get(tx);
    return view !== undefined && view.dom === dom ? view : undefined;
  }

  /**
   * An independent copy sharing every node copy-on-write (Store.fork); open transactions are
   * copied with their private nodes.
   */
  [FORK_SELF](): Xenstore {
    const copy = Object.create(Xenstore.prototype) as Xenstore;
    Object.assign(copy, this);
    const store = this.store.fork();
    const fields = copy as unknown as {
      store: Store;
      committed: CommittedView;
      transactions: Map<TxId, TransactionView>;
    };
    fields.store = store;
    fields.committed = new CommittedView(store);
    fields.transactions = new Map();
    for (const [tx, view] of this.transactions) fields.transactions.set(tx, view.forkOnto(store));
    assert(copy.store !== this.store && copy.committed !== this.committed, 'xenstore fork');
    return copy;
  }

  /**
   * The tree (nodes in any order: each is hashed with its path), the watches in registration
   * order, each domain's queued events from the head, and the open transactions by id. Left
   * out: generation numbers (only compared for equality, which the transactions' hash keeps),
   * the write counter, the next transaction id and watch sequence number, consumed events.
   */
  [HASH_SELF](h: Hasher, fresh: boolean): void {
    if (fresh || this.hashedVersion !== this.version) {
      const whole = new Hasher();
      const tree = new HashSum();
      for (const [path, node] of this.store.nodes) tree.add(nodeHash(path, node, fresh));
      tree.into(whole);
      this.mixWatches(whole);
      for (const tx of [...this.transactions.keys()].sort((a, b) => a - b)) {
        whole.mix(tx);
        this.transactions.get(tx)!.mixInto(whole);
      }
      this.hashA = whole.a;
      this.hashB = whole.b;
      this.hashedVersion = this.version;
    }
    assert(
      this.hashedVersion === this.version,
      'xenstore hash cached for version %s',
      this.version,
    );
    h.mix(this.hashA);
    h.mix(this.hashB);
  }

  private mixWatches(h: Hasher): void {
    const watches: Watch[] = [];
    for (const list of this.store.watchesByDom.values()) watches.push(...list);
    watches.sort((a, b) => a.seq - b.seq);
    let byPath = 0;
    for (const list of this.store.watchesByPath.values()) byPath += list.length;
    // Both indexes hold every watch: by its domain and by its path.
    assert(byPath === watches.length, 'watches: %s by path, %s by domain', byPath, watches.length);
    h.mix(watches.length);
    for (const watch of watches) {
      h.mix(watch.dom);
      h.mixString(watch.node);
      h.mixString(watch.token);
      h.mix(watch.prefixLength);
    }
    const doms = this.pendingWatchDomains();
    h.mix(doms.length);
    for (const dom of doms) {
      const queue = this.store.queues.get(dom)!;
      h.mix(dom);
      h.mix(queue.events.length - queue.head);
      for (let i = queue.head; i < queue.events.length; i++) {
        h.mixString(queue.events[i]!.path);
        h.mixString(queue.events[i]!.token);
      }
    }
  }

  /** Nodes a transaction created are not in the committed store: they bound rm's walk too. */
  private createdBound(view: View): number {
    assert(view instanceof TransactionView || view === this.committed, 'a view of no store');
    return view instanceof TransactionView ? view.accessed.size : 0;
  }
}
