// `blkif explore`: every interleaving of a small configuration, breadth-first over the world's
// fingerprints (properties/explore). Ends with "no violation within bounds", the shortest
// counterexample in `blkif check`'s words with its trace (which `replay` and `render` read as
// they read check's), or an honest "incomplete" when a state or time limit ended it first.
import type { WorldConfig } from '../../impl/world/config.ts';
import type { WorkloadOp } from '../../impl/world/config.ts';
import type { HostilePlan } from '../../impl/world/hostile/plan.ts';
import {
  type ConfigBounds,
  configsOf,
  hostilePlanOf,
  SMALL_BOUNDS,
} from '../../properties/explore/bounds.ts';
import { ExploreCoverage } from '../../properties/explore/coverage.ts';
import { type ExploreResult, type ExploreStats, explore } from '../../properties/explore/search.ts';
import { traceOfPath } from '../../properties/explore/trace.ts';
import { formatViolation, LIVENESS_CODES } from '../../properties/invariants/violation.ts';
import { traceJson } from '../../properties/counterexample.ts';
import type { CliCommand, CliIo, ExitCode } from '../command.ts';
import { EXIT } from '../command.ts';
import { paintFor } from '../colour.ts';
import { badValue, CliError } from '../errors.ts';
import { intOption, type OptionValues, stringOption } from '../options.ts';
import { checkOutputs } from '../paths.ts';
import type { Registry } from '../registry.ts';
import { DRIVERS_OPTION, type SelectedDrivers, selectDrivers } from '../select-drivers.ts';
import { parseDuration } from './check.ts';

const OPS: readonly WorkloadOp[] = ['read', 'write', 'flush', 'discard'];
const TTY_INTERVAL_MS = 100;
const PLAIN_INTERVAL_MS = 10_000;

interface ExplorePlan {
  readonly bounds: ConfigBounds;
  readonly configs: readonly WorldConfig[];
  readonly depthMax: number;
  readonly statesMax: number;
  readonly timeMs: number | undefined;
  readonly por: boolean;
  readonly drainStepsMax: number;
  readonly out: string;
  readonly coverage: boolean;
  readonly selected: SelectedDrivers;
}

/** `absent` (multi-queue not advertised) or a count. */
function queueSetting(option: string, text: string): number | undefined {
  if (text === 'absent') return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 16)
    throw badValue(option, `expected absent or a queue count in 1..16, got "${text}"`);
  return Number(text);
}

function opsOf(text: string | undefined): readonly WorkloadOp[] {
  if (text === undefined) return SMALL_BOUNDS.ops;
  return text.split(',').map((raw) => {
    const op = raw.trim() as WorkloadOp;
    if (!OPS.includes(op)) throw badValue('ops', `expected ${OPS.join(', ')}, got "${raw}"`);
    return op;
  });
}

/** `--hostile side --attacks k [--attack name[:value],...]`: the peer's plan, or none. */
function hostileOf(options: OptionValues): HostilePlan | undefined {
  const side = stringOption(options, 'hostile');
  const budgetGiven = options.attacks !== undefined;
  const named = stringOption(options, 'attack');
  if (side === undefined) {
    if (budgetGiven || named !== undefined)
      throw badValue(budgetGiven ? 'attacks' : 'attack', 'needs --hostile blkfront|blkback');
    return undefined;
  }
  if (side !== 'blkfront' && side !== 'blkback')
    throw badValue('hostile', `expected blkfront or blkback, got "${side}"`);
  const budget = intOption(options, 'attacks', 0, 16, 1);
  const specs = named?.split(',').map((text) => {
    const [attack = '', value] = text.trim().split(':');
    if (value !== undefined && !/^\d+$/.test(value))
      throw badValue('attack', `expected name or name:value, got "${text.trim()}"`);
    return value === undefined ? { attack } : { attack, value: Number(value) };
  });
  const made = hostilePlanOf(side, budget, specs);
  if (!made.ok) throw badValue('attack', made.message);
  return made.plan;
}

