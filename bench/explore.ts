// Explorer figures: distinct states per second on the small configuration (1 queue, ring order
// 0, a write and a read, no faults) explored to completion with POR off and on, the reduction
// factor (transitions without sleep sets / with), and the larger configuration (2 queues,
// 2 requests, one migration to a backend without multi-queue) within a time budget. The
// variants' shrink-quality ratios are explore-ratios.ts's. Not a test: nothing here decides a
// verdict (the explorer's own tests do); timings are this machine's, printed as measured.
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { type ConfigBounds, configsOf, SMALL_BOUNDS } from '../properties/explore/bounds.ts';
import { explore } from '../properties/explore/search.ts';
import type { BenchFigure } from './main.ts';

/** The targets: the small configuration to completion, and the rate on it. */
const COMPLETION_TARGET_S = 30;
const RATE_TARGET = 20_000;
/** The larger configuration's budget. */
const MIGRATION_BUDGET_S = 60;

export const now = (): number => performance.now();

/** The small configuration with `bounds` changed. */
export function configOf(bounds: Partial<ConfigBounds>) {
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

export function run(): BenchFigure[] {
  return [...smallFigures(), ...migrationFigures()];
}
