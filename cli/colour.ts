// PASS green, FAIL red, and nothing else coloured — only when stdout is a terminal and the user
// has not asked for plain output (NO_COLOR, https://no-color.org: any non-empty value; TERM=dumb).
// Logs, pipes and CI artifacts never receive escape sequences.
import type { PropertyResult } from './check/summary.ts';

export type Paint = (text: string, result: PropertyResult) => string;

const SGR: Record<PropertyResult, string> = {
  pass: '32',
  safety: '31',
  liveness: '31',
  error: '31',
  skipped: '33',
};

export const plain: Paint = (text) => text;

export const ansi: Paint = (text, result) => `\x1b[${SGR[result]}m${text}\x1b[0m`;

/** Whether output to a stream may carry colour. */
export function colourWanted(
  isTty: boolean,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (!isTty) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.TERM !== 'dumb';
}

export function paintFor(colour: boolean): Paint {
  return colour ? ansi : plain;
}