function boundsOf(options: OptionValues): ConfigBounds {
  const hostile = hostileOf(options);
  const queues = intOption(options, 'queues', 1, 16, SMALL_BOUNDS.queues);
  const family = stringOption(options, 'backend-queues');
  return {
    queues,
    backendQueues:
      family === undefined
        ? [queues]
        : family.split(',').map((t) => queueSetting('backend-queues', t.trim())),
    ringOrder: intOption(options, 'order', 0, 4, SMALL_BOUNDS.ringOrder),
    indirectSegments: intOption(options, 'indirect', 0, 256, SMALL_BOUNDS.indirectSegments),
    persistent: options.persistent === true,
    requests: intOption(options, 'requests', 0, 64, SMALL_BOUNDS.requests),
    ops: opsOf(stringOption(options, 'ops')),
    sectors: intOption(options, 'sectors', 1, 1024, SMALL_BOUNDS.sectors),
    migrations: intOption(options, 'migrations', 0, 8, 0),
    migrateQueues: queueSetting(
      'migrate-queues',
      stringOption(options, 'migrate-queues') ?? 'absent',
    ),
    conflicts: intOption(options, 'conflicts', 0, 8, 0),
    unplug: options.unplug === true,
    close: options.close === true,
    restart: options.restart === true,
    ...(hostile === undefined ? {} : { hostile }),
  };
}

async function planOf(registry: Registry, options: OptionValues, io: CliIo): Promise<ExplorePlan> {
  const bounds = boundsOf(options);
  const made = configsOf(bounds);
  if (!made.ok) throw new CliError('bad-value', `impossible bounds: ${made.message}`);
  const por = stringOption(options, 'por') ?? 'on';
  if (por !== 'on' && por !== 'off') throw badValue('por', `expected on or off, got "${por}"`);
  const timeText = stringOption(options, 'time');
  const out = stringOption(options, 'out') ?? '.blkif/failures';
  checkOutputs(io, [{ option: 'out', path: out, kind: 'dir' }]);
  const selected = await selectDrivers(registry, stringOption(options, 'drivers'), io);
  return {
    bounds,
    configs: made.configs,
    depthMax: intOption(options, 'depth', 1, 100_000, 200),
    statesMax: intOption(options, 'max-states', 1, 100_000_000, 5_000_000),
    timeMs: timeText === undefined ? undefined : parseDuration(timeText),
    por: por === 'on',
    drainStepsMax: intOption(options, 'drain-steps-max', 1, 10_000_000, 2_000),
    out,
    coverage: options.coverage === true,
    selected,
  };
}

function describeFamilyMember(config: WorldConfig): string {
  const q = config.backend.queueCountMax;
  return `backend multi-queue ${q === undefined ? 'absent' : q}`;
}

function headline(plan: ExplorePlan): string {
  const b = plan.bounds;
  const faults = [
    b.migrations > 0
      ? `${b.migrations} migration(s) to multi-queue ${b.migrateQueues ?? 'absent'}`
      : '',
    b.conflicts > 0 ? `${b.conflicts} transaction conflict(s)` : '',
    b.unplug ? 'unplug' : '',
    b.close ? 'close' : '',
    b.restart ? 'backend restart' : '',
    b.hostile === undefined || b.hostile.budget === 0
      ? ''
      : `hostile ${b.hostile.side}: ${b.hostile.budget} attack(s) of ${b.hostile.attacks.map((a) => `${a.attack}:${a.value}`).join(', ')}`,
  ].filter((f) => f !== '');
  return (
    `explore: drivers ${plan.selected.drivers.name}; ${b.queues} queue(s), ring order ${b.ringOrder}, ` +
    `${b.requests} request(s) (${plan.configs[0]!.workload.map((w) => w.op).join(', ') || 'none'}; ${b.sectors} sectors each), faults ${faults.length === 0 ? 'none' : faults.join(', ')}; ` +
    `depth <= ${plan.depthMax}, states <= ${plan.statesMax.toLocaleString('en-US')}` +
    `${plan.timeMs === undefined ? '' : `, time <= ${plan.timeMs / 1000} s`}, POR ${plan.por ? 'on' : 'off'}`
  );
}

