// What the property runs reached, so a green run that never got to the interesting states is
// visible: action kinds taken, xenbus state edges (of the legal tables) each side took, machine
// states visited, and named scenarios detected by probes after each step. Declared machine edges
// are counted by traces/coverage.ts (EdgeCounter) for the diagrams.
import fc from 'fast-check';
import type { Action } from '../impl/world/action.ts';
import type { RingInfo } from '../impl/blkfront/ring-info.ts';
import type { Drivers } from '../impl/world/drivers.ts';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import type { World } from '../impl/world/world.ts';
import { mustNotify, reqEvent, reqProd, ringFull } from '../impl/xen/shared-ring.ts';
import { ringIdxAdd } from '../impl/xen/ring-index.ts';
import { backendMachine } from '../model/backend-machine.ts';
import { IN_CALLBACK } from '../model/events.ts';
import { frontendMachine } from '../model/frontend-machine.ts';
import { machineStates, stateValuePath } from '../model/graph.ts';
import { frontendQueueCountMax } from '../model/negotiate.ts';
import {
  backendTransitions,
  frontendTransitions,
  XenbusState,
  xenbusStateName,
} from '../model/xenbus-state.ts';
import type { PropertyDef } from './catalog.ts';
import { runSchedule } from './run.ts';
import { ChoiceListChooser } from './strategies/chooser.ts';

/** The scenarios a default-budget run must reach (coverage.prop.test.ts checks each). */
export const NAMED_SCENARIOS = [
  'migration with requests in flight on >= 2 rings',
  'ring full with notify suppressed',
  'fallback to one queue',
  'fallback to one queue after migration',
  'transaction EAGAIN retried',
  'persistent grants reused',
  'indirect request',
  'request split by the block layer',
  'write barrier drained',
  'unplug with requests in flight',
] as const;
export type ScenarioName = (typeof NAMED_SCENARIOS)[number];

/** Every action kind an honest run can take (hostile attacks are the hostile suites' business). */
export const ACTION_KEYS: readonly string[] = [
  'guest.submit',
  'guest.resume',
  'guest.close',
  'guest.unbind',
  'guest.kexec',
  'guest.continueReset',
  'blkfront.probe',
  'blkfront.queueRequest',
  'blkfront.processResponses',
  'blkfront.finalCheck',
  'blkfront.commitTransaction',
  'blkback.probe',
  'blkback.probeFails',
  'blkback.consumeRequest',
  'blkback.submitBarrier',
  'blkback.completeIo',
  'blkback.finalCheck',
  'blkback.commitTransaction',
  'hypervisor.deliverEvent',
  'xenstored.fireWatch',
  'xenstored.coalesceWatch',
  'xenstored.conflict',
  'toolstack.hotplug',
  'toolstack.suspend',
  'toolstack.migrate',
  'toolstack.unplug',
  'toolstack.removeDevice',
  'toolstack.forceRemove',
  'toolstack.hotplugFails',
  'toolstack.restartBackend',
];

export interface CoverageReport {
  readonly runs: number;
  readonly actions: ReadonlyMap<string, number>;
  readonly scenarios: ReadonlyMap<ScenarioName, number>;
  /** `frontend 1 (Initialising) -> 3 (Initialised) by frontend` → times taken; every legal driver edge listed. */
  readonly xenbusEdges: ReadonlyMap<string, number>;
  /** Machine state ids (`frontend.Connected.connected`) → steps that ended in it; every state listed. */
  readonly machineStates: ReadonlyMap<string, number>;
  /** How deep the runs went: their length, how soon I/O started, how many filled a ring. */
  readonly depth: DepthReport;
}

export interface DepthReport {
  /** Steps of every run (chosen and drained). */
  readonly actions: number;
  /** Runs in which some ring was full after blkif_queue_rq published (RING_FULL). */
  readonly ringFullRuns: number;
  /** Runs that submitted a request, and the sum of the step of each one's first submission. */
  readonly submittingRuns: number;
  readonly firstSubmitSteps: number;
}

/** Per-run memory of the probes (what the previous step left), reset for each run. */
class Probes {
  readonly hits = new Set<ScenarioName>();
  ringFull = false;
  firstSubmit: number | undefined = undefined;
  private grantedBefore = 0;
  private readonly shadowFreeBefore = new Map<RingInfo, number>();
  private tagBefore = 1;

