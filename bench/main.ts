// `npm run bench [module...]`: whole-process figures. Each bench module exports `run()`, which
// returns labelled figures; this file only prints them. Not a test: timing never decides a
// verdict. Rates compared with each other are measured interleaved within one module (see
// interleave.ts), so the ratios it prints are comparable within the run.
export interface BenchFigure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** Decimals to print (ratios); whole numbers otherwise. */
  readonly digits?: number;
  /** A figure that could not be measured: printed instead of the value. */
  readonly absent?: string;
}
export type BenchModule = {
  readonly run: () => readonly BenchFigure[] | Promise<readonly BenchFigure[]>;
};

const modules: readonly { name: string; load: () => Promise<BenchModule> }[] = [
  { name: 'ring', load: () => import('./ring-ops.ts') },
  { name: 'xenstore', load: () => import('./xenstore-writes.ts') },
  { name: 'world', load: () => import('./steps-per-second.ts') },
  { name: 'fork', load: () => import('./fork.ts') },
  { name: 'explore', load: () => import('./explore.ts') },
  { name: 'main-job', load: () => import('./main-job.ts') },
  { name: 'memory', load: () => import('./memory.ts') },
];

export function formatFigure(figure: BenchFigure): string {
  const value =
    figure.absent ??
    figure.value.toLocaleString('en-US', {
      minimumFractionDigits: figure.digits ?? 0,
      maximumFractionDigits: figure.digits ?? 0,
    });
  return `${figure.label.padEnd(58)} ${value.padStart(14)} ${figure.unit}`.trimEnd();
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !modules.some((m) => m.name === w));
  if (unknown.length > 0) {
    console.error(
      `unknown bench module ${unknown[0]}; modules: ${modules.map((m) => m.name).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  for (const module of modules) {
    if (wanted.length > 0 && !wanted.includes(module.name)) continue;
    console.log(`# ${module.name}`);
    const mod = await module.load();
    for (const figure of await mod.run()) console.log(formatFigure(figure));
  }
}

await main();
