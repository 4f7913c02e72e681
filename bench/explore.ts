// Explorer figures: distinct states per second on the small configuration (1 queue, ring order
// 0, a write and a read, no faults) explored to completion with POR off and on, the reduction
// factor (transitions without sleep sets / with), the larger configuration (2 queues,
// 2 requests, one migration to a backend without multi-queue) within a time budget, and for each
// known-bad variant the length of check's shrunk counterexample divided by explore's shortest.
// Not a test: nothing here decides a verdict (the explorer's own tests do); timings are this
// machine's, printed as measured. The whole module keeps to a budget (BUDGET_S): what does not fit
// is printed as not measured, with the reason.
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { checkProperty } from '../properties/catalog.ts';
import { type ConfigBounds, configsOf, SMALL_BOUNDS } from '../properties/explore/bounds.ts';
import { MUTANT_BOUNDS } from '../properties/explore/mutant-bounds.ts';
import { type ExploreResult, explore } from '../properties/explore/search.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import { PROPERTIES, propertyByName } from '../properties/properties.ts';
import type { BenchFigure } from './main.ts';

/** The targets: the small configuration to completion, and the rate on it. */
const COMPLETION_TARGET_S = 30;
const RATE_TARGET = 20_000;
const RATIO_AIM = 1.5;
/** The module's whole budget, and the larger configuration's share of it. */
const BUDGET_S = 420;
const MIGRATION_BUDGET_S = 60;
/**
 * Per variant: explore's and check's own limits. Most rows take a second or two; a few take
 * check's shrinking minutes (flush-op-ignores-barrier: 160 CPU-s to shrink a 76-step trace), so
 * check is stopped at ROW_CHECK_S and its smallest counterexample so far is the one measured
 * (the row says so): with these caps all 46 rows fit the budget on this machine.
 */
const ROW_EXPLORE_S = 30;
const ROW_CHECK_S = 15;
const ROW_CHECK_RUNS = 400;

const now = (): number => performance.now();

function configOf(bounds: Partial<ConfigBounds>) {
  const made = configsOf({ ...SMALL_BOUNDS, ...bounds });
  if (!made.ok) throw new Error(made.message);
  return made.configs[0]!;
}

function smallRun(por: boolean) {
  const started = now();
  const cpu = process.cpuUsage();
  const result = explore({
    config: configOf({}),
    drivers: HONEST_DRIVERS,
    bounds: { depthMax: 1_000, statesMax: 10_000_000, por },
  });
  if (result.outcome !== 'pass')
    throw new Error(`bench: the small configuration ${result.outcome}`);
  const wallS = (now() - started) / 1000;
  const cpuS = process.cpuUsage(cpu).user / 1e6;
  return { stats: result.stats, wallS, cpuS };
}

function smallFigures(): BenchFigure[] {
  const off = smallRun(false);
  const on = smallRun(true);
  const rate = on.stats.states / on.wallS;
  const factor = off.stats.transitions / on.stats.transitions;
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return [
    {
      label: 'explore small: states (1 queue, order 0, write+read)',
      value: on.stats.states,
      unit: `(depth ${on.stats.depth}, exhausted; POR off: ${off.stats.states})`,
    },
    { label: 'explore small: transitions, POR off', value: off.stats.transitions, unit: '' },
    {
      label: 'explore small: transitions, POR on',
      value: on.stats.transitions,
      unit: `(${on.stats.slept} slept)`,
    },
    {
      label: 'explore small: POR reduction factor (transitions)',
      value: factor,
      unit:
        factor >= 2
          ? ''
          : '(sleep sets keep every state; on one ring most co-enabled pairs share the ring or a watch callback that acts)',
      digits: 3,
    },
    {
      label: 'explore small: to completion, POR off / on (wall)',
      value: on.wallS,
      unit: `s (off ${off.wallS.toFixed(1)} s; target < ${COMPLETION_TARGET_S} s, ${met(on.wallS < COMPLETION_TARGET_S)}; cpu ${on.cpuS.toFixed(1)} s)`,
      digits: 1,
    },
    {
      label: 'explore small: distinct states/s, POR on (wall)',
      value: rate,
      unit: `(target >= ${RATE_TARGET}, ${met(rate >= RATE_TARGET)}; per cpu-s ${Math.round(on.stats.states / on.cpuS)})`,
    },
  ];
}