  after(world: World, action: Action): void {
    if (action.kind === 'queueRequest') this.queued(world, action.ring);
    if (action.kind === 'submit' && this.firstSubmit === undefined)
      this.firstSubmit = world.stepCount;
    if (
      action.kind === 'migrate' &&
      world.front.device.rings.filter((r) => r.inflightCount > 0).length >= 2
    ) {
      this.hits.add('migration with requests in flight on >= 2 rings');
    }
    if (action.kind === 'unplug' && world.front.device.rings.some((r) => r.inflightCount > 0))
      this.hits.add('unplug with requests in flight');
    if (action.kind === 'commitTransaction') {
      const tx = action.actor === 'blkfront' ? world.front.tx : world.host.back.tx;
      if (tx !== undefined) this.hits.add('transaction EAGAIN retried');
    }
    if (action.kind === 'submitBarrier') this.hits.add('write barrier drained');
    // One workload item became several requests (blk_queue_max_segments).
    if (action.kind === 'submit' && world.guest.nextTag - this.tagBefore > 1)
      this.hits.add('request split by the block layer');
    this.fallback(world);
    this.grantedBefore = world.guestGnttab.grantedCount();
    this.tagBefore = world.guest.nextTag;
    for (const rinfo of world.front.device.rings)
      this.shadowFreeBefore.set(rinfo, rinfo.shadowFree);
  }

  private queued(world: World, ring: number): void {
    const dev = world.front.device;
    const rinfo = dev.rings[ring];
    const id = rinfo === undefined ? undefined : this.shadowFreeBefore.get(rinfo);
    if (rinfo === undefined || id === undefined || rinfo.shadowFree === id) return; // busy: nothing queued
    const f = rinfo.front;
    const prod = reqProd(f.sring);
    if (ringFull(f)) this.ringFull = true;
    if (
      !rinfo.stopped &&
      ringFull(f) &&
      !mustNotify(ringIdxAdd(prod, -1), prod, reqEvent(f.sring))
    ) {
      this.hits.add('ring full with notify suppressed');
    }
    const shadow = rinfo.shadow[id];
    if (shadow === undefined) return;
    if (shadow.indirectGrants.length > 0) this.hits.add('indirect request');
    const used = shadow.grantsUsed.length + shadow.indirectGrants.length;
    if (
      dev.features.persistent &&
      used > 0 &&
      world.guestGnttab.grantedCount() - this.grantedBefore < used
    ) {
      this.hits.add('persistent grants reused');
    }
  }

  private fallback(world: World): void {
    const front = world.front;
    if (front.cachedState !== XenbusState.Connected || front.device.rings.length !== 1) return;
    if (world.host.back.config.queueCountMax !== undefined) return;
    if (frontendQueueCountMax(world.config.frontend.queueCountMax, world.config.vcpuCount) < 2)
      return;
    this.hits.add('fallback to one queue');
    if (world.migrationCount > 0) this.hits.add('fallback to one queue after migration');
  }
}

export function edgeName(side: string, from: number, to: number, writer: string): string {
  const name = (s: number) => `${s} (${xenbusStateName(s) ?? '?'})`;
  return `${side} ${name(from)} -> ${name(to)} by ${writer}`;
}

export function emptyCounts(): {
  xenbusEdges: Map<string, number>;
  machineStates: Map<string, number>;
} {
  const xenbusEdges = new Map<string, number>();
  for (const [side, table] of [
    ['frontend', frontendTransitions],
    ['backend', backendTransitions],
  ] as const) {
    for (const t of table)
      if (t.writer !== 'toolstack') xenbusEdges.set(edgeName(side, t.from, t.to, t.writer), 0);
  }
  const states = new Map<string, number>();
  // A state tagged IN_CALLBACK is left within the step that entered it: no step ends there.
  for (const machine of [frontendMachine, backendMachine]) {
    for (const s of machineStates(machine)) if (!s.tags.includes(IN_CALLBACK)) states.set(s.id, 0);
  }
  return { xenbusEdges, machineStates: states };
}

export interface CoverageOptions {
  readonly seed: number;
  /** Runs per property; default: each property's defaultRuns. */
  readonly runs?: number;
  readonly drivers?: Drivers;
}

const bump = <K>(map: Map<K, number>, key: K, by = 1): void => {
  map.set(key, (map.get(key) ?? 0) + by);
};

