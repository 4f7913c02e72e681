// `blkif check --report junit=<file>` and `--report markdown=<file>`: the campaign's summary for
// CI. JUnit XML (the Ant/Jenkins/Surefire shape every CI server reads): one testsuite, one
// testcase per property, a failure's message its protocol-terms first line and its text the
// seed, path, replay and rerun commands. Markdown for a pull-request comment: the table, each
// distinct violation's first line, the properties that found it, its replay command, and its
// sequence diagram in a fenced mermaid block (GitHub renders it).
import { renderMermaid } from '../../traces/render/mermaid-sequence.ts';
import type { Trace } from '../../traces/schema.ts';
import { badValue } from '../errors.ts';
import {
  type CheckSummary,
  type FailureSummary,
  type PropertySummary,
  RESULT_TEXT,
  resultText,
  seconds,
  tallyLine,
} from './summary.ts';

export const REPORT_FORMATS = ['junit', 'markdown'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportRequest {
  readonly format: ReportFormat;
  readonly file: string;
}

/** `junit=out.xml,markdown=out.md` (the option is repeatable; values arrive comma-joined). */
export function parseReports(text: string | undefined): ReportRequest[] {
  if (text === undefined) return [];
  return text.split(',').map((item) => {
    const eq = item.indexOf('=');
    const format = item.slice(0, eq < 0 ? item.length : eq).trim();
    const file = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!(REPORT_FORMATS as readonly string[]).includes(format) || file === '')
      throw badValue('report', `expected junit=<file> or markdown=<file>, got "${item}"`);
    return { format: format as ReportFormat, file };
  });
}

/** XML 1.0 text and attribute values: markup escaped, control characters XML forbids dropped. */
export function xmlEscape(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .split('')
    .filter((ch) => xmlAllowed(ch.charCodeAt(0)))
    .join('');
}

/** XML 1.0's Char production: tab, newline, carriage return, and everything from space on. */
function xmlAllowed(code: number): boolean {
  if (code < 0x20) return code === 0x09 || code === 0x0a || code === 0x0d;
  return code !== 0xfffe && code !== 0xffff;
}

function campaignLine(s: CheckSummary): string {
  const shards = s.shards.map((x) => `${x.index}/${x.count}`).join(',');
  return `blkif ${s.blkif}: seed ${s.seed}, drivers ${s.drivers}, strategy ${s.strategy}, runs ${s.runs}, shards ${shards}`;
}

function failureText(s: CheckSummary, p: PropertySummary, f: FailureSummary | undefined): string {
  if (f === undefined) return p.firstLine ?? '';
  const drivers = s.drivers === 'honest' ? '' : ` --drivers ${s.drivers}`;
  const strategy = s.strategy === 'choices' ? '' : ` --strategy ${s.strategy}`;
  const lines = [
    p.firstLine ?? f.firstLine,
    `seed ${p.seed}, path ${p.path}`,
    `rerun: npx blkif check --property ${p.name} --seed ${p.seed} --path ${p.path}${drivers}${strategy}`,
    `violation #${f.id}, found by ${f.properties.join(', ')}`,
    `shortest trace (${f.steps} steps, ${f.property}): npx blkif replay ${f.trace}`,
  ];
  return lines.join('\n');
}

function testcase(s: CheckSummary, p: PropertySummary): string {
  const head = `    <testcase name="${xmlEscape(p.name)}" classname="blkif.check.${xmlEscape(s.drivers)}" time="${(p.timeMs / 1000).toFixed(3)}"`;
  const out = `      <system-out>${xmlEscape(`${p.runs} runs, ${p.actions} actions: ${resultText(p)}`)}</system-out>\n`;
  if (p.result === 'pass') return `${head}>\n${out}    </testcase>`;
  if (p.result === 'skipped')
    return `${head}>\n      <skipped message="not run: an earlier property failed under --bail"/>\n    </testcase>`;
  const f = s.failures.find((x) => x.id === p.failure);
  const tag = p.result === 'error' ? 'error' : 'failure';
  const type = p.result === 'error' ? 'internal-error' : (f?.code ?? p.result);
  return (
    `${head}>\n      <${tag} message="${xmlEscape(p.firstLine ?? RESULT_TEXT[p.result])}" type="${xmlEscape(type)}">` +
    `${xmlEscape(failureText(s, p, f))}</${tag}>\n${out}    </testcase>`
  );
}

