// `npm run bench`: whole-process throughput figures. Each bench module exports `run()`, which
// returns labelled rates; this file only prints them. Not a test: timing never decides a verdict.
export interface BenchFigure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
}
export type BenchModule = {
  readonly run: () => readonly BenchFigure[] | Promise<readonly BenchFigure[]>;
};

const modules: readonly (() => Promise<BenchModule>)[] = [
  () => import('./ring-ops.ts'),
  () => import('./xenstore-writes.ts'),
  () => import('./steps-per-second.ts'),
];

async function main(): Promise<void> {
  const filter = process.argv[2];
  const all: BenchFigure[] = [];
  for (const load of modules) {
    const mod = await load();
    for (const figure of await mod.run()) {
      if (filter !== undefined && !figure.label.includes(filter)) continue;
      all.push(figure);
      const value = Math.round(figure.value).toLocaleString('en-US');
      console.log(`${figure.label.padEnd(56)} ${value.padStart(14)} ${figure.unit}`);
    }
  }
  if (all.length === 0) console.log('no bench figures');
}

await main();