/** The leaf a step ended in, and each compound state around it. */
export function creditState(states: Map<string, number>, machine: string, path: string): void {
  let id = machine;
  for (const key of path.split('.')) {
    id = `${id}.${key}`;
    if (states.has(id)) bump(states, id);
  }
}

/**
 * Runs the scenarios each property draws (fc.sample of its arbitrary with the seed: the same
 * kind and number of runs as its check) with the probes on, and tallies what they reached.
 */
export function measureCoverage(
  properties: readonly PropertyDef[],
  options: CoverageOptions,
): CoverageReport {
  const actions = new Map<string, number>(ACTION_KEYS.map((k) => [k, 0]));
  const scenarios = new Map<ScenarioName, number>(NAMED_SCENARIOS.map((s) => [s, 0]));
  const { xenbusEdges, machineStates: states } = emptyCounts();
  let runs = 0;
  const depth = { actions: 0, ringFullRuns: 0, submittingRuns: 0, firstSubmitSteps: 0 };
  for (const def of properties) {
    for (const scenario of fc.sample(def.scenario, {
      seed: options.seed,
      numRuns: options.runs ?? def.defaultRuns,
    })) {
      const probes = new Probes();
      const run = runSchedule({
        config: scenario.config,
        drivers: options.drivers ?? HONEST_DRIVERS,
        chooser: new ChoiceListChooser(scenario.choices),
        stepsMax: def.stepsMax,
        drainStepsMax: def.drainStepsMax,
        onStep: (world, action) => {
          probes.after(world, action);
          creditState(states, 'frontend', stateValuePath(world.front.snapshot.value));
          creditState(states, 'backend', stateValuePath(world.host.back.snapshot.value));
        },
      });
      runs += 1;
      depth.actions += run.steps + run.drainSteps;
      if (probes.ringFull) depth.ringFullRuns += 1;
      if (probes.firstSubmit !== undefined) {
        depth.submittingRuns += 1;
        depth.firstSubmitSteps += probes.firstSubmit;
      }
      for (const [key, n] of run.actionCounts) bump(actions, key, n);
      for (const hit of probes.hits) bump(scenarios, hit);
      // Only the tables' edges: a same-value rewrite over the toolstack's Closing is no edge.
      // The hostile side's node is the adversary's (it flaps it under the driver's writes): only
      // the honest side's edges are the Linux drivers' behaviour.
      const hostile = scenario.config.hostile?.side;
      for (const w of run.world.stateWrites) {
        if (hostile !== undefined && (w.side === 'frontend') === (hostile === 'blkfront')) continue;
        const key = edgeName(w.side, w.from, w.to, w.writer);
        if (xenbusEdges.has(key)) bump(xenbusEdges, key);
      }
    }
  }
  return { runs, actions, scenarios, xenbusEdges, machineStates: states, depth };
}

export function section(
  title: string,
  counts: ReadonlyMap<string, number>,
  showAll: boolean,
): string[] {
  const reached = [...counts.values()].filter((n) => n > 0).length;
  const lines = [`${title}: ${reached}/${counts.size} reached`];
  for (const [key, n] of counts)
    if (showAll || n === 0)
      lines.push(`  ${n === 0 ? 'NOT REACHED' : String(n).padStart(11)}  ${key}`);
  return lines;
}

/** The report as text: named scenarios and action kinds in full, then what the runs missed. */
export function formatCoverage(report: CoverageReport): string {
  const d = report.depth;
  const percent = report.runs === 0 ? 0 : Math.round((100 * d.ringFullRuns) / report.runs);
  const mean = (sum: number, n: number): string => (n === 0 ? '-' : (sum / n).toFixed(1));
  return [
    `coverage over ${report.runs} runs`,
    `depth: ${mean(d.actions, report.runs)} actions per run; first request submitted at step ${mean(d.firstSubmitSteps, d.submittingRuns)} (mean of ${d.submittingRuns} runs); ${d.ringFullRuns} runs (${percent}%) filled a ring`,
    ...section('named scenarios (runs)', report.scenarios, true),
    ...section('action kinds (steps)', report.actions, true),
    ...section(
      'xenbus state edges of the drivers (times taken; unreached listed)',
      report.xenbusEdges,
      false,
    ),
    ...section(
      'machine states (steps ending in or under them; unreached listed)',
      report.machineStates,
      false,
    ),
  ].join('\n');
}