export function junitReport(s: CheckSummary): string {
  const count = (r: (p: PropertySummary) => boolean) => s.properties.filter(r).length;
  const tests = s.properties.length;
  const failures = count((p) => p.result === 'safety' || p.result === 'liveness');
  const errors = count((p) => p.result === 'error');
  const skipped = count((p) => p.result === 'skipped');
  const time = (s.properties.reduce((t, p) => t + p.timeMs, 0) / 1000).toFixed(3);
  const counts = `tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}"`;
  const props = [
    ['blkif', s.blkif],
    ['seed', String(s.seed)],
    ['runs', String(s.runs)],
    ['strategy', s.strategy],
    ['drivers', s.drivers],
    ['shards', s.shards.map((x) => `${x.index}/${x.count}`).join(',')],
  ]
    .map(([k, v]) => `      <property name="${k}" value="${xmlEscape(v!)}"/>`)
    .join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="blkif check" ${counts}>`,
    `  <testsuite name="blkif check (drivers ${xmlEscape(s.drivers)})" ${counts}>`,
    `    <properties>\n${props}\n    </properties>`,
    ...s.properties.map((p) => testcase(s, p)),
    `    <system-out>${xmlEscape(`${campaignLine(s)}\n${tallyLine(s)}`)}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

/** A Markdown table cell: pipes escaped, one line. */
function cell(s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('|', '\\|').replace(/\s+/g, ' ');
}

function failureSection(s: CheckSummary, f: FailureSummary, trace: Trace | undefined): string[] {
  const drivers = s.drivers === 'honest' ? '' : ` --drivers ${s.drivers}`;
  const lines = [
    `### #${f.id} ${f.code} (${f.result})`,
    '',
    '```text',
    f.firstLine,
    '```',
    '',
    `Found by ${f.properties.map((p) => `\`${p}\``).join(', ')}. Shortest counterexample: ` +
      `${f.steps} steps, from \`${f.property}\` (seed ${f.seed}).`,
    '',
    '```sh',
    `npx blkif replay ${f.trace}`,
    `npx blkif check --property ${f.property} --seed ${f.seed} --path ${f.path}${drivers}`,
    '```',
    '',
  ];
  if (trace === undefined) {
    lines.push(`(the trace file ${f.trace} was not found: no diagram)`, '');
  } else {
    lines.push('```mermaid', renderMermaid(trace).trimEnd(), '```', '');
  }
  return lines;
}

export function markdownReport(s: CheckSummary, traces: ReadonlyMap<string, Trace>): string {
  const icon = s.failures.length === 0 ? '✅' : '❌';
  const lines = [
    `## ${icon} blkif check: ${tallyLine(s)}`,
    '',
    `${campaignLine(s)}.`,
    '',
    '| property | runs | actions | time | result |',
    '| --- | ---: | ---: | ---: | --- |',
    ...s.properties.map(
      (p) =>
        `| ${cell(p.name)} | ${p.runs} | ${p.actions.toLocaleString('en-US')} | ${seconds(p.timeMs)} | ${cell(resultText(p))} |`,
    ),
    '',
  ];
  if (s.failures.length > 0) {
    const n = s.failures.length;
    lines.push(`${n} distinct ${n === 1 ? 'violation' : 'violations'}:`, '');
    for (const f of s.failures) lines.push(...failureSection(s, f, traces.get(f.trace)));
  }
  return lines.join('\n');
}

export function reportText(
  format: ReportFormat,
  s: CheckSummary,
  traces: ReadonlyMap<string, Trace>,
): string {
  return format === 'junit' ? junitReport(s) : markdownReport(s, traces);
}
