// `npm run bench [module...]`: whole-process figures. Each bench module exports `run()`, which
// returns labelled figures; this file only prints them. Not a test: timing never decides a
// verdict. Rates compared with each other are measured interleaved within one module (see
// interleave.ts), so the ratios it prints are comparable within the run.
// `npm run bench -- --readme [module...]` runs every module (or those named), keeps the figures in
// bench/results.json and redraws README.md's speed table from them (figures.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  BENCH_MODULES,
  type BenchFigure,
  type BenchResults,
  formatFigure,
  withSpeedTable,
} from './figures.ts';

export type { BenchFigure, BenchModule } from './figures.ts';
export { formatFigure } from './figures.ts';

const RESULTS = new URL('./results.json', import.meta.url);
const README = new URL('../README.md', import.meta.url);

/** Keeps `ran` in bench/results.json (the other modules' figures kept as they were). */
function writeReadme(ran: BenchResults['modules']): void {
  const before = existsSync(RESULTS)
    ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchResults).modules
    : [];
  const modules = BENCH_MODULES.flatMap(({ name }) => {
    const figures = (ran.find((m) => m.name === name) ?? before.find((m) => m.name === name))
      ?.figures;
    return figures === undefined ? [] : [{ name, figures }];
  });
  const results: BenchResults = {
    date: new Date().toISOString(),
    node: process.versions.node,
    cores: availableParallelism(),
    modules,
  };
  const readme = withSpeedTable(readFileSync(README, 'utf8'), results);
  if (readme === undefined) throw new Error('README.md has no speed table markers (figures.ts)');
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(README, readme);
  console.log('wrote bench/results.json and the speed table of README.md');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const readme = args.includes('--readme');
  const wanted = args.filter((a) => a !== '--readme');
  const unknown = wanted.filter((w) => !BENCH_MODULES.some((m) => m.name === w));
  if (unknown.length > 0) {
    console.error(
      `unknown bench module ${unknown[0]}; modules: ${BENCH_MODULES.map((m) => m.name).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  const ran: { name: string; figures: readonly BenchFigure[] }[] = [];
  for (const module of BENCH_MODULES) {
    if (wanted.length > 0 && !wanted.includes(module.name)) continue;
    console.log(`# ${module.name}`);
    const figures = await (await module.load()).run();
    for (const figure of figures) console.log(formatFigure(figure));
    ran.push({ name: module.name, figures });
  }
  if (readme) writeReadme(ran);
}

await main();
