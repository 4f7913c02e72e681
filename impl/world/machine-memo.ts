// XState's transition() is pure: the same snapshot (state value and context) and event always give
// the same next snapshot and actions. It is also the costliest call of a control-plane step, and
// property runs repeat the same connect sequence thousands of times, so results are memoised.
//
// Three costs of xstate's own transition() are avoided: it builds a throw-away actor per call (an
// Actor constructor computes an initial snapshot), its resolved actions hold that actor, and a
// string key per call is needed to find a result. Here one inert scope per machine serves every
// call (the machines invoke and spawn nothing, so the scope is only an action collector), entries
// keep the actions' type and params alone, and snapshots are interned: a result's next snapshot
// is the canonical object of its state, so the next lookup goes by identity without a key.
// Snapshots are never mutated (the world only replaces them), so sharing them between worlds,
// and forks of a world, is safe. The memo is a cache of a pure function: run state never lives
// here, and clearing it changes no result, only the time to get it.
import {
  type AnyActorScope,
  type AnyStateMachine,
  createActor,
  type EventFromLogic,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';
import { backendMachine } from '../../model/backend-machine.ts';
import { frontendMachine } from '../../model/frontend-machine.ts';
import { assert } from '../assert.ts';

/** What the world needs of a resolved action: its effect name and parameters. */
export interface MemoAction {
  readonly type: string;
  readonly params: unknown;
}

export type MemoResult<M extends AnyStateMachine> = readonly [
  SnapshotFrom<M>,
  readonly MemoAction[],
];

/** Bound on memoised transitions (and, separately, interned states) per machine: then oldest go. */
export const MEMO_ENTRIES_MAX = 2048;
/**
 * Bound on initial snapshots (one per machine input). A campaign draws a new configuration for
 * most runs, so a larger bound mostly holds inputs that never come back.
 */
export const INITIALS_MAX = 256;

interface StateNode<M extends AnyStateMachine> {
  readonly snapshot: SnapshotFrom<M>;
  /** Keyed by the event's JSON (events are small, flat records); made on the first transition. */
  next: Map<string, MemoResult<M>> | undefined;
  /** Another state whose key hashes alike (compared by key when looked up). */
  sameHash: StateNode<M> | undefined;
  readonly hash: number;
  /** Every snapshot object byIdentity maps to this node (its own first). */
  readonly identities: SnapshotFrom<M>[];
}

export class MachineMemo<M extends AnyStateMachine> {
  readonly machine: M;
  private readonly scope: AnyActorScope;
  private collected: MemoAction[] = [];
  private readonly byIdentity = new Map<SnapshotFrom<M>, StateNode<M>>();
  /**
   * By a hash of the state's key, not the key itself: a state key is a few hundred characters and
   * a campaign's memo holds thousands of states (most of its memory was these strings).
   */
  private readonly byState = new Map<number, StateNode<M>>();
  private states = 0;
  /**
   * Every state node, oldest first: a full memo forgets its oldest states one at a time rather
   * than starting over, so that a long campaign's memo stays at its bound instead of swinging
   * between empty and full (which made the heap after N runs depend on where the swing was).
   */
  private readonly order = new Set<StateNode<M>>();
  private readonly initials = new Map<string, SnapshotFrom<M>>();
  private entries = 0;

  private readonly entriesMax: number;
  private readonly hash: (key: string) => number;

  /** `hash` of a state key: tests pass a constant one, so that every state shares one chain. */
  constructor(machine: M, entriesMax = MEMO_ENTRIES_MAX, hash: (key: string) => number = keyHash) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 1, 'machine memo: bound must be >= 1');
    this.machine = machine;
    this.entriesMax = entriesMax;
    this.hash = hash;
    this.scope = inertScope(machine, (action) => {
      this.collected.push(action);
    });
  }

  /** The machine's initial snapshot for `input`, computed once per distinct input. */
  initial(input: InputFrom<M>): SnapshotFrom<M> {
    const key = JSON.stringify(input);
    const known = this.initials.get(key);
    if (known !== undefined) return known;
    this.collected = [];
    const snapshot = this.canonical(
      this.machine.getInitialSnapshot(this.scope, input) as SnapshotFrom<M>,
    );
    assert(
      (snapshot as { status?: string }).status === 'active',
      'machine memo: initial snapshot is not active',
    );
    // The oldest goes first, as with states (see `order`): Maps keep insertion order.
    const initialsMax = Math.min(INITIALS_MAX, this.entriesMax);
    if (this.initials.size >= initialsMax) this.initials.delete(this.initials.keys().next().value!);
    this.initials.set(key, snapshot);
    assert(
      this.initials.size <= initialsMax,
      'machine memo holds %s initial states',
      this.initials.size,
    );
    return snapshot;
  }

  /** transition(machine, snapshot, event): the next snapshot and the actions to run, in order. */
  transition(snapshot: SnapshotFrom<M>, event: EventFromLogic<M>): MemoResult<M> {
    const node = this.byIdentity.get(snapshot) ?? this.adopt(snapshot);
    const eventKey = JSON.stringify(event);
    const hit = node.next?.get(eventKey);
    if (hit !== undefined) return hit;
    this.collected = [];
    const raw = this.machine.transition(snapshot, event, this.scope) as SnapshotFrom<M>;
    const actions = this.collected;
    this.collected = [];
    while (this.entries >= this.entriesMax) this.forgetOldest();
    const result: MemoResult<M> = [this.canonical(raw), actions];
    const from = this.byIdentity.get(snapshot) ?? this.adopt(snapshot);
    from.next ??= new Map();
    from.next.set(eventKey, result);
    this.entries++;
    // Every cache is bounded (issue 19): a long campaign keeps a flat heap.
    assert(this.entries <= this.entriesMax, 'machine memo holds %s transitions', this.entries);
    return result;
  }

  /** Memoised transitions held now (for the bench's memory figures and tests). */
  get size(): number {
    assert(this.entries >= 0, 'machine memo holds %s transitions', this.entries);
    return this.entries;
  }

  /** The canonical object of `snapshot`'s state: an earlier equal one, or itself if new. */
  private canonical(snapshot: SnapshotFrom<M>): SnapshotFrom<M> {
    const same = this.byIdentity.get(snapshot);
    if (same !== undefined) return same.snapshot;
    const key = stateKey(snapshot);
    const hash = this.hash(key);
    for (let n = this.byState.get(hash); n !== undefined; n = n.sameHash)
      if (stateKey(n.snapshot) === key) return n.snapshot;
    if (this.states >= this.entriesMax) this.forgetOldest();
    const sameHash = this.byState.get(hash);
    const node: StateNode<M> = {
      snapshot,
      next: undefined,
      sameHash,
      hash,
      identities: [snapshot],
    };
    this.byState.set(hash, node);
    this.byIdentity.set(snapshot, node);
    this.order.add(node);
    this.states++;
    assert(this.states <= this.entriesMax, 'machine memo holds %s states', this.states);
    return snapshot;
  }

  /** The node of a snapshot the memo did not hand out (or has forgotten since a clear). */
  private adopt(snapshot: SnapshotFrom<M>): StateNode<M> {
    // Other objects of a known state are remembered too, within twice the bound.
    while (this.byIdentity.size >= 2 * this.entriesMax) this.forgetOldest();
    const canonical = this.canonical(snapshot);
    const node = this.byIdentity.get(canonical);
    assert(node !== undefined, 'machine memo: a canonical snapshot has a node');
    if (snapshot !== canonical) {
      this.byIdentity.set(snapshot, node);
      node.identities.push(snapshot);
    }
    return node;
  }

  /** Drops the oldest state with its transitions (results that lead to it keep their snapshot). */
  private forgetOldest(): void {
    const oldest = this.order.values().next().value;
    assert(oldest !== undefined, 'machine memo: %s transitions but no state', this.entries);
    this.order.delete(oldest);
    let at = this.byState.get(oldest.hash);
    if (at === oldest) {
      if (oldest.sameHash === undefined) this.byState.delete(oldest.hash);
      else this.byState.set(oldest.hash, oldest.sameHash);
    } else {
      while (at !== undefined && at.sameHash !== oldest) at = at.sameHash;
      assert(at !== undefined, 'machine memo: a state missing from its hash chain');
      at.sameHash = oldest.sameHash;
    }
    for (const snapshot of oldest.identities) this.byIdentity.delete(snapshot);
    this.entries -= oldest.next?.size ?? 0;
    this.states -= 1;
    assert(this.entries >= 0 && this.states >= 0, 'machine memo counts after forgetting');
  }
}

/** Two 32-bit FNV-1a hashes of `key` in one exact integer (below 2^53). */
function keyHash(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x200000 + (b >>> 11);
}

function stateKey(snapshot: unknown): string {
  const s = snapshot as { value: unknown; context: unknown; status: string };
  return JSON.stringify([s.value, s.context, s.status]);
}

/**
 * xstate's createInertActorScope, built once: an actor that is never started, whose action
 * executor only records what the transition resolved (type and params; the rest of a resolved
 * action refers to the scope, which must not outlive the call in a memo entry).
 */
function inertScope(machine: AnyStateMachine, record: (action: MemoAction) => void): AnyActorScope {
  const self = createActor(machine);
  return {
    self,
    defer: () => {},
    id: '',
    logger: () => {},
    sessionId: '',
    stopChild: () => {},
    system: self.system,
    emit: () => {},
    actionExecutor: (action: { type: string; params?: unknown }) => {
      assert(typeof action.type === 'string', 'a resolved action without a type');
      record({ type: action.type, params: action.params });
    },
  } as unknown as AnyActorScope;
}

/** The two machines' memos, shared by every world (they hold no run state). */
export const frontendMemo = new MachineMemo(frontendMachine);
export const backendMemo = new MachineMemo(backendMachine);