const count = (n: number): string => n.toLocaleString('en-US');

class ProgressLine {
  private last: number;
  private shown = false;
  constructor(private readonly io: CliIo) {
    this.last = io.now();
  }
  update(label: string, s: ExploreStats): void {
    const now = this.io.now();
    if (now - this.last < (this.io.stderrIsTty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS)) return;
    this.last = now;
    const rate = s.elapsedMs > 0 ? Math.round((s.states * 1000) / s.elapsedMs) : 0;
    const text = `  ${label}${count(s.states)} states, ${count(s.transitions)} transitions, frontier ${count(s.frontier)}, depth ${s.depth}, ${count(rate)} states/s`;
    if (this.io.stderrIsTty) {
      this.io.stderr(`\r\x1b[2K${text}`);
      this.shown = true;
    } else this.io.stderr(`${text}\n`);
  }
  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}

/** The command line that runs this exploration again (the options as given). */
function rerunOf(options: OptionValues): string {
  const parts = Object.entries(options).map(([k, v]) => (v === true ? `--${k}` : `--${k} ${v}`));
  return ['npx blkif explore', ...parts].join(' ');
}

export function createExploreCommand(registry: Registry): CliCommand {
  return {
    name: 'explore',
    summary:
      'explore all interleavings of a small configuration: a proof within bounds, or a shortest failure',
    usage: '[--queues N] [--requests N] [--depth N] [--max-states N] [--time T] [--drivers v] ...',
    options: EXPLORE_OPTIONS,
    async run({ positionals, options }, io): Promise<ExitCode> {
      if (positionals.length > 0)
        throw new CliError('extra-argument', `unexpected argument "${positionals[0]}"`);
      const plan = await planOf(registry, options, io);
      return runPlan(plan, options, io);
    },
  };
}

interface Tally {
  states: number;
  transitions: number;
  slept: number;
  depth: number;
  depthCut: number;
  elapsedMs: number;
}

function runPlan(plan: ExplorePlan, options: OptionValues, io: CliIo): ExitCode {
  io.stdout(`${headline(plan)}\n`);
  const progress = new ProgressLine(io);
  const coverage = plan.coverage ? new ExploreCoverage() : undefined;
  const tally: Tally = { states: 0, transitions: 0, slept: 0, depth: 0, depthCut: 0, elapsedMs: 0 };
  let incomplete: ExploreResult | undefined;
  for (const [i, config] of plan.configs.entries()) {
    const label =
      plan.configs.length > 1
        ? `${i + 1}/${plan.configs.length} (${describeFamilyMember(config)}): `
        : '';
    const started = io.now();
    const result = explore({
      config,
      drivers: plan.selected.drivers,
      bounds: {
        depthMax: plan.depthMax,
        statesMax: plan.statesMax,
        ...(plan.timeMs === undefined
          ? {}
          : { timeMs: Math.max(1, plan.timeMs - tally.elapsedMs) }),
        por: plan.por,
      },
      now: () => io.now(),
      ...(io.memoryFull === undefined ? {} : { memoryFull: io.memoryFull }),
      onProgress: (s) => progress.update(label, s),
      ...(coverage === undefined ? {} : { onTransition: coverage.hook }),
    });
    progress.clear();
    addTally(tally, result.stats, io.now() - started);
    if (plan.configs.length > 1) io.stdout(`  ${label}${resultWord(result)}\n`);
    if (result.outcome === 'violation')
      return reportViolation(plan, config, shortest(plan, config, result), options, io);
    if (result.outcome === 'incomplete') {
      incomplete = result;
      break;
    }
  }
  if (coverage !== undefined) io.stdout(`${coverage.report(tally.states)}\n`);
  if (incomplete !== undefined && incomplete.outcome === 'incomplete') {
    const why = {
      states: 'the state limit',
      time: 'the time limit',
      stopped: 'a stop',
      memory: "the process's memory",
    }[incomplete.reason];
    io.stdout(
      `incomplete: explored ${count(tally.states)} states, frontier ${count(incomplete.stats.frontier)} (${why} ended the search at depth ${incomplete.stats.depth})\n`,
    );
    return EXIT.incomplete;
  }
  io.stdout(
    `no violation within bounds: ${count(tally.states)} states, ${count(tally.transitions)} transitions, depth ${tally.depth}, ${(tally.elapsedMs / 1000).toFixed(1)} s\n`,
  );
  io.stdout(`  ${coverageOfBounds(tally, plan.depthMax)}\n`);
  if (plan.por) io.stdout(`  ${porLine(tally)}\n`);
  return EXIT.pass;
}

