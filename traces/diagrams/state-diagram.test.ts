import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendMachine } from '../../model/backend-machine.ts';
import { backendEventsAt, EXPLORE_BACKEND_INPUT } from '../../model/explore-events.ts';
import { explore, machineEdges } from '../../model/graph.ts';
import { DIAGRAM_DIR, DIAGRAM_MACHINES } from './main.ts';
import { diagramFiles, toDot, toMermaid } from './state-diagram.ts';

describe('state diagrams', () => {
  it('the committed docs/diagrams files are up to date (run `npm run diagrams`)', async () => {
    for (const file of await diagramFiles(DIAGRAM_MACHINES)) {
      const committed = await readFile(join(DIAGRAM_DIR, file.name), 'utf8');
      expect(committed, `${file.name} is stale: run npm run diagrams`).toBe(file.content);
    }
  });

  it('draws every declared edge with its event, guard and effects', () => {
    const mermaid = toMermaid(backendMachine);
    const dot = toDot(backendMachine);
    expect(mermaid.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const edge of machineEdges(backendMachine)) {
      expect(dot).toContain(edge.eventType);
      if (edge.guard !== undefined) expect(mermaid).toContain(`[${edge.guard}]`);
    }
    expect(mermaid).toContain('InitWait_writingConnectKeys --> Connected_connected');
    expect(dot).toContain('switchState(Connected)');
  });

  it('marks untaken edges red and dashed when given a coverage map', () => {
    const exploration = explore(backendMachine, {
      input: EXPLORE_BACKEND_INPUT,
      events: (s) => backendEventsAt(s).filter((e) => e.type !== 'rings.busy'),
    });
    const dot = toDot(backendMachine, exploration.edgeCounts);
    const dashed = dot.split('\n').filter((line) => line.includes('style=dashed'));
    expect(dashed.some((line) => line.includes('rings.busy'))).toBe(true);
    const full = explore(backendMachine, { input: EXPLORE_BACKEND_INPUT, events: backendEventsAt });
    expect(toDot(backendMachine, full.edgeCounts)).not.toContain('style=dashed');
    expect(toMermaid(backendMachine, exploration.edgeCounts)).toContain('UNTAKEN');
  });
});
