// The sequence diagram of a trace drawn as inline SVG, for the self-contained HTML page (a page
// that must open offline cannot load Mermaid). Two SVGs of the same width: the boxed participant
// header, and the body of lifelines and rows, so the page can keep the header in view while the
// body scrolls. Every row links to its step in the page's step table.
import type { Trace } from '../schema.ts';
import { buildScene, type Lane, type Scene, type SceneItem, sceneLanes } from './scene.ts';

/** Lane width when there is room; lanes compress down to LANE_W_MIN to fit FIT_WIDTH. */
const LANE_W_MAX = 110;
const LANE_W_MIN = 52;
/** A 1400 px window less the page's margins: the HTML page must fit it without scrolling. */
export const FIT_WIDTH = 1340;
const MARGIN_L = 56;
const MARGIN_R = 24;
const ROW_H = 24;
const LINE_H = 14;
const CHAR_W = 6.1;
const HEADER_H = 86;

export function esc(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Greedy word wrap to `width` characters (long words are cut). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const w = word.length > width ? `${word.slice(0, width - 1)}…` : word;
    if (line !== '' && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else {
      line = line === '' ? w : `${line} ${w}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

interface Layout {
  readonly x: ReadonlyMap<string, number>;
  readonly width: number;
  readonly lanes: readonly Lane[];
  /** This diagram's lane width: LANE_W_MAX, or less so that many rings still fit FIT_WIDTH. */
  readonly laneW: number;
}

function layout(scene: Scene): Layout {
  const lanes = sceneLanes(scene);
  const room = Math.floor((FIT_WIDTH - MARGIN_L - MARGIN_R) / Math.max(1, lanes.length));
  const laneW = Math.max(LANE_W_MIN, Math.min(LANE_W_MAX, room));
  const x = new Map(lanes.map((l, i) => [l.id, MARGIN_L + laneW / 2 + i * laneW]));
  return { x, lanes, laneW, width: MARGIN_L + lanes.length * laneW + MARGIN_R };
}

function textLines(lines: readonly string[], x: number, y: number, attrs: string): string {
  return lines
    .map((l, i) => `<text x="${x}" y="${y + i * LINE_H}" ${attrs}>${esc(l)}</text>`)
    .join('');
}

function headerSvg(scene: Scene, lay: Layout): string {
  const parts: string[] = [];
  for (const box of scene.boxes) {
    const xs = box.lanes.map((l) => lay.x.get(l.id)!);
    const left = Math.min(...xs) - lay.laneW / 2 + 4;
    const right = Math.max(...xs) + lay.laneW / 2 - 4;
    parts.push(
      `<rect x="${left}" y="4" width="${right - left}" height="${HEADER_H - 8}" rx="6" fill="${box.color}" stroke="#9aa0a6"/>`,
    );
    const label = wrap(box.label, Math.floor((right - left) / CHAR_W))[0] ?? '';
    parts.push(`<text x="${(left + right) / 2}" y="22" class="box">${esc(label)}</text>`);
  }
  // A narrow lane wraps its label on two lines ("front ring" / "12") instead of overflowing.
  const box = lay.laneW - 10;
  for (const lane of lay.lanes) {
    const x = lay.x.get(lane.id)!;
    parts.push(
      `<rect x="${x - box / 2}" y="34" width="${box}" height="36" rx="4" class="participant"/>`,
    );
    const label = wrap(lane.label, Math.max(4, Math.floor(box / 7))).slice(0, 2);
    const top = label.length === 1 ? 57 : 50;
    parts.push(textLines(label, x, top, 'class="lane"'));
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lay.width}" height="${HEADER_H}" class="seq">${parts.join('')}</svg>`;
}

interface Row {
  readonly height: number;
  readonly svg: (y: number) => string;
  readonly step: number | undefined;
}

function messageRow(item: Extract<SceneItem, { kind: 'message' }>, lay: Layout): Row {
  const x1 = lay.x.get(item.from)!;
  const x2 = lay.x.get(item.to)!;
  const cls = item.silent === true ? 'msg silent' : 'msg';
  if (x1 === x2) {
    const lines = wrap(item.label, 34);
    const height = Math.max(ROW_H, 10 + lines.length * LINE_H);
    // Near the right edge the loop and its text turn left, so nothing is cut off.
    const longest = Math.max(...lines.map((l) => l.length)) * CHAR_W;
    const left = x1 + 24 + longest > lay.width - 4;
    const loop = left ? 'h-18 v10 h14' : 'h18 v10 h-14';
    return {
      height,
      step: item.step,
      svg: (y) =>
        `<path d="M${x1} ${y + 6} ${loop}" class="${cls}" marker-end="url(#arrow)"/>` +
        textLines(
          lines,
          left ? x1 - 24 : x1 + 24,
          y + 15,
          `class="label ${left ? 'self-left' : 'self'}"`,
        ),
    };
  }
  const span = Math.abs(x2 - x1);
  const lines = wrap(item.label, Math.max(16, Math.floor(span / CHAR_W) - 2));
  const height = ROW_H + (lines.length - 1) * LINE_H;
  const mid = (x1 + x2) / 2;
  const dir = x2 > x1 ? -1 : 1;
  return {
    height,
    step: item.step,
    svg: (y) =>
      textLines(lines, mid, y + 11, 'class="label"') +
      `<line x1="${x1}" y1="${y + height - 6}" x2="${x2 + dir * 2}" y2="${y + height - 6}" class="${cls}" marker-end="url(#arrow)"/>`,
  };
}

function bandRow(
  lay: Layout,
  lanes: readonly string[] | undefined,
  text: string,
  cls: string,
  step: number | undefined,
): Row {
  const xs = (lanes ?? lay.lanes.map((l) => l.id)).map((id) => lay.x.get(id)!);
  const pad = lanes === undefined ? lay.laneW / 2 - 6 : 64;
  const left = Math.max(MARGIN_L - 6, Math.min(...xs) - pad);
  const right = Math.min(lay.width - 4, Math.max(...xs) + pad);
  const lines = wrap(text, Math.floor((right - left - 12) / CHAR_W));
  const height = 10 + lines.length * LINE_H;
  return {
    height: height + 6,
    step,
    svg: (y) =>
      `<rect x="${left}" y="${y + 3}" width="${right - left}" height="${height}" rx="3" class="${cls}"/>` +
      textLines(lines, (left + right) / 2, y + 16, `class="note-text ${cls}-text"`),
  };
}

/**
 * A collapsed run: a translucent band the lifelines run through, each lane marked with the
 * steps it took inside the run, the summary above them.
 */
function collapsedRow(item: Extract<SceneItem, { kind: 'collapsed' }>, lay: Layout): Row {
  const band = bandRow(lay, undefined, `… ${item.text} …`, 'collapsed', item.first);
  const top = band.height - 4;
  const height = top + 22;
  return {
    height,
    step: item.first,
    svg: (y) => {
      const lanes = lay.lanes.map((lane) => {
        const x = lay.x.get(lane.id)!;
        const n = item.perLane.get(lane.id);
        const count =
          n === undefined
            ? ''
            : `<text x="${x + 4}" y="${y + top + 14}" class="lane-count">×${n}</text>`;
        return `<line x1="${x}" y1="${y + 3}" x2="${x}" y2="${y + height - 2}" class="through"/>${count}`;
      });
      return (
        `<rect x="${MARGIN_L - 6}" y="${y + 3}" width="${lay.width - MARGIN_L - 2}" height="${height - 4}" rx="3" class="collapsed"/>` +
        lanes.join('') +
        band.svg(y).replace(/^<rect[^>]*\/>/, '')
      );
    },
  };
}

function rowOf(item: SceneItem, lay: Layout): Row {
  switch (item.kind) {
    case 'message':
      return messageRow(item, lay);
    case 'note':
      return bandRow(lay, item.lanes, `${item.step}. ${item.text}`, item.tone, item.step);
    case 'collapsed':
      return collapsedRow(item, lay);
    case 'violation':
      return bandRow(lay, undefined, `VIOLATION ${item.text}`, 'violation', item.step);
  }
}

function bodySvg(scene: Scene, lay: Layout): string {
  const rows = scene.items.map((item) => rowOf(item, lay));
  const height = rows.reduce((h, r) => h + r.height, 0) + 16;
  const parts = [
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">',
    '<path d="M0 0 L10 5 L0 10 z" fill="#3c4043"/></marker></defs>',
  ];
  for (const lane of lay.lanes) {
    const x = lay.x.get(lane.id)!;
    parts.push(`<line x1="${x}" y1="0" x2="${x}" y2="${height}" class="lifeline"/>`);
  }
  let y = 6;
  let previous: number | undefined;
  for (const row of rows) {
    const stepLabel =
      row.step !== undefined && row.step !== previous
        ? `<text x="${MARGIN_L - 12}" y="${y + 15}" class="stepno">${row.step}</text>`
        : '';
    const body = `${stepLabel}${row.svg(y)}`;
    parts.push(row.step === undefined ? body : `<a href="#step-${row.step}">${body}</a>`);
    previous = row.step;
    y += row.height;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${lay.width}" height="${height}" class="seq">${parts.join('')}</svg>`;
}

export const SEQUENCE_CSS = `
svg.seq { display: block; font-family: system-ui, sans-serif; }
svg.seq text { font-size: 11px; fill: #202124; }
svg.seq text.box { font-size: 12px; font-weight: 600; text-anchor: middle; }
svg.seq text.lane { font-size: 12px; text-anchor: middle; }
svg.seq text.label { text-anchor: middle; }
svg.seq text.self { text-anchor: start; }
svg.seq text.self-left { text-anchor: end; }
svg.seq text.stepno { text-anchor: end; fill: #5f6368; }
svg.seq rect.participant { fill: #fff; stroke: #5f6368; }
svg.seq line.lifeline { stroke: #bdc1c6; stroke-dasharray: 4 4; }
svg.seq .msg { stroke: #3c4043; fill: none; stroke-width: 1.2; }
svg.seq .msg.silent { stroke: #9aa0a6; stroke-dasharray: 5 4; }
svg.seq line.through { stroke: #9aa0a6; stroke-width: 1; }
svg.seq text.lane-count { font-size: 10px; fill: #5f6368; }
svg.seq rect.lost { fill: #ffdad6; stroke: #b3261e; stroke-width: 2; }
svg.seq text.lost-text { font-weight: 700; fill: #8c1d18; }
svg.seq text.note-text { text-anchor: middle; }
svg.seq rect.state { fill: #fff8c5; stroke: #d4a72c; }
svg.seq rect.report { fill: #ffe2c6; stroke: #e8710a; }
svg.seq rect.collapsed { fill: #f1f3f4; fill-opacity: 0.6; stroke: #bdc1c6; stroke-dasharray: 3 3; }
svg.seq text.collapsed-text { font-style: italic; fill: #5f6368; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.seq rect.violation { fill: #fce8e6; stroke: #d93025; stroke-width: 2; }
svg.seq text.violation-text { font-weight: 700; fill: #a50e0e; }
svg.seq a:hover text { text-decoration: underline; }
`;

/** The header and body SVGs of a trace's sequence diagram. */
export function renderSequenceSvg(trace: Trace): { header: string; body: string; width: number } {
  const scene = buildScene(trace);
  const lay = layout(scene);
  return { header: headerSvg(scene, lay), body: bodySvg(scene, lay), width: lay.width };
}

/**
 * The sequence diagram alone, as one standalone SVG file (`render --format svg`): the header and
 * the body stacked, the style inside, and no links (there is no step table to jump to).
 */
export function renderSvg(trace: Trace): string {
  const { header, body, width } = renderSequenceSvg(trace);
  const bodyHeight = Number(/height="(\d+(?:\.\d+)?)"/.exec(body)?.[1] ?? 0);
  const place = (svg: string, y: number) => svg.replace('<svg ', `<svg x="0" y="${y}" `);
  const unlinked = body.replace(/<a href="#step-\d+">/g, '').replaceAll('</a>', '');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEADER_H + bodyHeight}" class="seq">` +
    `<style>${SEQUENCE_CSS}</style><rect width="100%" height="100%" fill="#fff"/>` +
    `${place(header, 0)}${place(unlinked, HEADER_H)}</svg>\n`
  );
}