type Found = Extract<ExploreResult, { outcome: 'violation' }>;

/**
 * Sleep sets keep every state but not every state's shortest path: with POR on, the finding's
 * depth bounds a search without it, whose first finding is a proven shortest.
 */
function shortest(plan: ExplorePlan, config: WorldConfig, found: Found): Found {
  if (!plan.por) return found;
  const again = explore({
    config,
    drivers: plan.selected.drivers,
    bounds: { depthMax: found.path.length, statesMax: plan.statesMax, por: false },
  });
  return again.outcome === 'violation' ? again : found;
}

function addTally(tally: Tally, s: ExploreStats, ms: number): void {
  tally.states += s.states;
  tally.transitions += s.transitions;
  tally.slept += s.slept;
  tally.depth = Math.max(tally.depth, s.depth);
  tally.depthCut += s.depthCut;
  tally.elapsedMs += ms;
}

function resultWord(result: ExploreResult): string {
  const s = result.stats;
  const what = result.outcome === 'pass' ? 'no violation' : result.outcome;
  return `${what}: ${count(s.states)} states, ${count(s.transitions)} transitions, depth ${s.depth}`;
}

function coverageOfBounds(tally: Tally, depthMax: number): string {
  if (tally.depthCut === 0) return 'every reachable state explored: the state space is exhausted';
  return `the depth bound left ${count(tally.depthCut)} states at depth ${depthMax} unexpanded: longer schedules were not explored`;
}

function porLine(tally: Tally): string {
  const all = tally.transitions + tally.slept;
  const factor = tally.transitions === 0 ? 1 : all / tally.transitions;
  return `POR: sleep sets skipped ${count(tally.slept)} of ${count(all)} transitions (reduction factor ${factor.toFixed(2)})`;
}

function reportViolation(
  plan: ExplorePlan,
  config: WorldConfig,
  result: Found,
  options: OptionValues,
  io: CliIo,
): ExitCode {
  const made = traceOfPath({
    config,
    drivers: plan.selected.drivers,
    path: result.path,
    drainStepsMax: plan.drainStepsMax,
  });
  const violation = made.violation;
  // The trace is the run replay re-runs: it must end in a violation where the search found one.
  if (
    violation === undefined ||
    (result.kind !== 'liveness' && violation.code !== result.violation.code)
  )
    throw new Error(
      `explore: the path's replay found ${violation?.code ?? 'nothing'}, the search ${result.violation.code}`,
    );
  const trace =
    plan.selected.file === undefined
      ? made.trace
      : { ...made.trace, driversFile: plan.selected.file };
  const variant = plan.selected.drivers.name === 'honest' ? '' : `-${plan.selected.drivers.name}`;
  const file = `${plan.out.replace(/\/+$/, '')}/${violation.code}${variant}-explore.json`;
  const paint = paintFor(io.colour);
  const s = result.stats;
  io.stdout(
    `${paint('FAIL', 'safety')} explore: a shortest counterexample, ${result.path.length} scheduled actions (${made.trace.steps.length} steps with the drain), after ${count(s.states)} states\n`,
  );
  io.stdout(`  ${formatViolation(violation)}\n`);
  io.stdout(`  npx blkif replay ${file}\n`);
  io.stdout(`  rerun: ${rerunOf(options)}\n`);
  io.mkdir(plan.out);
  io.writeFile(file, traceJson(trace));
  return LIVENESS_CODES.has(violation.code) ? EXIT.liveness : EXIT.safety;
}

