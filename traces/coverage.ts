// Edge coverage of the control-plane machines over property runs, for the state diagrams: which
// declared transitions (model/graph.ts machineEdges) the runs took, and how often. The world does
// not expose the events it sends its machines, so each step is attributed from what it leaves
// behind: the leaf state before and after (snapshots read by runSchedule's onStep probe) and the
// ordered effects the step observed. A short search over the declared edges finds the chain of
// transitions that goes from the old leaf to the new one emitting exactly those effects; a step
// it cannot explain is counted as unattributed rather than guessed.
import fc from 'fast-check';
import type { AnyStateMachine, StateValue } from 'xstate';
import type { Drivers } from '../impl/world/drivers.ts';
import type { Host, World } from '../impl/world/world.ts';
import { backendMachine } from '../model/backend-machine.ts';
import { frontendMachine } from '../model/frontend-machine.ts';
import { type MachineEdge, machineEdges, machineStates } from '../model/graph.ts';
import type { PropertyDef } from '../properties/catalog.ts';
import { type RunResult, runSchedule } from '../properties/run.ts';
import { ChoiceListChooser } from '../properties/strategies/chooser.ts';

export type MachineName = 'frontend' | 'backend';

/** Bound on the transitions one step may chain (the world's effect chains settle well below). */
const CHAIN_DEPTH_MAX = 6;

/** 'frontend' + { Initialising: 'probing' } -> 'frontend.Initialising.probing'. */
export function leafId(machineId: string, value: StateValue): string {
  if (typeof value === 'string') return `${machineId}.${value}`;
  const [key, child] = Object.entries(value)[0] ?? [];
  if (key === undefined) return machineId;
  return child === undefined ? `${machineId}.${key}` : leafId(`${machineId}.${key}`, child);
}

class MachineCoverage {
  readonly counts = new Map<string, number>();
  readonly initialLeaf: string;
  private readonly edges: readonly MachineEdge[];
  private readonly leafOf = new Map<string, string>();

  constructor(readonly machine: AnyStateMachine) {
    this.edges = machineEdges(machine);
    for (const edge of this.edges) this.counts.set(edge.key, 0);
    const states = machineStates(machine);
    const initialChild = (id: string) => states.find((s) => s.parentId === id && s.initial)?.id;
    for (const id of [machine.id, ...states.map((s) => s.id)]) {
      let leaf = id;
      for (let child = initialChild(leaf); child !== undefined; child = initialChild(leaf))
        leaf = child;
      this.leafOf.set(id, leaf);
    }
    this.initialLeaf = this.leafOf.get(machine.id)!;
  }

  /** Whether a chain from `from` to `to` emits exactly `effects` (nothing credited). */
  explains(from: string, to: string, effects: readonly string[]): boolean {
    return (
      (from === to && effects.length === 0) ||
      this.search(from, to, effects, 0, CHAIN_DEPTH_MAX) !== undefined
    );
  }

  /** Credits the chain from `from` to `to` with `effects`; false when no chain explains it. */
  attribute(from: string, to: string, effects: readonly string[]): boolean {
    if (from === to && effects.length === 0) return true;
    const chain = this.search(from, to, effects, 0, CHAIN_DEPTH_MAX);
    if (chain === undefined) return false;
    for (const key of chain) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    return true;
  }

  private search(
    state: string,
    to: string,
    effects: readonly string[],
    at: number,
    depth: number,
  ): string[] | undefined {
    if (at === effects.length && state === to) return [];
    if (depth === 0) return undefined;
    for (const edge of this.edges) {
      if (state !== edge.sourceId && !state.startsWith(`${edge.sourceId}.`)) continue;
      const names = edge.effects.map((label) => label.split('(')[0]!);
      if (names.some((name, k) => effects[at + k] !== name)) continue;
      const target = edge.targetIds[0];
      const next = target === undefined ? state : (this.leafOf.get(target) ?? target);
      if (names.length === 0 && next === state) continue;
      const rest = this.search(next, to, effects, at + names.length, depth - 1);
      if (rest !== undefined) return [edge.key, ...rest];
    }
    return undefined;
  }

  taken(): number {
    return [...this.counts.values()].filter((n) => n > 0).length;
  }
}

interface Probe {
  readonly front: string;
  readonly back: string;
  readonly host: Host;
  /** After a migration: the old host's backend leaf as it was left (its teardown's target). */
  readonly retired?: string;
  /** Guest kexecs so far: a kexec starts a new blkfront from its initial state. */
  readonly kexecs: number;
}

/** Counts, per machine, how often property runs took each declared edge. */
export class EdgeCounter {
  readonly machines: Record<MachineName, MachineCoverage> = {
    frontend: new MachineCoverage(frontendMachine),
    backend: new MachineCoverage(backendMachine),
  };
  runs = 0;
  steps = 0;
  unattributed = 0;

