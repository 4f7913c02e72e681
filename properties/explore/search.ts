// The bounded exhaustive explorer: breadth-first search over the same enabled()/step() world the
// properties sample, with a visited set of run fingerprints (the world and what the step
// checkers remember along the path, run-state.ts: two paths into one world whose checkers
// remember different things stay two states). Breadth-first, so the first violation
// found is at the smallest depth any path reaches one; every transition runs the step
// invariants (an illegal edge into a state already seen is still an illegal edge); every state
// where the fair drain has nothing to take runs the quiescence invariants; and once the search is
// over, a state from which no fault-free path reaches quiescence is a liveness violation.
// Partial-order reduction (sleep sets over the independence relation of por.ts) is optional.
import { type Action, describeAction } from '../../impl/world/action.ts';
import type { WorldConfig } from '../../impl/world/config.ts';
import type { Drivers } from '../../impl/world/drivers.ts';
import { enabled, isFaultStart } from '../../impl/world/enabled.ts';
import { FingerprintNames } from '../../impl/world/fork.ts';
import type { World } from '../../impl/world/world.ts';
import { assert } from '../../impl/assert.ts';
import { QUIESCENCE_INVARIANTS, STEP_INVARIANTS } from '../invariants/index.ts';
import type { Invariant } from '../invariants/invariant.ts';
import type { Violation } from '../invariants/violation.ts';
import { findUnlive } from './liveness.ts';
import { ActionIds, type Footprints, Independence } from './por.ts';
import {
  checkQuiescence,
  forkRun,
  performStep,
  type RunState,
  runFingerprint,
  startRun,
} from './run-state.ts';

export interface ExploreBounds {
  /** Scheduled actions from the initial state; states at this depth are not expanded. */
  readonly depthMax: number;
  /** Distinct states; reaching it ends the search as incomplete. */
  readonly statesMax: number;
  /** Wall-clock budget in milliseconds (read through `now`); reaching it: incomplete. */
  readonly timeMs?: number;
  /** Sleep sets over por.ts's independence relation. */
  readonly por: boolean;
}

export interface ExploreStats {
  readonly states: number;
  readonly transitions: number;
  /** Transitions sleep sets skipped (their target is reached along another order). */
  readonly slept: number;
  /** Sleeping actions whose targets the liveness pass completed from recorded edges. */
  readonly resolved: number;
  /** The deepest layer expanded so far. */
  readonly depth: number;
  /** States discovered and not yet expanded. */
  readonly frontier: number;
  /** States left unexpanded because they lie at the depth bound (0: the space is exhausted). */
  readonly depthCut: number;
  readonly elapsedMs: number;
}

/**
 * Called on every transition (coverage): the child after the step, how many state writes its
 * parent had logged (the child's log past that is this step's), and whether the state is new.
 */
export type TransitionHook = (
  child: World,
  action: Action,
  fresh: boolean,
  parentStateWrites: number,
) => void;

export interface ExploreOptions {
  readonly config: WorldConfig;
  readonly drivers: Drivers;
  readonly bounds: ExploreBounds;
  readonly stepInvariants?: readonly Invariant[];
  readonly quiescenceInvariants?: readonly Invariant[];
  /** Milliseconds, for the time bound and the rates; default performance.now. */
  readonly now?: () => number;
  /** Called about every `progressEvery` states (default 2,000). */
  readonly onProgress?: (stats: ExploreStats) => void;
  readonly progressEvery?: number;
  /** Polled with the progress: true ends the search as incomplete (an interrupt). */
  readonly stop?: () => boolean;
  /**
   * Polled with the progress: true when the host is short of memory for more states (the layers
   * of worlds are the search's memory); ends the search as incomplete, before the heap runs out.
   */
  readonly memoryFull?: () => boolean;
  readonly onTransition?: TransitionHook;
  /** The independence relation sleep sets use (default: por.ts's footprints). */
  readonly independence?: Independence;
  /** Tests: every target diamond completion gives the liveness pass is also run and compared. */
  readonly checkDiamonds?: boolean;
  /** The state the search merges runs by (default: the world and its checkers' memory). */
  readonly stateOf?: (run: RunState) => string;
}

/** What ended a search before its bounds were covered. */
export type IncompleteReason = 'states' | 'time' | 'stopped' | 'memory';

