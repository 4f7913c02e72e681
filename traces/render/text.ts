// Plain text for a terminal: a header, one line per step with what it observed indented under it,
// ring indices shown where they moved, collapsed routine runs, the violation marked, and the
// world's key state after the last step. No colour codes: it is read in logs and CI output too.
import { describeAction } from '../../impl/world/action.ts';
import type { Observation } from '../../impl/world/world.ts';
import { formatViolation } from '../../properties/invariants/violation.ts';
import type { Trace, WorldSummary } from '../schema.ts';
import { visible } from './visible.ts';
import {
  collapsedText,
  finalCheckText,
  firstLoss,
  headerLines,
  losesWakeup,
  lostWakeupText,
  pushText,
  segments,
  shortKey,
  stateText,
} from './scene.ts';

const INDENT = '         ';

function observationLine(o: Observation): string | undefined {
  switch (o.kind) {
    case 'xenstoreWrite':
      return `xenstore dom${o.dom} writes ${shortKey(o.path)} = ${JSON.stringify(o.value)}`;
    case 'state':
      return `${o.side} state → ${stateText(o.state)}`;
    case 'request':
      return `ring ${o.ring}, request id ${o.id}: ${o.what}`;
    case 'notify':
      return `${o.side} ring ${o.ring} notifies its peer`;
    case 'push':
      return `${o.side} ring ${o.ring} pushes ${pushText(o)}`;
    case 'finalCheck':
      return `${o.side} ring ${o.ring} final check: ${finalCheckText(o)}`;
    case 'report':
      return `${o.report.side} reports ${o.report.code}: ${o.report.message}`;
    case 'effect':
      return undefined;
  }
}

/**
 * "ring 0 req_prod 3 req_event 1 rsp_prod 2 rsp_event 3 inflight 1" for each ring whose indices
 * (event indices included: a lost wake-up is a matter of where they stood) moved since the
 * previous step.
 */
export function ringChanges(before: WorldSummary | undefined, after: WorldSummary): string[] {
  const out: string[] = [];
  for (const r of after.rings) {
    const b = before?.rings.find((x) => x.ring === r.ring);
    if (
      b !== undefined &&
      b.reqProd === r.reqProd &&
      b.reqEvent === r.reqEvent &&
      b.rspProd === r.rspProd &&
      b.rspEvent === r.rspEvent &&
      b.inflight === r.inflight
    )
      continue;
    out.push(
      `ring ${r.ring} req_prod ${r.reqProd} req_event ${r.reqEvent} ` +
        `rsp_prod ${r.rspProd} rsp_event ${r.rspEvent} inflight ${r.inflight}`,
    );
  }
  return out;
}

function stepLines(trace: Trace, n: number): string[] {
  const step = trace.steps[n - 1]!;
  const before = trace.steps[n - 2]?.state;
  const lines = [`${String(n).padStart(6)}  ${describeAction(step.action)}`];
  const effects = step.observations.flatMap((o) =>
    o.kind === 'effect' ? [`${o.side}.${o.effect}`] : [],
  );
  if (effects.length > 0) lines.push(`${INDENT}effects: ${effects.join(', ')}`);
  for (const o of step.observations) {
    const line = observationLine(o);
    if (line !== undefined) lines.push(`${INDENT}${line}`);
  }
  for (const change of ringChanges(before, step.state)) lines.push(`${INDENT}${change}`);
  for (const o of step.observations)
    if (losesWakeup(o) && firstLoss(trace, n, o))
      lines.push(`  ~~~~  ${lostWakeupText(trace, n, o)}`);
  return lines;
}

export function summaryLine(s: WorldSummary): string {
  const rings = s.rings.map(
    (r) =>
      `ring ${r.ring}: req_prod ${r.reqProd} req_event ${r.reqEvent} ` +
      `rsp_prod ${r.rspProd} rsp_event ${r.rspEvent} inflight ${r.inflight}`,
  );
  return [
    `frontend ${stateText(s.frontendState)}, backend ${stateText(s.backendState)}, guest domid ` +
      `${s.guestDomid} ${s.phase}, grants: ${s.granted} granted, ${s.mapped} mapped`,
    ...rings,
  ].join('\n  ');
}

export function renderText(trace: Trace): string {
  const v = trace.violation;
  const title = v === undefined ? 'no violation' : formatViolation(v);
  const lines = [`blkif trace v${trace.version}: ${title}`, ...headerLines(trace), ''];
  for (const segment of segments(trace)) {
    if (segment.kind === 'collapsed') {
      lines.push(`     …  ${collapsedText(trace, segment.first, segment.last)}`);
      continue;
    }
    const i = segment.index;
    lines.push(...stepLines(trace, i + 1));
    if (v !== undefined && v.step === i + 1) lines.push(`  >>>>  VIOLATION ${formatViolation(v)}`);
  }
  if (v !== undefined && v.step > trace.steps.length)
    lines.push(`  >>>>  VIOLATION ${formatViolation(v)}`);
  const last = trace.steps[trace.steps.length - 1];
  if (last !== undefined)
    lines.push('', `after step ${trace.steps.length}:`, `  ${summaryLine(last.state)}`);
  // For a terminal: no escape sequence or bidi override from the trace gets through.
  return `${visible(lines.join('\n'))}\n`;
}