  /** Runs `runs` scenarios of `def` drawn from `seed` (the ones `checkProperty` draws). */
  addProperty(def: PropertyDef, seed: number, runs: number, drivers: Drivers): void {
    for (const scenario of fc.sample(def.scenario, { seed, numRuns: runs })) {
      const probes: Probe[] = [];
      let host: Host | undefined;
      const run = runSchedule({
        config: scenario.config,
        drivers,
        chooser: new ChoiceListChooser(scenario.choices),
        stepsMax: def.stepsMax,
        drainStepsMax: def.drainStepsMax,
        record: true,
        stepInvariants: [],
        quiescenceInvariants: [],
        onStep: (world: World) => {
          const moved = host !== undefined && world.host !== host;
          probes.push({
            front: leafId('frontend', world.front.snapshot.value),
            back: leafId('backend', world.host.back.snapshot.value),
            host: world.host,
            kexecs: world.kexecs,
            ...(moved ? { retired: leafId('backend', host!.back.snapshot.value) } : {}),
          });
          host = world.host;
        },
      });
      this.addRun(run, probes);
    }
  }

  private addRun(run: RunResult, probes: readonly Probe[]): void {
    this.runs += 1;
    let front = this.machines.frontend.initialLeaf;
    let back = this.machines.backend.initialLeaf;
    let host: Host | undefined;
    let kexecs = 0;
    probes.forEach((probe, i) => {
      const observations = run.records[i]?.observations ?? [];
      const effects = (side: MachineName) =>
        observations.flatMap((o) => (o.kind === 'effect' && o.side === side ? [o.effect] : []));
      this.steps += 1;
      // The kexec's new blkfront starts over; the old one's machine is gone with its kernel.
      if (probe.kexecs !== kexecs) front = this.machines.frontend.initialLeaf;
      kexecs = probe.kexecs;
      if (!this.machines.frontend.attribute(front, probe.front, effects('frontend')))
        this.unattributed += 1;
      const explained =
        host !== undefined && probe.host !== host
          ? this.attributeMigration(back, probe, effects('backend'))
          : this.machines.backend.attribute(back, probe.back, effects('backend'));
      if (!explained) this.unattributed += 1;
      host = probe.host;
      front = probe.front;
      back = probe.back;
    });
  }

  /**
   * A migration step: the old host's backend tears down (its effects first, to the leaf it was
   * left in) and the new host's starts from its initial state; the step's backend effects are
   * split between the two at the first point where both halves are explained.
   */
  private attributeMigration(from: string, probe: Probe, effects: readonly string[]): boolean {
    const backend = this.machines.backend;
    const retired = probe.retired ?? from;
    for (let cut = effects.length; cut >= 0; cut--) {
      const old = effects.slice(0, cut);
      const fresh = effects.slice(cut);
      if (
        !backend.explains(from, retired, old) ||
        !backend.explains(backend.initialLeaf, probe.back, fresh)
      )
        continue;
      return (
        backend.attribute(from, retired, old) &&
        backend.attribute(backend.initialLeaf, probe.back, fresh)
      );
    }
    return false;
  }

  summary(): {
    runs: number;
    frontend: { taken: number; total: number };
    backend: { taken: number; total: number };
  } {
    const of = (m: MachineCoverage) => ({ taken: m.taken(), total: m.counts.size });
    return {
      runs: this.runs,
      frontend: of(this.machines.frontend),
      backend: of(this.machines.backend),
    };
  }
}

export interface CoverageFile {
  readonly kind: 'blkif-coverage';
  readonly version: 1;
  readonly runs: number;
  readonly steps: number;
  /** Steps whose machine change no chain of declared edges explains (should be 0). */
  readonly unattributed: number;
  readonly machines: Record<MachineName, Record<string, number>>;
}

export function coverageJson(counter: EdgeCounter): string {
  const file: CoverageFile = {
    kind: 'blkif-coverage',
    version: 1,
    runs: counter.runs,
    steps: counter.steps,
    unattributed: counter.unattributed,
    machines: {
      frontend: Object.fromEntries(counter.machines.frontend.counts),
      backend: Object.fromEntries(counter.machines.backend.counts),
    },
  };
  return `${JSON.stringify(file, null, 1)}\n`;
}

/** Validates a coverage file; a one-line reason when it is not one. */
export function parseCoverage(
  text: string,
): { ok: true; coverage: CoverageFile } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      reason: `not JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const v = value as Partial<CoverageFile> | null;
  if (typeof v !== 'object' || v === null || v.kind !== 'blkif-coverage') {
    return { ok: false, reason: 'not a coverage file (written by blkif check --coverage-out)' };
  }
  if (v.version !== 1)
    return { ok: false, reason: `coverage version ${String(v.version)} is not 1` };
  const counts = (m: unknown) =>
    typeof m === 'object' &&
    m !== null &&
    Object.values(m).every((n) => Number.isInteger(n) && (n as number) >= 0);
  if (!counts(v.machines?.frontend) || !counts(v.machines?.backend)) {
    return {
      ok: false,
      reason: 'machines.frontend and machines.backend must map edge keys to counts',
    };
  }
  return { ok: true, coverage: v as CoverageFile };
}
