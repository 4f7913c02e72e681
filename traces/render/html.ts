// A self-contained HTML page for a trace: header (property, drivers, seed, path, configuration,
// the violation and the replay command), the sequence diagram as inline SVG, and a step table
// with the world's key state after every step, the violation's row highlighted. No script, no
// network: it opens from a CI artifact or a mail attachment as is.
import { describeAction } from '../../impl/world/action.ts';
import type { Observation } from '../../impl/world/world.ts';
import { formatViolation } from '../../properties/invariants/violation.ts';
import type { Trace, TraceStep, WorldSummary } from '../schema.ts';
import { finalCheckText, headerLines, pushText, shortKey, stateText } from './scene.ts';
import { esc, renderSequenceSvg, SEQUENCE_CSS } from './svg-sequence.ts';

const PAGE_CSS = `
body { font-family: system-ui, sans-serif; margin: 16px 24px; color: #202124; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 18px 0 6px; }
.meta { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap; margin: 4px 0; }
.violation-box { border: 2px solid #d93025; background: #fce8e6; padding: 8px 12px; border-radius: 6px;
  font-family: ui-monospace, monospace; font-size: 13px; color: #a50e0e; }
.ok-box { border: 2px solid #188038; background: #e6f4ea; padding: 8px 12px; border-radius: 6px; }
.hint { font-size: 12px; color: #5f6368; }
.diagram { overflow-x: auto; border: 1px solid #dadce0; border-radius: 6px; }
.diagram-body { overflow-y: auto; max-height: 62vh; display: inline-block; min-width: 100%; }
.steps { overflow: auto; max-height: 62vh; border: 1px solid #dadce0; border-radius: 6px; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
th { position: sticky; top: 0; background: #f1f3f4; text-align: left; padding: 4px 6px; z-index: 1; }
td { border-top: 1px solid #e8eaed; padding: 3px 6px; vertical-align: top; }
td.num { text-align: right; color: #5f6368; }
td.mono, td.rings { font-family: ui-monospace, monospace; font-size: 11px; white-space: nowrap; }
td.obs { font-size: 11px; }
tr:target { outline: 2px solid #1a73e8; }
tr.violation td { background: #fce8e6; font-weight: 600; }
tr.violation-detail td { background: #fce8e6; color: #a50e0e; font-family: ui-monospace, monospace; }
.changed { background: #fff8c5; }
b.lost { color: #b3261e; }
`;

function observationHtml(o: Observation): string {
  switch (o.kind) {
    case 'xenstoreWrite':
      return `xenstore dom${o.dom}: <b>${esc(shortKey(o.path))}</b> = ${esc(JSON.stringify(o.value))}`;
    case 'state':
      return `<b>${o.side} → ${esc(stateText(o.state))}</b>`;
    case 'request':
      return `ring ${o.ring} id ${o.id}: ${esc(o.what)}`;
    case 'notify':
      return `${o.side} ring ${o.ring} notifies`;
    case 'push': {
      const text = `${o.side} ring ${o.ring} push: ${esc(pushText(o))}`;
      if (o.notified) return text;
      return o.peerAsleep ? `<b class="lost">${text} — wake-up lost</b>` : `<b>${text}</b>`;
    }
    case 'finalCheck':
      return !o.again && o.unconsumed > 0
        ? `<b class="lost">${o.side} ring ${o.ring} final check: ${esc(finalCheckText(o))} — wake-up lost</b>`
        : `${o.side} ring ${o.ring} final check: ${esc(finalCheckText(o))}`;
    case 'report':
      return `<b>${o.report.side} reports ${esc(o.report.code)}</b>: ${esc(o.report.message)}`;
    case 'effect':
      return `<span class="hint">${o.side}.${esc(o.effect)}</span>`;
  }
}

function ringsHtml(s: WorldSummary, before: WorldSummary | undefined): string {
  return s.rings
    .map((r) => {
      const b = before?.rings.find((x) => x.ring === r.ring);
      const cell = (name: string, value: number, old: number | undefined) =>
        old !== undefined && old !== value
          ? `<span class="changed">${name} ${value}</span>`
          : `${name} ${value}`;
      return (
        `r${r.ring}: ${cell('req', r.reqProd, b?.reqProd)}/ev ${r.reqEvent} ` +
        `${cell('rsp', r.rspProd, b?.rspProd)}/ev ${r.rspEvent} ${cell('infl', r.inflight, b?.inflight)}`
      );
    })
    .join('<br>');
}

function stepRow(
  step: TraceStep,
  n: number,
  before: WorldSummary | undefined,
  violating: boolean,
): string {
  const s = step.state;
  const cells = [
    `<td class="num">${n}</td>`,
    `<td>${esc(describeAction(step.action))}</td>`,
    `<td class="obs">${step.observations.map(observationHtml).join('<br>')}</td>`,
    `<td class="mono">${esc(stateText(s.frontendState))}</td>`,
    `<td class="mono">${esc(stateText(s.backendState))}</td>`,
    `<td class="mono">dom${s.guestDomid} ${esc(s.phase)}</td>`,
    `<td class="rings">${ringsHtml(s, before)}</td>`,
    `<td class="mono">${s.granted} / ${s.mapped}</td>`,
  ];
  return `<tr id="step-${n}"${violating ? ' class="violation"' : ''}>${cells.join('')}</tr>`;
}

function stepTable(trace: Trace): string {
  const head = [
    'step',
    'action',
    'observed',
    'frontend',
    'backend',
    'guest',
    'rings after the step',
    'granted / mapped',
  ];
  const rows: string[] = [];
  const v = trace.violation;
  trace.steps.forEach((step, i) => {
    rows.push(stepRow(step, i + 1, trace.steps[i - 1]?.state, v?.step === i + 1));
    if (v?.step === i + 1)
      rows.push(
        `<tr class="violation-detail"><td></td><td colspan="7">${esc(formatViolation(v))}</td></tr>`,
      );
  });
  if (v !== undefined && v.step > trace.steps.length) {
    rows.push(
      `<tr class="violation-detail" id="step-${v.step}"><td class="num">${v.step}</td><td colspan="7">${esc(formatViolation(v))}</td></tr>`,
    );
  }
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

export function renderHtml(trace: Trace): string {
  const v = trace.violation;
  const title =
    v === undefined ? 'blkif trace: no violation' : `blkif trace: ${v.code} at step ${v.step}`;
  const seq = renderSequenceSvg(trace);
  const verdict =
    v === undefined
      ? '<div class="ok-box">No violation recorded.</div>'
      : `<div class="violation-box"><a href="#step-${v.step}">${esc(formatViolation(v))}</a></div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>${PAGE_CSS}${SEQUENCE_CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
${verdict}
<div class="meta">${esc(headerLines(trace).join('\n'))}</div>
<div class="hint">Reproduce: <code>npx blkif replay &lt;this trace&gt;.json</code>. Click a diagram row to see its step below.</div>
<h2>Sequence diagram</h2>
<div class="diagram"><div style="width:${seq.width}px">${seq.header}</div><div class="diagram-body">${seq.body}</div></div>
<h2>Steps (world state after each step)</h2>
<div class="steps">${stepTable(trace)}</div>
</body></html>
`;
}