/** Which check found it: after a step, at a quiescent state, or the liveness pass at the end. */
export type FindingKind = 'step' | 'quiescence' | 'liveness';

export type ExploreResult =
  | { readonly outcome: 'pass'; readonly stats: ExploreStats }
  | {
      readonly outcome: 'violation';
      readonly kind: FindingKind;
      readonly violation: Violation;
      /** The scheduled actions that lead to it (a liveness finding: to the stuck state). */
      readonly path: readonly Action[];
      readonly stats: ExploreStats;
    }
  | {
      readonly outcome: 'incomplete';
      readonly reason: IncompleteReason;
      readonly stats: ExploreStats;
    };

/** A discovered state waiting in its layer: its run, its enabled actions, its sleep set. */
interface Node {
  readonly id: number;
  run: RunState | undefined;
  readonly actions: readonly Action[];
  sleep: ReadonlySet<string>;
}

/** The sleep set of a child with nothing asleep (never changed: a revisit makes a new set). */
const NOTHING_ASLEEP: ReadonlySet<string> = new Set<string>();

/** Without POR: no footprints are asked for. */
const NO_FOOTPRINTS: Footprints = { get: () => undefined };

/** Distinct action ids the edge labels tell apart (beyond it, edges go unlabelled). */
const LABELS_MAX = 1 << 16;

/** Stops the layer loop with a finding or a budget. */
class Halt {
  constructor(readonly result: ExploreResult) {}
}

/** Everything the search knows: the states by fingerprint, how each was first reached. */
export class StateGraph {
  readonly ids = new Map<string, number>();
  readonly parent: number[] = [];
  readonly via: (Action | undefined)[] = [];
  readonly depth: number[] = [];
  /** Fault-free transitions (the drain's moves), as from/to pairs, for the liveness pass. */
  readonly edgeFrom: number[] = [];
  readonly edgeTo: number[] = [];
  /** 1: nothing but a fault start is enabled (quiescent); 2: left unexpanded at the bound. */
  readonly mark: number[] = [];
  /** Sleeping fault-free actions by state (POR): their targets are resolved when liveness asks. */
  readonly slept = new Map<number, Set<string>>();
  /** POR: every transition taken, by source state and action (see diamondTarget). */
  private readonly labels = new Map<string, number>();
  /** By label: target by source state (keys small integers, not from * LABELS_MAX + label). */
  private readonly edges: Map<number, number>[] = [];
  private readonly actionIds = new ActionIds();

  /** Records `from --action--> to` (with POR on: what diamond completion walks). */
  label(from: number, action: string, to: number): void {
    let index = this.labels.get(action);
    if (index === undefined) {
      if (this.labels.size >= LABELS_MAX) return;
      index = this.labels.size;
      this.labels.set(action, index);
      this.edges.push(new Map());
    }
    this.edges[index]!.set(from, to);
  }

  /**
   * Where `action` leads from `id` without running it, by the sleep-set diamond: an action asleep
   * at s = p.b slept because it is independent of b at p, so s.a is p.a.b. Walks the recorded
   * edges (each hop to p's own first path); undefined when a hop is missing or too deep.
   */
  diamondTarget(id: number, action: string, hops = 64): number | undefined {
    const index = this.labels.get(action);
    const known = index === undefined ? undefined : this.edges[index]!.get(id);
    if (known !== undefined || hops === 0 || id === 0) return known;
    const via = this.via[id]!;
    const first = this.diamondTarget(this.parent[id]!, action, hops - 1);
    return first === undefined
      ? undefined
      : this.diamondTarget(first, this.actionIds.of(via), hops - 1);
  }

  add(fp: string, parent: number, via: Action | undefined, depth: number): number {
    const id = this.parent.length;
    this.ids.set(fp, id);
    this.parent.push(parent);
    this.via.push(via);
    this.depth.push(depth);
    this.mark.push(0);
    return id;
  }

  /** The actions from the initial state to `id` along the first path that reached it. */
  pathTo(id: number): Action[] {
    const out: Action[] = [];
    for (let at = id; at > 0; at = this.parent[at]!) out.push(this.via[at]!);
    assert(out.length === this.depth[id], 'explore: a path is as long as its depth');
    return out.reverse();
  }
}

