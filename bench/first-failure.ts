// Time to first failure: for every registered known-bad variant, how long the default main job
// (`blkif check`: every property with its default budget) runs before its first failing run,
// over several seeds. The main job's value is how soon it finds a bug; a variant whose median is
// high lives where the default runs seldom go. Measured serially, as `--jobs 1` runs the job:
// every property's chunks of runs in order, each drawn as its check draws it (cli/check/shard.ts),
// the properties interleaved run by run as cli/check/turns.ts does (the next run goes to the
// property that has simulated the fewest actions, ties to the earlier one), each run with its
// property's invariants until one fails; shrinking is not counted. Wall time, so a loaded
// machine inflates every row alike: compare rows within one run.
import fc from 'fast-check';
import { shardChunks } from '../cli/check/shard.ts';
import type { Drivers } from '../impl/world/drivers.ts';
import { type PropertyDef, runScenario } from '../properties/catalog.ts';
import { MUTANTS } from '../properties/mutants/index.ts';
import { PROPERTIES } from '../properties/properties.ts';
import { median } from './interleave.ts';
import type { BenchFigure } from './main.ts';

const SEEDS = [1, 2, 3, 4, 5] as const;
/** The whole campaign, as one shard. */
const WHOLE = { index: 1, count: 1 } as const;
/** The target of issue 14: every variant found within this median wall time. */
const TARGET_MS = 2000;
/** A seed's job is given up after this long: its time is then only known to exceed it. */
const CAP_MS = 10_000;

interface FirstFailure {
  /** Wall time to the first failing run; undefined when the whole job passed. */
  readonly ms: number | undefined;
  readonly property: string | undefined;
}

/** A property's runs in campaign order, each with whether it failed and its actions. */
function* runsOf(def: PropertyDef, seed: number, drivers: Drivers) {
  for (const chunk of shardChunks(seed, def.defaultRuns, WHOLE)) {
    for (const scenario of fc.sample(def.scenario, { seed: chunk.seed, numRuns: chunk.runs })) {
      const run = runScenario(def, scenario, drivers, false);
      yield { failed: run.violation !== undefined, actions: run.steps + run.drainSteps };
    }
  }
}

/** The main job under `seed` with `name`'s drivers, up to its first failing run. */
function firstFailure(name: string, seed: number): FirstFailure {
  const drivers = MUTANTS.get(name)!.drivers;
  const started = performance.now();
  const runs = PROPERTIES.map((def) => runsOf(def, seed, drivers));
  const spent = PROPERTIES.map(() => 0);
  const open = PROPERTIES.map(() => true);
  for (;;) {
    let next = -1;
    for (let i = 0; i < runs.length; i++)
      if (open[i] && (next < 0 || spent[i]! < spent[next]!)) next = i;
    if (next < 0) return { ms: undefined, property: undefined };
    const run = runs[next]!.next();
    if (run.done === true) {
      open[next] = false;
      continue;
    }
    spent[next]! += run.value.actions;
    const ms = performance.now() - started;
    if (run.value.failed) return { ms, property: PROPERTIES[next]!.name };
    if (ms > CAP_MS) return { ms: undefined, property: undefined };
  }
}

export function run(): BenchFigure[] {
  const figures: BenchFigure[] = [];
  const over: string[] = [];
  for (const name of MUTANTS.keys()) {
    const found = SEEDS.map((seed) => firstFailure(name, seed));
    const times = found.map((f) => f.ms ?? Number.POSITIVE_INFINITY);
    const mid = median(times);
    const missed = found.filter((f) => f.ms === undefined).length;
    const by = [...new Set(found.flatMap((f) => (f.property === undefined ? [] : [f.property])))];
    const note = `${by.join(', ') || 'no property'}${missed > 0 ? `; ${missed} of ${SEEDS.length} seeds not within ${CAP_MS / 1000} s` : ''}`;
    figures.push(
      Number.isFinite(mid)
        ? { label: `${name} (${note})`, value: mid / 1000, unit: 's median', digits: 2 }
        : { label: `${name} (${note})`, value: 0, unit: '', absent: `> ${CAP_MS / 1000} s` },
    );
    // Progress on stderr: the whole module takes minutes.
    process.stderr.write(`${name}: ${Number.isFinite(mid) ? (mid / 1000).toFixed(2) : '-'} s\n`);
    if (!(mid < TARGET_MS)) over.push(name);
  }
  figures.push({
    label: `variants with a median of ${TARGET_MS / 1000} s or more (${SEEDS.length} seeds each)`,
    value: over.length,
    unit: over.length === 0 ? 'variants' : `variants: ${over.join(', ')}`,
  });
  return figures;
}
