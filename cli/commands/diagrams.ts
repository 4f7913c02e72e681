// `blkif diagrams [--coverage <coverage.json>] [--out <dir>]`: the control-plane machines as
// Mermaid, DOT and SVG (traces/diagrams), with every edge's count from a `blkif check
// --coverage-out` file: thicker when taken often, red and dashed when never taken.
import { backendMachine } from '../../model/backend-machine.ts';
import { frontendMachine } from '../../model/frontend-machine.ts';
import { machineEdges } from '../../model/graph.ts';
import { type MachineName, parseCoverage } from '../../traces/coverage.ts';
import {
  dotToSvg,
  type EdgeCoverage,
  toDot,
  toMermaid,
} from '../../traces/diagrams/state-diagram.ts';
import { type CliCommand, EXIT, type ExitCode } from '../command.ts';
import { CliError } from '../errors.ts';
import { stringOption } from '../options.ts';
import { checkOutputs } from '../paths.ts';
import { readTextFile } from './load-trace.ts';

const MACHINES = { frontend: frontendMachine, backend: backendMachine } as const;

/**
 * Edge counts that belong to this model: a key the machine does not declare (a typo, an edit, a
 * file from another model version) would draw nothing and still count in "taken".
 */
function loadCoverage(file: string, text: string): Record<MachineName, EdgeCoverage> {
  const parsed = parseCoverage(text);
  if (!parsed.ok) throw new CliError('bad-coverage', `${file}: ${parsed.reason}`);
  const counts = (name: MachineName): EdgeCoverage => {
    const given = parsed.coverage.machines[name];
    const declared = new Set(machineEdges(MACHINES[name]).map((e) => e.key));
    const unknown = Object.keys(given).find((key) => !declared.has(key));
    const missing = [...declared].find((key) => !(key in given));
    const stale = 'not from this model (rerun blkif check --coverage-out)';
    if (unknown !== undefined)
      throw new CliError(
        'bad-coverage',
        `${file}: machines.${name}: unknown edge ${JSON.stringify(unknown)}: ${stale}`,
      );
    if (missing !== undefined)
      throw new CliError(
        'bad-coverage',
        `${file}: machines.${name}: no count for edge ${JSON.stringify(missing)}: ${stale}`,
      );
    return new Map(Object.entries(given));
  };
  return { frontend: counts('frontend'), backend: counts('backend') };
}

function coverageTable(counts: EdgeCoverage): string {
  const rows = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${String(n).padStart(9)}  ${key}`);
  return `${['    taken  edge', ...rows].join('\n')}\n`;
}

export const diagramsCommand: CliCommand = {
  name: 'diagrams',
  summary: 'write the state diagrams of both machines (Mermaid, DOT, SVG), with edge coverage',
  usage: '[--coverage <coverage.json>] [--out <dir>]',
  options: [
    {
      name: 'coverage',
      kind: 'string',
      placeholder: 'file',
      summary: 'edge counts from blkif check --coverage-out',
    },
    {
      name: 'out',
      kind: 'string',
      placeholder: 'dir',
      summary: 'output folder (default .blkif/diagrams)',
    },
  ],
  async run({ positionals, options }, io): Promise<ExitCode> {
    if (positionals.length > 0)
      throw new CliError('extra-argument', `unexpected argument "${positionals[0]}"`);
    const out = (stringOption(options, 'out') ?? '.blkif/diagrams').replace(/(.)\/+$/, '$1');
    checkOutputs(io, [{ option: 'out', path: out, kind: 'dir' }]);
    const coverageFile = stringOption(options, 'coverage');
    const coverage =
      coverageFile === undefined
        ? undefined
        : loadCoverage(coverageFile, readTextFile(io, coverageFile));
    // Everything drawn before the first write, and the report after the last.
    const files: [string, string][] = [];
    const report: string[] = [];
    for (const name of ['frontend', 'backend'] as const) {
      const counts = coverage?.[name];
      const dot = toDot(MACHINES[name], counts);
      files.push([`${out}/${name}.mmd`, toMermaid(MACHINES[name], counts)]);
      files.push([`${out}/${name}.dot`, dot]);
      files.push([`${out}/${name}.svg`, await dotToSvg(dot)]);
      // The SVG shows counts as edge thickness; the exact numbers go in a table beside it.
      if (counts !== undefined) files.push([`${out}/${name}-coverage.txt`, coverageTable(counts)]);
      const untaken =
        counts === undefined ? [] : [...counts].filter(([, n]) => n === 0).map(([key]) => key);
      const note =
        counts === undefined ? '' : `: ${counts.size - untaken.length}/${counts.size} edges taken`;
      report.push(
        `wrote ${out}/${name}.{mmd,dot,svg}${counts === undefined ? '' : `, ${name}-coverage.txt`}${note}\n`,
        ...untaken.map((key) => `  untaken: ${key}\n`),
      );
    }
    io.mkdir(out);
    for (const [path, text] of files) io.writeFile(path, text);
    io.stdout(report.join(''));
    return EXIT.pass;
  },
};
