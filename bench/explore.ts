// Explorer figures: distinct states per second on the small configuration (1 queue, ring order
// 0, a write and a read, no faults) explored to completion with POR off and on, the reduction
// factor (transitions without sleep sets / with), and for each known-bad variant the length of
// check's shrunk counterexample divided by explore's shortest. Not a test: nothing here decides a
// verdict (the explorer's own tests do); timings are this machine's, printed as measured.
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { checkProperty } from '../properties/catalog.ts';
import { configsOf, SMALL_BOUNDS } from '../properties/explore/bounds.ts';
import { MUTANT_BOUNDS } from '../properties/explore/mutant-bounds.ts';
import { explore } from '../properties/explore/search.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import { PROPERTIES } from '../properties/properties.ts';
import type { BenchFigure } from './main.ts';

/** The targets: the small configuration to completion, and the rate on it. */
const COMPLETION_TARGET_S = 30;
const RATE_TARGET = 20_000;
const RATIO_AIM = 1.5;

function smallRun(por: boolean) {
  const made = configsOf(SMALL_BOUNDS);
  if (!made.ok) throw new Error(made.message);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = explore({
    config: made.configs[0]!,
    drivers: HONEST_DRIVERS,
    bounds: { depthMax: 1_000, statesMax: 10_000_000, por },
  });
  if (result.outcome !== 'pass')
    throw new Error(`bench: the small configuration ${result.outcome}`);
  const wallS = (performance.now() - started) / 1000;
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
      unit: `(depth ${on.stats.depth}, exhausted)`,
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
      unit: '',
      digits: 3,
    },
    {
      label: 'explore small: to completion, POR on (wall)',
      value: on.wallS,
      unit: `s (target < ${COMPLETION_TARGET_S} s, ${met(on.wallS < COMPLETION_TARGET_S)}; cpu ${on.cpuS.toFixed(1)} s)`,
      digits: 1,
    },
    {
      label: 'explore small: distinct states/s, POR on (wall)',
      value: rate,
      unit: `(target >= ${RATE_TARGET}, ${met(rate >= RATE_TARGET)}; per cpu-s ${Math.round(on.stats.states / on.cpuS)})`,
    },
  ];
}

/** check's shrunk trace length over explore's shortest, per variant, with why where it is > aim. */
function ratioFigures(): BenchFigure[] {
  const out: BenchFigure[] = [];
  for (const [name, row] of MUTANT_BOUNDS) {
    const mutant = MUTANTS.get(name);
    const def = PROPERTIES.find((p) => p.codes.includes(mutant?.caughtBy ?? 'canary'));
    const made = configsOf({ ...SMALL_BOUNDS, ...row.bounds });
    if (mutant === undefined || def === undefined || !made.ok) {
      out.push({ label: `ratio ${name}`, value: 0, unit: '', absent: 'no property or bounds' });
      continue;
    }
    const found = explore({
      config: made.configs[0]!,
      drivers: mutant.drivers,
      bounds: { depthMax: row.depth, statesMax: 200_000, por: true },
    });
    const checked = checkProperty(def, { numRuns: 400, seed: 1, drivers: mutant.drivers });
    const failure = checked.failure;
    if (found.outcome !== 'violation' || failure === undefined) {
      const missing =
        found.outcome !== 'violation' ? 'explore found nothing' : 'check found nothing';
      out.push({ label: `ratio ${name}`, value: 0, unit: '', absent: missing });
      continue;
    }
    const ratio = failure.trace.steps.length / found.path.length;
    const why =
      ratio <= RATIO_AIM
        ? ''
        : ` — check's counterexample: ${failure.scenario.config.workload.length} workload items, ` +
          `${failure.scenario.config.vcpuCount} vCPUs, and its fair drain's steps are in its trace; ` +
          "fast-check shrinks the choices, not the interleaving's length";
    out.push({
      label: `ratio ${name}: check ${failure.trace.steps.length} / explore ${found.path.length}`,
      value: ratio,
      unit: why,
      digits: 2,
    });
  }
  return out;
}

export function run(): BenchFigure[] {
  return [...smallFigures(), ...ratioFigures()];
}