export function explore(options: ExploreOptions): ExploreResult {
  return new Search(options).run();
}

class Search {
  readonly graph = new StateGraph();
  private readonly ids = new ActionIds();
  private readonly now: () => number;
  private readonly started: number;
  private readonly stepInvariants: readonly Invariant[];
  private readonly quiescence: readonly Invariant[];
  private readonly independence: Independence;
  private readonly stateOf: (run: RunState) => string;
  private transitions = 0;
  private sleptCount = 0;
  private resolved = 0;
  private layerDepth = 0;
  private depthCut = 0;
  private frontier = 0;
  private nextProgress: number;
  /** The layer being built: nodes by id, so a second path in merges its sleep set. */
  private pending = new Map<number, Node>();
  /** The layer being expanded, minus the nodes already expanded. */
  private current = new Map<number, Node>();
  /** isFaultStart by action id, for the liveness pass's sleeping actions. */
  private readonly faultKeys = new Map<string, boolean>();

  constructor(private readonly options: ExploreOptions) {
    assert(options.bounds.depthMax >= 0 && options.bounds.statesMax >= 1, 'explore: bounds');
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.stepInvariants = options.stepInvariants ?? STEP_INVARIANTS;
    this.quiescence = options.quiescenceInvariants ?? QUIESCENCE_INVARIANTS;
    this.nextProgress = options.progressEvery ?? 2_000;
    this.independence = options.independence ?? new Independence();
    const names = new FingerprintNames();
    this.stateOf = options.stateOf ?? ((run) => runFingerprint(run, names));
  }

  run(): ExploreResult {
    try {
      const root = startRun(this.options.config, this.options.drivers, this.stepInvariants);
      const id = this.graph.add(this.stateOf(root), 0, undefined, 0);
      const node = this.discovered(id, root, new Set());
      let layer: (Node | undefined)[] = [node];
      while (layer.length > 0) {
        layer = this.expandLayer(layer);
        if (layer.length > 0) this.layerDepth += 1;
      }
      this.frontier = 0;
      const stuck = findUnlive(this.graph, (id) => this.resolveSlept(id));
      if (stuck !== undefined) return this.liveness(stuck);
      return { outcome: 'pass', stats: this.stats() };
    } catch (halt) {
      if (halt instanceof Halt) return halt.result;
      throw halt;
    }
  }

  private expandLayer(layer: (Node | undefined)[]): (Node | undefined)[] {
    this.pending = new Map();
    this.current = new Map(layer.map((n) => [n!.id, n!]));
    for (let i = 0; i < layer.length; i++) {
      const node = layer[i]!;
      // Freed as soon as it is expanded: a layer's worlds are the search's memory.
      layer[i] = undefined;
      this.current.delete(node.id);
      this.frontier = layer.length - i + this.pending.size;
      this.budget();
      if (this.graph.depth[node.id]! >= this.options.bounds.depthMax) {
        this.graph.mark[node.id] = 2;
        this.depthCut += 1;
        node.run = undefined;
      } else this.expand(node);
    }
    return [...this.pending.values()];
  }

  /** Every enabled action not asleep, each on its own fork of the node's run. */
  private expand(node: Node): void {
    const run = node.run;
    assert(run !== undefined, 'explore: a node is expanded once');
    node.run = undefined;
    const taken = node.actions.filter((action) => {
      if (!this.options.bounds.por || !node.sleep.has(this.ids.of(action))) return true;
      this.sleptCount += 1;
      this.noteSlept(node.id, action);
      return false;
    });
    // Footprints at this state, each asked for (childSleep) before the last transition steps
    // the run in place.
    const prints = this.footprints(run, node.actions);
    const done: Action[] = [];
    for (const [k, action] of taken.entries()) {
      // The last transition steps the node's own run: nothing needs it afterwards.
      const last = k === taken.length - 1;
      this.transition(node, run, action, this.childSleep(prints, node.sleep, done, action), last);
      done.push(action);
    }
  }

  private footprints(run: RunState, actions: readonly Action[]): Footprints {
    return this.options.bounds.por ? this.independence.lazyAt(run.world, actions) : NO_FOOTPRINTS;
  }

