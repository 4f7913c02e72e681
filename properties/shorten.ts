// Shortening a counterexample's interleaving. fast-check shrinks a scenario's choice list and its
// configuration, but a choice is an index into whatever is enabled at its step, so removing one
// re-aims every later choice: the shrinker mostly cannot take a step out without losing the
// failure, and check's traces came out several times the length of explore's shortest. Here the
// failing run's own actions (its scheduled steps and its drain) are the schedule, by name: a
// candidate drops a block of them and runs the rest in order, skipping any that is not enabled
// when its turn comes, then drains fairly, as every run ends. A candidate is kept when the run
// breaks the same invariant. Blocks halve down to single steps (ddmin's complement pass). The
// result is a choice list again (each kept action's index in enabled() at its step), so the
// shortened scenario replays under the ordinary chooser and its trace is recorded as any other.
// Deterministic: a budget of runs bounds it, never the clock, so a seed and a path still give
// one result on any machine and with any --jobs.
import { type Action, sameAction } from '../impl/world/action.ts';
import type { Drivers } from '../impl/world/drivers.ts';
import { isFaultStart } from '../impl/world/enabled.ts';
import { assert } from '../impl/assert.ts';
import type { PropertyDef, Scenario } from './catalog.ts';
import type { ViolationCode } from './invariants/violation.ts';
import { runSchedule } from './run.ts';
import { simplerConfigs } from './simpler-configs.ts';
import type { Chooser } from './strategies/chooser.ts';

/** Candidate runs one shortening may take (a few seconds at most on the default properties). */
export const SHORTEN_RUNS_MAX = 1_000;

/** Takes the listed actions in order, skipping those not enabled at their turn; then drains. */
class ListedChooser implements Chooser {
  private next = 0;
  /** Per step taken: the action and its index in enabled(). */
  readonly taken: Action[] = [];
  readonly indices: number[] = [];

  constructor(private readonly actions: readonly Action[]) {}

  choose(_count: number, enabledNow?: readonly Action[]): number | 'drain' {
    assert(enabledNow !== undefined, 'ListedChooser needs the enabled list');
    while (this.next < this.actions.length) {
      const want = this.actions[this.next]!;
      this.next += 1;
      const index = enabledNow.findIndex(
        (a) => a.actor === want.actor && a.kind === want.kind && sameAction(a, want),
      );
      if (index >= 0) {
        this.taken.push(want);
        this.indices.push(index);
        return index;
      }
    }
    return 'drain';
  }
}

export interface Shortened {
  /** The scenario to report: `scenario` with the shortened choice list, or `scenario` itself. */
  readonly scenario: Scenario;
  /** Candidate runs taken. */
  readonly runs: number;
}

/** One candidate run: whether it broke `code`, and every step it took (scheduled and drained). */
function tryActions(
  def: PropertyDef,
  config: Scenario['config'],
  drivers: Drivers,
  actions: readonly Action[],
  code: ViolationCode,
): { readonly fails: boolean; readonly performed: Action[]; readonly chooser: ListedChooser } {
  const chooser = new ListedChooser(actions);
  const performed: Action[] = [];
  const run = runSchedule({
    config,
    drivers,
    chooser,
    // The property's bound, as the shortened scenario's replay has: listed actions past it are
    // never taken (the drain takes over), in the candidate as in that replay.
    stepsMax: def.stepsMax,
    drainStepsMax: def.drainStepsMax,
    ...(def.stepInvariants !== undefined ? { stepInvariants: def.stepInvariants } : {}),
    ...(def.quiescenceInvariants !== undefined
      ? { quiescenceInvariants: def.quiescenceInvariants }
      : {}),
    // A step that crashes is not reported here; the next candidate's drain takes it again.
    onStep: (_world, action) => performed.push(action),
  });
  return { fails: run.violation?.code === code, performed, chooser };
}

/** What one shortening works on: the property, the drivers, the invariant to keep broken. */
interface Task {
  readonly def: PropertyDef;
  readonly drivers: Drivers;
  readonly code: ViolationCode;
  readonly runsMax: number;
}

/** Where a shortening stands: the configuration and the steps of its failing run. */
interface Standing {
  config: Scenario['config'];
  list: readonly Action[];
  runs: number;
  shortened: boolean;
}

/**
 * One candidate run, counted. Kept (the standing becomes every step the run took: skipped
 * actions fall out, drained ones come in) when it breaks the same invariant in fewer steps, or,
 * with `orAsMany`, in as many (a simpler configuration is worth it alone).
 */
