// argv -> the options a command's table declares. `--name value` and `--name=value`; booleans take
// no value; a repeatable option given twice joins its values with commas (`--property a,b` and
// `--property a --property b` mean the same); `--` ends the options. Anything else is one line.
import type { CliCommand, OptionSpec } from './command.ts';
import { badValue, CliError } from './errors.ts';

export type OptionValues = Readonly<Record<string, string | number | boolean>>;

export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly options: OptionValues;
  readonly help: boolean;
}

function toValue(spec: OptionSpec, raw: string): string | number {
  if (spec.kind === 'string') return raw;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value))
    throw badValue(spec.name, `expected a number, got "${raw}"`);
  return value;
}

export function parseArgs(command: CliCommand, argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const options: Record<string, string | number | boolean> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = arg.startsWith('--') ? command.options.find((o) => o.name === name) : undefined;
    if (spec === undefined) {
      throw new CliError(
        'unknown-option',
        `unknown option ${eq < 0 ? arg : arg.slice(0, eq)} (see blkif ${command.name} --help)`,
      );
    }
    if (spec.kind === 'boolean') {
      if (eq >= 0) throw badValue(name, 'takes no value');
      options[name] = true;
      continue;
    }
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[i + 1];
    if (eq < 0) i++;
    if (raw === undefined || (eq < 0 && raw.startsWith('--')))
      throw badValue(name, `missing ${spec.kind} value`);
    const previous = options[name];
    if (previous !== undefined) {
      if (spec.repeatable !== true) throw badValue(name, 'given twice');
      raw = `${String(previous)},${raw}`;
    }
    options[name] = toValue(spec, raw);
  }
  return { positionals, options, help };
}

const HELP_WIDTH = 100;
const HELP_INDENT = 30;

/** Greedy word wrap (a word longer than the width stands alone on its line). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** `--help` of one command: usage, summary and the option table, within 100 columns. */
export function commandHelp(command: CliCommand): string {
  const lines = [`usage: blkif ${command.name} ${command.usage}`, '', command.summary, ''];
  if (command.options.length > 0) lines.push('options:');
  for (const o of command.options) {
    const value = o.kind === 'boolean' ? '' : ` <${o.placeholder ?? o.kind}>`;
    // A long option column pushes its text to the next line rather than running into it.
    const head = `  --${o.name}${value}`;
    const text = wrapWords(o.summary, HELP_WIDTH - HELP_INDENT);
    if (head.length >= HELP_INDENT) lines.push(head);
    text.forEach((t, k) => {
      const left = k === 0 && head.length < HELP_INDENT ? head : '';
      lines.push(left.padEnd(HELP_INDENT) + t);
    });
  }
  lines.push(`${'  --help'.padEnd(30)}this help`);
  const details = command.helpDetails?.() ?? [];
  if (details.length > 0) lines.push('', ...details);
  return `${lines.join('\n')}\n`;
}

export function stringOption(options: OptionValues, name: string): string | undefined {
  const v = options[name];
  return typeof v === 'string' ? v : undefined;
}

/** An integer option in min..max, or `fallback` when absent. */
export function intOption(
  options: OptionValues,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const v = options[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badValue(name, `must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}