  /**
   * Sleep-set rule: what slept here or was explored before `action` sleeps on if independent of
   * it at this state (`prints`: the footprints here; a state-dependent relation is sound for
   * sleep sets when judged at the state where the two actions are both enabled).
   */
  private childSleep(
    prints: Footprints,
    sleep: ReadonlySet<string>,
    done: readonly Action[],
    action: Action,
  ): ReadonlySet<string> {
    if (!this.options.bounds.por) return NOTHING_ASLEEP;
    // Made on the first member: most children have nothing asleep, and share one empty set.
    let out: Set<string> | undefined;
    const id = this.ids.of(action);
    const keep = (key: string) => {
      if (!Independence.independent(prints, key, id)) return;
      out ??= new Set();
      out.add(key);
    };
    for (const key of sleep) keep(key);
    for (const b of done) keep(this.ids.of(b));
    return out ?? NOTHING_ASLEEP;
  }

  private noteSlept(id: number, action: Action): void {
    let set = this.graph.slept.get(id);
    if (set === undefined) {
      set = new Set();
      this.graph.slept.set(id, set);
    }
    set.add(this.ids.of(action));
  }

  private transition(
    node: Node,
    run: RunState,
    action: Action,
    sleep: ReadonlySet<string>,
    inPlace = false,
  ): void {
    const parentStateWrites = run.world.stateWrites.length;
    const child = inPlace ? run : forkRun(run);
    const violation = performStep(child, action);
    this.transitions += 1;
    if (violation !== undefined) {
      const path = [...this.graph.pathTo(node.id), action];
      throw new Halt(this.found('step', violation, path));
    }
    const fp = this.stateOf(child);
    const known = this.graph.ids.get(fp);
    this.options.onTransition?.(child.world, action, known === undefined, parentStateWrites);
    let id = known;
    if (id === undefined) {
      if (this.graph.parent.length >= this.options.bounds.statesMax) {
        // The node being expanded stays on the frontier with the rest of its layer.
        this.frontier = this.current.size + this.pending.size + 1;
        this.incomplete('states');
      }
      id = this.graph.add(fp, node.id, action, this.graph.depth[node.id]! + 1);
      this.pending.set(id, this.discovered(id, child, sleep));
    } else this.revisit(id, sleep);
    if (this.options.bounds.por) this.graph.label(node.id, this.ids.of(action), id);
    if (!isFaultStart(action)) {
      this.graph.edgeFrom.push(node.id);
      this.graph.edgeTo.push(id);
    }
  }

  /** A new state: its enabled actions, and the quiescence invariants where the drain is done. */
  private discovered(id: number, run: RunState, sleep: ReadonlySet<string>): Node {
    const actions = enabled(run.world);
    if (!actions.some((a) => !isFaultStart(a))) {
      this.graph.mark[id] = 1;
      const violation = checkQuiescence(run.world, this.quiescence);
      if (violation !== undefined)
        throw new Halt(this.found('quiescence', violation, this.graph.pathTo(id)));
    }
    return { id, run, actions, sleep };
  }

  /**
   * A second path into a known state. Still in the layer being built: its sleep set becomes the
   * intersection (an action is skipped only if every path in lets it sleep). Already expanded
   * with a sleep set this path does not allow: the actions it newly wakes are explored now, from
   * the state rebuilt by replaying its first path.
   */
  private revisit(id: number, sleep: ReadonlySet<string>): void {
    if (!this.options.bounds.por) return;
    const waiting = this.pending.get(id) ?? this.current.get(id);
    if (waiting !== undefined) {
      waiting.sleep = new Set([...waiting.sleep].filter((k) => sleep.has(k)));
      return;
    }
    const slept = this.graph.slept.get(id);
    if (slept === undefined) return;
    const woken = [...slept].filter((k) => !sleep.has(k));
    if (woken.length === 0) return;
    for (const k of woken) slept.delete(k);
    this.reexpand(id, new Set(woken), sleep);
  }

  private reexpand(id: number, woken: ReadonlySet<string>, sleep: ReadonlySet<string>): void {
    const run = this.rebuild(id);
    const actions = enabled(run.world);
    const node: Node = { id, run: undefined, actions, sleep };
    const prints = this.footprints(run, actions);
    // Only the actions explored now count as explored before one another (the stateful
    // sleep-set rule: the earlier expansion's children keep the sleep sets they had).
    const done: Action[] = [];
    for (const action of actions) {
      if (!woken.has(this.ids.of(action))) continue;
      this.transition(node, run, action, this.childSleep(prints, sleep, done, action));
      done.push(action);
    }
  }

