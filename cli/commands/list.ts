// `blkif list`: every name the other commands accept, with a line on each — the properties (and
// what they check), the driver variants (known-bad ones with the violation each must cause, and
// candidates expected to pass), the render formats and the scheduling strategies.
import { RENDERERS } from '../../traces/render/index.ts';
import { type CliCommand, EXIT, type ExitCode } from '../command.ts';
import { CliError } from '../errors.ts';
import { wrapWords } from '../options.ts';
import type { Registry } from '../registry.ts';

export const STRATEGIES: readonly { name: string; summary: string }[] = [
  {
    name: 'choices',
    summary: "each action is the scenario's next choice modulo the enabled count (default)",
  },
  {
    name: 'pct',
    summary:
      'PCT: random priorities per actor and ring, the highest enabled one runs, demoted at change points',
  },
];

function section(title: string, rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  const lines = [title];
  for (const [name, text] of rows) {
    // Names in one column, their text wrapped beside it within 100 columns.
    wrapWords(text, Math.max(40, 98 - width)).forEach((t, k) => {
      lines.push(`  ${(k === 0 ? name : '').padEnd(width)}${t}`.trimEnd());
    });
  }
  return [...lines, ''];
}

function variantRows(registry: Registry, kind: 'known-bad' | 'candidate'): [string, string][] {
  const rows: [string, string][] = [];
  for (const name of registry.driverNames) {
    if (name === 'honest') continue;
    const info = registry.variantInfo?.get(name);
    if ((info?.kind ?? 'known-bad') !== kind) continue;
    const caught = info?.caughtBy === undefined ? '' : ` (must cause ${info.caughtBy})`;
    rows.push([name, `${info?.summary ?? ''}${caught}`]);
  }
  return rows;
}

export function listText(registry: Registry): string {
  const props: [string, string][] = [
    ...registry.properties.map((p): [string, string] => [p.name, p.summary]),
    ...registry.extraProperties.map((p): [string, string] => [
      p.name,
      `(by name only) ${p.summary}`,
    ]),
  ];
  const knownBad = variantRows(registry, 'known-bad');
  const candidates = variantRows(registry, 'candidate');
  const renderers = Object.entries(RENDERERS).map(([name, r]): [string, string] => [
    name,
    r.summary,
  ]);
  return [
    ...section('properties (blkif check --property <name>):', props),
    ...section('driver variants (blkif check --drivers <name>):', [
      ['honest', 'the drivers as Linux writes them (default)'],
    ]),
    ...section(
      'known-bad variants (each must be caught):',
      knownBad.length > 0 ? knownBad : [['(none)', '']],
    ),
    ...section(
      'candidate variants (alternatives expected to pass):',
      candidates.length > 0 ? candidates : [['(none)', '']],
    ),
    ...section('render formats (blkif render --format <name>):', renderers),
    ...section(
      'strategies (blkif check --strategy <name>):',
      STRATEGIES.map((s): [string, string] => [s.name, s.summary]),
    ),
  ].join('\n');
}

export function createListCommand(registry: Registry): CliCommand {
  return {
    name: 'list',
    summary: 'list the properties, driver variants, render formats and strategies by name',
    usage: '',
    options: [],
    run({ positionals }, io): ExitCode {
      if (positionals.length > 0)
        throw new CliError('extra-argument', `unexpected argument "${positionals[0]}"`);
      io.stdout(listText(registry));
      return EXIT.pass;
    },
  };
}
