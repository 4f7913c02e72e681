// Mermaid sequenceDiagram of a trace: one participant per lane, grouped in boxes by domain, the
// step number in front of every message, collapsed routine runs as a translucent band with its
// summary beside the lanes, and the violation as the last note. Paste the output into any Mermaid viewer (GitHub renders
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

function itemLines(item: SceneItem, lanes: readonly string[]): string[] {
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
      return collapsedLines(item, lanes);
    case 'violation':
      return [
        `  rect rgb(255, 205, 205)`,
        `  Note over ${item.lanes.join(',')}: VIOLATION ${wrap(text(item.text), 80).join('<br/>')}`,
        '  end',
      ];
  }
}

/**
 * A collapsed run keeps one line per lane, as in the SVG: Mermaid draws a note over the lifelines
 * it spans but a `rect` behind them (drawBackgroundRect lowers it), so the band is a translucent
 * rect, the summary sits left of the first lane and each lane that moved gets its count right of
 * its line (Mermaid starts a right-of note half an actor margin past the lifeline, and a left-of
 * note ends as far before it): no note covers a lifeline.
 */
function collapsedLines(
  item: Extract<SceneItem, { kind: 'collapsed' }>,
  lanes: readonly string[],
): string[] {
  const summary = wrap(text(`… ${item.text} …`), 40).join('<br/>');
  const counts = lanes.flatMap((lane) => {
    const n = item.perLane.get(lane);
    return n === undefined ? [] : [`  Note right of ${lane}: ×${n}`];
  });
  return [`  rect ${COLLAPSED_FILL}`, `  Note left of ${lanes[0]}: ${summary}`, ...counts, '  end'];
}

/** The SVG band's grey, translucent so the lifelines drawn over it stay visible. */
const COLLAPSED_FILL = 'rgba(241, 243, 244, 0.6)';

export function renderMermaid(trace: Trace): string {
  const scene = buildScene(trace);
  const lanes = sceneLanes(scene);
  const lines = ['sequenceDiagram'];
  for (const box of scene.boxes) {
    lines.push(`  box ${box.color} ${box.label}`);
    for (const lane of box.lanes) lines.push(`    participant ${lane.id} as ${lane.label}`);
    lines.push('  end');
  }
  const ids = lanes.map((lane) => lane.id);
  for (const item of scene.items) lines.push(...itemLines(item, ids));
  return `${lines.join('\n')}\n`;
}
