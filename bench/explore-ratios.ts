// The explorer's shrink quality: for each known-bad variant (properties/mutants, with the bounds
// written beside it in properties/explore/mutant-bounds.ts), the length of check's shrunk
// counterexample divided by explore's proven shortest, and where it is over the aim, why. Its own
// module, with its own budget: the 46 rows take minutes (a few variants' shrinking is long), and
// the explorer's rate figures (explore.ts) should not wait for them. Lengths, not timings: only
// the caps below (which a row names when it hits one) make a row depend on this machine's speed.
import { checkProperty, SHRINK_RUNS_MAX } from '../properties/catalog.ts';
import type { ConfigBounds } from '../properties/explore/bounds.ts';
import { MUTANT_BOUNDS } from '../properties/explore/mutant-bounds.ts';
import { type ExploreResult, explore } from '../properties/explore/search.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import { propertyOfMutant } from '../properties/properties.ts';
import { configOf, now } from './explore.ts';
import type { BenchFigure } from './main.ts';

const RATIO_AIM = 1.5;
/** The module's whole budget: rows past it are printed as not measured, with the reason. */
const BUDGET_S = 1_500;
/**
 * Per variant: explore's and check's own limits. With check's shrinking bounded in runs
 * (SHRINK_RUNS_MAX) a row takes a few seconds at most; ROW_CHECK_S stays as a guard, and a row
 * it stops says so (its smallest counterexample so far is the one measured). Before the bound,
 * flush-op-ignores-barrier's shrinking alone took 40 s.
 */
const ROW_EXPLORE_S = 30;
const ROW_CHECK_S = 90;
const ROW_CHECK_RUNS = 400;

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
    const def = mutant === undefined ? undefined : propertyOfMutant(mutant);
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
      // As `blkif check` reports it: fast-check's shrinking, then the interleaving shortened.
      shorten: true,
      shrinkRunsMax: SHRINK_RUNS_MAX,
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
    'more steps (after fast-check and the shortening, which drops steps, workload items and parts of the configuration but keeps the order of the steps it keeps: a shortest path that takes them in another order is out of its reach)'
  );
}

export function run(): BenchFigure[] {
  const started = now();
  const ratios = ratioFigures(started + BUDGET_S * 1000);
  const measured = ratios.filter((f) => f.absent === undefined).length;
  return [
    {
      label: 'explore ratios: variants measured',
      value: measured,
      unit: `of ${ratios.length} (the others say why); this module took ${((now() - started) / 1000).toFixed(0)} s`,
    },
    ...ratios,
  ];
}