function attempt(
  task: Task,
  at: Standing,
  config: Scenario['config'],
  list: readonly Action[],
  orAsMany: boolean,
): boolean {
  at.runs += 1;
  const tried = tryActions(task.def, config, task.drivers, list, task.code);
  const steps = tried.performed.length;
  if (!tried.fails || steps > at.list.length || (steps === at.list.length && !orAsMany))
    return false;
  at.config = config;
  at.list = tried.performed;
  at.shortened = true;
  return true;
}

/** ddmin's complement pass over the steps: blocks of halving size, each dropped if it can be. */
function dropSteps(task: Task, at: Standing): void {
  let size = 1;
  while (size * 2 <= at.list.length) size *= 2;
  for (; size >= 1 && at.runs < task.runsMax; size = Math.floor(size / 2)) {
    for (let start = 0; start < at.list.length && at.runs < task.runsMax; ) {
      const candidate = [...at.list.slice(0, start), ...at.list.slice(start + size)];
      // Kept: the block at the same place is tried again.
      if (!attempt(task, at, at.config, candidate, false)) start += size;
    }
  }
}

/**
 * Workload items dropped one at a time, last first: a guest with fewer requests has fewer steps to
 * take before the drain ends (the drain submits whatever the workload still holds). The steps stay
 * the same list; a submission with nothing left to submit is skipped. True: one was dropped.
 */
function dropItems(task: Task, at: Standing): boolean {
  let dropped = false;
  for (let k = at.config.workload.length - 1; k >= 0 && at.runs < task.runsMax; k--) {
    const config = { ...at.config, workload: at.config.workload.filter((_, i) => i !== k) };
    if (attempt(task, at, config, at.list, true)) dropped = true;
  }
  return dropped;
}

/**
 * Simpler configurations (simpler-configs.ts), each tried with the same steps and kept when the
 * same invariant breaks in no more of them; a kept one is the base of the next. True: one was.
 */
function simplifyConfig(task: Task, at: Standing): boolean {
  let simpler = false;
  for (let found = true; found && at.runs < task.runsMax; ) {
    found = false;
    for (const config of simplerConfigs(at.config)) {
      if (at.runs >= task.runsMax) break;
      // Kept: the candidates of the new configuration, from the first again.
      found = attempt(task, at, config, at.list, true);
      if (found) break;
    }
    simpler ||= found;
  }
  return simpler;
}

/**
 * Each fault the run starts (an unbind, a suspend, an unplug, an attack...) tried earlier in the
 * list, from the first place on: a fault that comes before the connection it interrupts has
 * finished often needs none of the steps between (dropping steps keeps their order, so it never
 * moves one). Kept at the first place where the same invariant breaks in fewer steps. True: one
 * was moved.
 */
function hoistFaults(task: Task, at: Standing): boolean {
  let hoisted = false;
  for (let p = 0; p < at.list.length && at.runs < task.runsMax; p++) {
    const fault = at.list[p]!;
    if (!isFaultStart(fault)) continue;
    const rest = [...at.list.slice(0, p), ...at.list.slice(p + 1)];
    for (let q = 0; q < p && at.runs < task.runsMax; q++) {
      const candidate = [...rest.slice(0, q), fault, ...rest.slice(q)];
      if (!attempt(task, at, at.config, candidate, false)) continue;
      hoisted = true;
      break;
    }
  }
  return hoisted;
}

/**
 * `actions`: every step of the failing run of `scenario`, in order; `code`: what it broke. Returns
 * a scenario (perhaps with a simpler configuration and fewer workload items) whose run breaks
 * `code` in fewer steps, scheduled and drained together, or `scenario` itself when none is found
 * within `runsMax` candidate runs.
 */
export function shortenSchedule(
  def: PropertyDef,
  scenario: Scenario,
  drivers: Drivers,
  actions: readonly Action[],
  code: ViolationCode,
  runsMax = SHORTEN_RUNS_MAX,
): Shortened {
  const task: Task = { def, drivers, code, runsMax };
  const at: Standing = { config: scenario.config, list: actions, runs: 0, shortened: false };
  dropSteps(task, at);
  // A simpler configuration and fewer items make steps droppable that were not (and with a fault
  // threshold gone, items); a round that changes nothing ends it.
  while (at.runs < runsMax) {
    const simpler = simplifyConfig(task, at);
    const dropped = dropItems(task, at);
    if (!hoistFaults(task, at) && !dropped && !simpler) break;
    dropSteps(task, at);
  }
  if (!at.shortened) return { scenario, runs: at.runs };
  // The kept steps, all scheduled: their indices in enabled() are the shortened choice list.
  const final = tryActions(def, at.config, drivers, at.list, code);
  const runs = at.runs + 1;
  if (!final.fails) return { scenario, runs };
  return { scenario: { config: at.config, choices: final.chooser.indices }, runs };
}
