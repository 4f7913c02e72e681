// A ShiViz log (https://bestchai.bitbucket.io/shiviz/): the first line is the parsing regular
// expression, the second the (empty) multiple-execution delimiter, then one line per event:
// `<host> <vector clock JSON> <event text>`. Hosts are the lanes of the sequence diagram. Every
// message of the scene becomes a send on its source lane and a receive on its target that merges
// the sender's clock, so ShiViz draws the same arrows; notes are local events. Nothing is collapsed:
// ShiViz has its own collapsing of local events.
import type { Trace } from '../schema.ts';
import { visible } from './visible.ts';
import { buildScene, type SceneItem } from './scene.ts';

/** The clock JSON holds no `}` before its end, so `[^}]*` stops at the right brace. */
export const SHIVIZ_REGEX = String.raw`(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)`;

type Clock = Map<string, number>;

function tick(clocks: Map<string, Clock>, host: string, merge?: Clock): Clock {
  const clock = clocks.get(host) ?? new Map<string, number>();
  if (merge !== undefined) {
    for (const [h, t] of merge) if (h !== host && t > (clock.get(h) ?? 0)) clock.set(h, t);
  }
  clock.set(host, (clock.get(host) ?? 0) + 1);
  clocks.set(host, clock);
  return new Map(clock);
}

function line(host: string, clock: Clock, event: string): string {
  const json = JSON.stringify(Object.fromEntries(clock));
  return `${host} ${json} ${event.replaceAll('\n', ' ')}`;
}

function itemEvents(item: SceneItem, clocks: Map<string, Clock>, out: string[]): void {
  if (item.kind === 'message') {
    const sent = tick(clocks, item.from);
    if (item.from === item.to) {
      out.push(line(item.from, sent, `step ${item.step}: ${item.label}`));
      return;
    }
    out.push(line(item.from, sent, `step ${item.step}: ${item.label} → ${item.to}`));
    out.push(
      line(
        item.to,
        tick(clocks, item.to, sent),
        `step ${item.step}: receives ${item.label} from ${item.from}`,
      ),
    );
  } else if (item.kind === 'note' || item.kind === 'violation') {
    const host = item.lanes[0]!;
    const prefix = item.kind === 'violation' ? 'VIOLATION ' : `step ${item.step}: `;
    out.push(line(host, tick(clocks, host), `${prefix}${item.text}`));
  }
}

export function renderShiviz(trace: Trace): string {
  // A full scene: ShiViz collapses on its own, and a reader there wants every step.
  const scene = buildScene(trace, { collapse: false });
  const clocks = new Map<string, Clock>();
  const out = [SHIVIZ_REGEX, ''];
  for (const item of scene.items) itemEvents(item, clocks, out);
  return `${visible(out.join('\n'))}\n`;
}
