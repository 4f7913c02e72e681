// `npx tsx bench/against.ts <commit> [--runs N] [--rounds K]`: the reference scenario's CPU time
// per action in this checkout against an earlier commit, interleaved (A B B A …) in one call, so a
// refactoring can show it kept the speed ("within 5% of before"). Both trees run the same fixed
// work (seeds 1..N of bench/steps-per-second.ts's reference scenario, checks off and on) in child
// processes that time only their own loop, so start-up and transpiling are left out. The commit
// is checked out in a temporary git worktree that shares this checkout's node_modules and is
// removed afterwards. Not a test: it prints figures, it never decides a verdict.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Options {
  readonly commit: string;
  readonly runs: number;
  readonly rounds: number;
}

interface Sample {
  readonly actions: number;
  readonly cpuMicros: number;
}

const HERE = resolve(import.meta.dirname, '..');
const USAGE = 'usage: npx tsx bench/against.ts <commit> [--runs N] [--rounds K]';

/** The child's program: imports the tree's own modules by absolute URL, so it lives outside both. */
function workSource(tree: string): string {
  const url = (path: string) => JSON.stringify(pathToFileURL(join(tree, path)).href);
  return `import { HONEST_DRIVERS } from ${url('impl/world/drivers.ts')};
import { runSchedule } from ${url('properties/run.ts')};
import { SeededChooser } from ${url('properties/strategies/chooser.ts')};
import { REFERENCE_CONFIG } from ${url('bench/steps-per-second.ts')};
const checks = process.argv[2] === 'on';
const runs = Number(process.argv[3]);
let actions = 0;
const started = process.cpuUsage();
for (let seed = 1; seed <= runs; seed++) {
  const run = runSchedule({
    config: REFERENCE_CONFIG, drivers: HONEST_DRIVERS, chooser: new SeededChooser(seed, 100_000),
    stepsMax: 100_000, drainStepsMax: 100_000,
    ...(checks ? {} : { stepInvariants: [], quiescenceInvariants: [] }),
  });
  if (run.violation !== undefined) throw new Error('reference scenario failed: ' + run.violation.message);
  actions += run.steps + run.drainSteps;
}
const used = process.cpuUsage(started);
console.log(JSON.stringify({ actions, cpuMicros: used.user + used.system }));
`;
}

/** Parses the arguments, or returns the one line to print before exiting with 2. */
function parseArgs(args: readonly string[]): Options | string {
  let commit: string | undefined;
  let runs = 300;
  let rounds = 5;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--runs' || arg === '--rounds') {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 1) return `${arg} needs a whole number ≥ 1`;
      if (arg === '--runs') runs = value;
      else rounds = value;
    } else if (arg.startsWith('-') || commit !== undefined) return `unexpected ${arg}; ${USAGE}`;
    else commit = arg;
  }
  if (commit === undefined) return USAGE;
  const git = (...a: string[]) => execFileSync('git', a, { cwd: HERE, stdio: 'pipe' });
  try {
    git('rev-parse', '--verify', '--quiet', `${commit}^{commit}`);
  } catch {
    return `${commit} is not a commit of this repository`;
  }
  try {
    git('cat-file', '-e', `${commit}:bench/steps-per-second.ts`);
  } catch {
    return `${commit} predates the reference scenario (bench/steps-per-second.ts)`;
  }
  return { commit, runs, rounds };
}

function sample(tree: string, program: string, checks: 'off' | 'on', runs: number): Sample {
  const out = execFileSync('node', ['--import', 'tsx', program, checks, String(runs)], {
    cwd: tree,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Sample;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface Tree {
  readonly dir: string;
  readonly program: string;
}

/** Rounds of A B (then B A) for one checks setting; prints µs/action medians and the ratio. */
function compare(options: Options, trees: readonly [Tree, Tree], checks: 'off' | 'on'): void {
  const perAction: [number[], number[]] = [[], []];
  const actions = [0, 0];
  for (let round = 0; round < options.rounds; round++) {
    for (const which of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const tree = trees[which === 0 ? 0 : 1];
      const s = sample(tree.dir, tree.program, checks, options.runs);
      perAction[which === 0 ? 0 : 1].push(s.cpuMicros / s.actions);
      actions[which] = s.actions;
    }
  }
  const [a, b] = perAction;
  const ratios = a.map((value, i) => value / (b[i] ?? value));
  const ratio = median(ratios);
  const range = `min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}`;
  console.log(
    `checks ${checks}: this checkout ${median(a).toFixed(3)} µs/action (${actions[0]} actions), ` +
      `${options.commit} ${median(b).toFixed(3)} µs/action (${actions[1]} actions); ` +
      `ratio ${ratio.toFixed(3)} (${range})${ratio <= 1.05 ? ', within 5%' : ', more than 5% slower'}`,
  );
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  if (typeof options === 'string') {
    console.error(options);
    process.exitCode = 2;
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'blkif-against-'));
  const before = join(scratch, 'tree');
  try {
    execFileSync('git', ['worktree', 'add', '--detach', before, options.commit], {
      cwd: HERE,
      stdio: 'pipe',
    });
    symlinkSync(join(HERE, 'node_modules'), join(before, 'node_modules'));
    const trees: [Tree, Tree] = [
      { dir: HERE, program: join(scratch, 'work-here.ts') },
      { dir: before, program: join(scratch, 'work-before.ts') },
    ];
    for (const tree of trees) writeFileSync(tree.program, workSource(tree.dir));
    console.log(
      `reference scenario, ${options.runs} seeded runs per sample, ${options.rounds} rounds, CPU time of the loop only`,
    );
    compare(options, trees, 'off');
    compare(options, trees, 'on');
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', before], { cwd: HERE, stdio: 'ignore' });
    rmSync(scratch, { recursive: true, force: true });
  }
}

main();
