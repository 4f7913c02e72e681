// `blkif diagrams [--coverage <coverage.json>] [--out <dir>]`: the control-plane machines as
// Mermaid, DOT and SVG (traces/diagrams), with every edge's count from a `blkif check
// --coverage-out` file: thicker when taken often, red and dashed when never taken.
import { backendMachine } from '../../model/backend-machine.ts';
import { frontendMachine } from '../../model/frontend-machine.ts';
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
import { readTextFile } from './load-trace.ts';

const MACHINES = { frontend: frontendMachine, backend: backendMachine } as const;

function loadCoverage(file: string, text: string): Record<MachineName, EdgeCoverage> {
  const parsed = parseCoverage(text);
  if (!parsed.ok) throw new CliError('bad-coverage', `${file}: ${parsed.reason}`);
  const { frontend, backend } = parsed.coverage.machines;
  return { frontend: new Map(Object.entries(frontend)), backend: new Map(Object.entries(backend)) };
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
    const coverageFile = stringOption(options, 'coverage');
    const coverage =
      coverageFile === undefined
        ? undefined
        : loadCoverage(coverageFile, readTextFile(io, coverageFile));
    const out = (stringOption(options, 'out') ?? '.blkif/diagrams').replace(/\/+$/, '');
    io.mkdir(out);
    for (const name of ['frontend', 'backend'] as const) {
      const counts = coverage?.[name];
      const dot = toDot(MACHINES[name], counts);
      io.writeFile(`${out}/${name}.mmd`, toMermaid(MACHINES[name], counts));
      io.writeFile(`${out}/${name}.dot`, dot);
      io.writeFile(`${out}/${name}.svg`, await dotToSvg(dot));
      const untaken =
        counts === undefined ? [] : [...counts].filter(([, n]) => n === 0).map(([key]) => key);
      // The SVG shows counts as edge thickness; the exact numbers go in a table beside it.
      if (counts !== undefined) {
        const rows = [...counts]
          .sort((a, b) => b[1] - a[1])
          .map(([key, n]) => `${String(n).padStart(9)}  ${key}`);
        io.writeFile(`${out}/${name}-coverage.txt`, `${['    taken  edge', ...rows].join('\n')}\n`);
      }
      const note =
        counts === undefined ? '' : `: ${counts.size - untaken.length}/${counts.size} edges taken`;
      io.stdout(
        `wrote ${out}/${name}.{mmd,dot,svg}${counts === undefined ? '' : `, ${name}-coverage.txt`}${note}\n`,
      );
      for (const key of untaken) io.stdout(`  untaken: ${key}\n`);
    }
    return EXIT.pass;
  },
};