const EXPLORE_OPTIONS: CliCommand['options'] = [
  {
    name: 'queues',
    kind: 'number',
    placeholder: 'N',
    summary: 'vCPUs and blkfront max_queues (default 1)',
  },
  {
    name: 'backend-queues',
    kind: 'string',
    placeholder: 'absent|N[,..]',
    summary: "the backend's multi-queue-max-queues; a list explores each (default: --queues)",
  },
  {
    name: 'order',
    kind: 'number',
    placeholder: 'N',
    summary: 'ring page order, both sides (default 0)',
  },
  {
    name: 'indirect',
    kind: 'number',
    placeholder: 'N',
    summary: 'indirect segments both sides offer (default 0: none)',
  },
  { name: 'persistent', kind: 'boolean', summary: 'persistent grants on both sides' },
  {
    name: 'requests',
    kind: 'number',
    placeholder: 'N',
    summary: 'requests the guest submits (default 2)',
  },
  {
    name: 'ops',
    kind: 'string',
    placeholder: 'op[,op]',
    summary: 'their operations in turn: read, write, flush, discard (default write,read)',
  },
  {
    name: 'sectors',
    kind: 'number',
    placeholder: 'N',
    summary: 'sectors per request, all at sector 0 (default 8)',
  },
  {
    name: 'migrations',
    kind: 'number',
    placeholder: 'N',
    summary: 'migrations the scheduler may start (default 0)',
  },
  {
    name: 'migrate-queues',
    kind: 'string',
    placeholder: 'absent|N',
    summary: "the migration target's multi-queue-max-queues (default absent)",
  },
  {
    name: 'conflicts',
    kind: 'number',
    placeholder: 'N',
    summary: 'xenstore transaction conflicts the scheduler may inject (default 0)',
  },
  { name: 'unplug', kind: 'boolean', summary: 'the scheduler may unplug the device' },
  { name: 'close', kind: 'boolean', summary: 'the guest may close the device' },
  { name: 'restart', kind: 'boolean', summary: "the backend's blkback may restart" },
  {
    name: 'hostile',
    kind: 'string',
    placeholder: 'blkfront|blkback',
    summary: 'that peer is hostile: besides its driver it writes what it likes (attacks)',
  },
  {
    name: 'attacks',
    kind: 'number',
    placeholder: 'N',
    summary: 'attacks the hostile peer may take in all (default 1)',
  },
  {
    name: 'attack',
    kind: 'string',
    placeholder: 'name[:v][,..]',
    summary:
      "the attacks it picks from, each once, on ring 0 (default: all of the side's, value 0)",
  },
  {
    name: 'depth',
    kind: 'number',
    placeholder: 'N',
    summary: 'bound on scheduled actions from the start (default 200)',
  },
  {
    name: 'max-states',
    kind: 'number',
    placeholder: 'N',
    summary: 'distinct states before the search ends incomplete (default 5,000,000)',
  },
  {
    name: 'time',
    kind: 'string',
    placeholder: 'time',
    summary: 'time budget (90s, 5m); reaching it ends the search incomplete',
  },
  {
    name: 'por',
    kind: 'string',
    placeholder: 'on|off',
    summary: 'partial-order reduction by sleep sets (default on)',
  },
  {
    name: 'drain-steps-max',
    kind: 'number',
    placeholder: 'N',
    summary: "the fair drain's bound in a liveness counterexample's trace (default 2,000)",
  },
  DRIVERS_OPTION,
  {
    name: 'out',
    kind: 'string',
    placeholder: 'dir',
    summary: 'where the counterexample trace goes (default .blkif/failures)',
  },
  {
    name: 'coverage',
    kind: 'boolean',
    summary:
      'print the action kinds, xenbus edges and machine states reached within the bounds, and those not',
  },
];
