// What a bench module returns, how a figure is printed, and the README's speed table: the figures
// of the last `npm run bench -- --readme`, kept in bench/results.json and drawn into README.md
// between two markers by speedTable(). bench/readme-table.test.ts draws the table again from
// results.json and compares, so the README quotes the bench's own output and nothing else.
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

/** One `npm run bench -- --readme`: where and when it ran, and every module's figures. */
export interface BenchResults {
  readonly date: string;
  readonly node: string;
  readonly cores: number;
  readonly modules: readonly { readonly name: string; readonly figures: readonly BenchFigure[] }[];
}

export const BENCH_MODULES: readonly { name: string; load: () => Promise<BenchModule> }[] = [
  { name: 'ring', load: () => import('./ring-ops.ts') },
  { name: 'xenstore', load: () => import('./xenstore-writes.ts') },
  { name: 'world', load: () => import('./steps-per-second.ts') },
  { name: 'fork', load: () => import('./fork.ts') },
  { name: 'explore', load: () => import('./explore.ts') },
  { name: 'explore-ratios', load: () => import('./explore-ratios.ts') },
  { name: 'main-job', load: () => import('./main-job.ts') },
  { name: 'first-failure', load: () => import('./first-failure.ts') },
  { name: 'memory', load: () => import('./memory.ts') },
];

export function valueText(figure: BenchFigure): string {
  return (
    figure.absent ??
    figure.value.toLocaleString('en-US', {
      minimumFractionDigits: figure.digits ?? 0,
      maximumFractionDigits: figure.digits ?? 0,
    })
  );
}

export function formatFigure(figure: BenchFigure): string {
  return `${figure.label.padEnd(58)} ${valueText(figure).padStart(14)} ${figure.unit}`.trimEnd();
}

export const TABLE_BEGIN =
  '<!-- speed table: written by `npm run bench -- --readme` from bench/results.json; do not edit -->';
export const TABLE_END = '<!-- end of speed table -->';

/** A table cell: pipes escaped, backticks kept (labels quote commands). */
const cell = (text: string) => text.trim().replace(/\|/g, '\\|');

/** The README block: the markers around a Markdown table of every figure, module by module. */
export function speedTable(results: BenchResults): string {
  const rows = [
    `\`npm run bench\`, ${results.date.slice(0, 10)}, node ${results.node}, ${results.cores} cores (ratios are what compare across machines):`,
    '',
    '| bench | figure | value | unit |',
    '| --- | --- | ---: | --- |',
  ];
  for (const { name } of BENCH_MODULES) {
    const module = results.modules.find((m) => m.name === name);
    // A module added since the last --readme run: said so, until `--readme <name>` measures it.
    if (module === undefined) rows.push(`| ${name} | not measured yet | | |`);
    for (const f of module?.figures ?? [])
      rows.push(`| ${name} | ${cell(f.label)} | ${cell(valueText(f))} | ${cell(f.unit)} |`);
  }
  return [TABLE_BEGIN, ...rows, TABLE_END].join('\n');
}

/** `readme` with its speed table replaced by the one of `results`; undefined without markers. */
export function withSpeedTable(readme: string, results: BenchResults): string | undefined {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin || readme.indexOf(TABLE_BEGIN, begin + 1) >= 0) return undefined;
  return readme.slice(0, begin) + speedTable(results) + readme.slice(end + TABLE_END.length);
}