  /** The run at `id`, replayed along its first path (every step already judged clean). */
  rebuild(id: number): RunState {
    const run = startRun(this.options.config, this.options.drivers, this.stepInvariants);
    for (const action of this.graph.pathTo(id)) {
      const violation = performStep(run, action);
      assert(violation === undefined, 'explore: a stored path replays clean');
    }
    return run;
  }

  /** The states a sleeping fault-free action of `id` leads to (liveness asks, rarely). */
  private resolveSlept(id: number): number[] {
    const slept = this.graph.slept.get(id);
    if (slept === undefined || slept.size === 0) return [];
    const completed: number[] = [];
    for (const key of slept) {
      if (this.faultStartKey(key)) continue;
      const target = this.graph.diamondTarget(id, key);
      if (target === undefined) return this.runSlept(id, slept);
      completed.push(target);
    }
    this.resolved += completed.length;
    if (this.options.checkDiamonds === true) {
      // Tests: the same targets as running the sleeping actions from the rebuilt state.
      const ran = this.runSlept(id, slept);
      const key = (ids: readonly number[]) => [...ids].sort((x, y) => x - y).join(',');
      assert(key(ran) === key(completed), 'explore: diamond completion agrees with running');
    }
    return completed;
  }

  /** Whether the action of id `key` starts a fault (parsed once per id: there are few). */
  private faultStartKey(key: string): boolean {
    let fault = this.faultKeys.get(key);
    if (fault === undefined) {
      fault = isFaultStart(JSON.parse(key) as Action);
      this.faultKeys.set(key, fault);
    }
    return fault;
  }

  /** The sleeping actions of `id` run from its rebuilt state (when a diamond hop is missing). */
  private runSlept(id: number, slept: ReadonlySet<string>): number[] {
    const base = this.rebuild(id);
    const out: number[] = [];
    for (const action of enabled(base.world)) {
      if (isFaultStart(action) || !slept.has(this.ids.of(action))) continue;
      const child = forkRun(base);
      performStep(child, action);
      const target = this.graph.ids.get(this.stateOf(child));
      // Sleep sets never lose a state: were this one new, the reduction would be unsound.
      assert(target !== undefined, 'explore: a sleeping action leads to a state already reached');
      out.push(target);
    }
    return out;
  }

  private budget(): void {
    const states = this.graph.parent.length;
    const { timeMs } = this.options.bounds;
    if (states >= this.nextProgress) {
      this.nextProgress = states + (this.options.progressEvery ?? 2_000);
      this.options.onProgress?.(this.stats());
      if (this.options.stop?.() === true) this.incomplete('stopped');
      if (this.options.memoryFull?.() === true) this.incomplete('memory');
    }
    if (timeMs !== undefined && this.now() - this.started >= timeMs) this.incomplete('time');
  }

  private incomplete(reason: IncompleteReason): never {
    throw new Halt({ outcome: 'incomplete', reason, stats: this.stats() });
  }

  private found(kind: FindingKind, violation: Violation, path: readonly Action[]): ExploreResult {
    return { outcome: 'violation', kind, violation, path, stats: this.stats() };
  }

  private liveness(id: number): ExploreResult {
    const path = this.graph.pathTo(id);
    const run = this.rebuild(id);
    const stillEnabled = enabled(run.world).filter((a) => !isFaultStart(a));
    const violation: Violation = {
      code: 'no-lost-request',
      step: path.length,
      message: `no fault-free schedule from here reaches quiescence; still enabled: ${stillEnabled.slice(0, 3).map(describeAction).join('; ')}`,
    };
    return this.found('liveness', violation, path);
  }

  stats(): ExploreStats {
    return {
      states: this.graph.parent.length,
      transitions: this.transitions,
      slept: this.sleptCount,
      resolved: this.resolved,
      depth: this.layerDepth,
      frontier: this.frontier,
      depthCut: this.depthCut,
      elapsedMs: this.now() - this.started,
    };
  }
}
