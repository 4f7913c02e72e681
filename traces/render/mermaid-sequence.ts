// Mermaid sequenceDiagram of a trace: one participant per lane, grouped in boxes by domain, the
// step number in front of every message, collapsed routine runs as one note across the diagram,
// and the violation as the last note. Paste the output into any Mermaid viewer (GitHub renders
// ```mermaid blocks).
import type { Trace } from '../schema.ts';
import { wrap } from './svg-sequence.ts';
import { visible } from './visible.ts';
import { buildScene, type SceneItem, sceneLanes } from './scene.ts';

/**
 * Mermaid treats `;` and `#` specially in message text, a newline ends the statement, and a note
 * renders HTML: `<` and `>` become entity codes, so no markup from a trace reaches the viewer.
 */
function text(s: string): string {
  return visible(
    s
      .replaceAll('#', '#35;')
      .replaceAll(';', '#59;')
      .replaceAll('<', '#lt;')
      .replaceAll('>', '#gt;')
      .replaceAll('\n', ' ')
      .replaceAll('%%', '%'),
  );
}

function itemLines(item: SceneItem, first: string, last: string): string[] {
  switch (item.kind) {
    case 'message': {
      // A push that sent no event is dotted, a notifying one solid.
      const arrow = item.silent === true ? '-->>' : '->>';
      return [`  ${item.from}${arrow}${item.to}: ${item.step}. ${text(item.label)}`];
    }
    case 'note': {
      const note = `  Note over ${item.lanes.join(',')}: ${item.step}. ${text(item.text)}`;
      return item.tone === 'lost' ? ['  rect rgb(255, 218, 214)', note, '  end'] : [note];
    }
    case 'collapsed':
      return [`  Note over ${first},${last}: … ${text(item.text)} …`];
    case 'violation':
      return [
        `  rect rgb(255, 205, 205)`,
        `  Note over ${item.lanes.join(',')}: VIOLATION ${wrap(text(item.text), 80).join('<br/>')}`,
        '  end',
      ];
  }
}

export function renderMermaid(trace: Trace): string {
  const scene = buildScene(trace);
  const lanes = sceneLanes(scene);
  const lines = ['sequenceDiagram'];
  for (const box of scene.boxes) {
    lines.push(`  box ${box.color} ${box.label}`);
    for (const lane of box.lanes) lines.push(`    participant ${lane.id} as ${lane.label}`);
    lines.push('  end');
  }
  const first = lanes[0]!.id;
  const last = lanes[lanes.length - 1]!.id;
  for (const item of scene.items) lines.push(...itemLines(item, first, last));
  return `${lines.join('\n')}\n`;
}