/** 2 queues, 2 requests, one migration to a backend without multi-queue: to completion or not. */
function migrationFigures(): BenchFigure[] {
  const started = now();
  const result = explore({
    config: configOf({ queues: 2, backendQueues: [2], migrations: 1, migrateQueues: undefined }),
    drivers: HONEST_DRIVERS,
    bounds: {
      depthMax: 1_000,
      statesMax: 10_000_000,
      timeMs: MIGRATION_BUDGET_S * 1000,
      por: true,
    },
  });
  const wallS = (now() - started) / 1000;
  const s = result.stats;
  const verdict =
    result.outcome === 'pass'
      ? `no violation, exhausted at depth ${s.depth}`
      : result.outcome === 'incomplete'
        ? `incomplete: explored ${s.states} states, frontier ${s.frontier}, depth ${s.depth} (${result.reason} limit)`
        : `violation ${result.violation.code}`;
  return [
    {
      label: `explore 2 queues, 2 requests, 1 migration to no multi-queue (budget ${MIGRATION_BUDGET_S} s)`,
      value: s.states,
      unit: `states in ${wallS.toFixed(0)} s, ${Math.round(s.states / wallS)} states/s — ${verdict}`,
    },
  ];
}

/** explore's proven shortest (no POR: sleep sets keep states, not every state's shortest path). */
function shortestOf(name: string, bounds: Partial<ConfigBounds>, depth: number): ExploreResult {
  return explore({
    config: configOf(bounds),
    drivers: MUTANTS.get(name)!.drivers,
    bounds: { depthMax: depth, statesMax: 200_000, timeMs: ROW_EXPLORE_S * 1000, por: false },
  });
}

/** check's shrunk trace length over explore's shortest, per variant, with why where it is > aim. */
function ratioFigures(deadline: number): BenchFigure[] {
  const out: BenchFigure[] = [];
  for (const [name, row] of MUTANT_BOUNDS) {
    const mutant = MUTANTS.get(name);
    const def =
      mutant?.property !== undefined
        ? propertyByName(mutant.property)
        : PROPERTIES.find((p) => p.codes.includes(mutant?.caughtBy ?? 'canary'));
    if (mutant === undefined || def === undefined) {
      out.push({ label: `ratio ${name}`, value: 0, unit: '', absent: 'no property' });
      continue;
    }
    if (now() > deadline) {
      out.push({
        label: `ratio ${name}`,
        value: 0,
        unit: '',
        absent: 'not measured: bench budget',
      });
      continue;
    }
    const found = shortestOf(name, row.bounds, row.depth);
    const rowDeadline = Math.min(deadline, now() + ROW_CHECK_S * 1000);
    const checked = checkProperty(def, {
      numRuns: ROW_CHECK_RUNS,
      seed: 1,
      drivers: mutant.drivers,
      stop: () => now() > rowDeadline,
    });
    const failure = checked.failure;
    if (found.outcome !== 'violation' || failure === undefined) {
      const missing =
        found.outcome !== 'violation'
          ? `explore: ${found.outcome} within depth ${row.depth}`
          : checked.interrupted === true
            ? `not measured: check found nothing within its ${ROW_CHECK_S} s`
            : `check found nothing in ${ROW_CHECK_RUNS} runs`;
      out.push({ label: `ratio ${name}`, value: 0, unit: '', absent: missing });
      continue;
    }
    const ratio = failure.trace.steps.length / found.path.length;
    const cut =
      checked.interrupted === true ? ` (check's shrinking stopped at ${ROW_CHECK_S} s)` : '';
    out.push({
      label: `ratio ${name}: check ${failure.trace.steps.length} / explore ${found.path.length}`,
      value: ratio,
      unit: (ratio <= RATIO_AIM ? '' : whyLonger(failure, found.path.length)) + cut,
      digits: 2,
    });
  }
  return out;
}

/** What check's longer counterexample carries that explore's shortest does not. */
function whyLonger(
  failure: NonNullable<ReturnType<typeof checkProperty>['failure']>,
  shortest: number,
): string {
  const config = failure.scenario.config;
  const reasons = [
    `${config.workload.length} workload item(s) and ${config.vcpuCount} vCPU(s) (explore's bounds: the fewest that show it)`,
  ];
  if (config.faults.migrations.length > 0) reasons.push('a migration');
  if (config.hostile !== undefined)
    reasons.push(`a hostile plan of ${config.hostile.attacks.length} attack(s)`);
  return (
    ` — check's counterexample: ${reasons.join(', ')}; its trace has ${failure.trace.steps.length - shortest} ` +
    "more steps (fast-check shrinks the choices and the workload, not the interleaving's length)"
  );
}

export function run(): BenchFigure[] {
  const deadline = now() + BUDGET_S * 1000;
  const small = smallFigures();
  const migration = migrationFigures();
  const ratios = ratioFigures(deadline);
  const measured = ratios.filter((f) => f.absent === undefined).length;
  return [
    ...small,
    ...migration,
    {
      label: 'explore ratios: variants measured',
      value: measured,
      unit: `of ${ratios.length} (the others say why); this module took ${((now() - deadline) / 1000 + BUDGET_S).toFixed(0)} s`,
    },
    ...ratios,
  ];
}
