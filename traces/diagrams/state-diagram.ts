// State diagrams of the control-plane machines for review: Mermaid stateDiagram-v2 and
// Graphviz DOT (rendered to SVG with the WebAssembly Graphviz from npm). Edges carry the event,
// the guard in brackets and the effects after a slash. Root transitions (the drivers'
// otherend_changed switch, resume, remove) apply in every stable state and are drawn from one
// "any stable state" node. An optional coverage map (edge key -> times taken) marks edges never
// taken in red and dashed.

import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { AnyStateMachine } from 'xstate';
import { IN_CALLBACK } from '../../model/events.ts';
import {
  type MachineEdge,
  type MachineState,
  machineEdges,
  machineStates,
} from '../../model/graph.ts';
import { XenbusState } from '../../model/xenbus-state.ts';

export type EdgeCoverage = ReadonlyMap<string, number>;

const ANY = 'any';
const LEGEND = 'shaded = inside a callback (answers only); grey edges = root handlers';

/** 'frontend.Initialising.probing' -> 'Initialising_probing' (the machine id is dropped). */
function nodeId(machine: AnyStateMachine, stateId: string): string {
  if (stateId === machine.id) return ANY;
  return stateId.slice(machine.id.length + 1).replaceAll('.', '_');
}

function edgeText(edge: MachineEdge): { trigger: string; effects: string } {
  const guard = edge.guard === undefined ? '' : ` [${edge.guard}]`;
  return { trigger: `${edge.eventType}${guard}`, effects: edge.effects.join(', ') };
}

function endpoints(machine: AnyStateMachine, edge: MachineEdge): [string, string][] {
  const source = nodeId(machine, edge.sourceId);
  if (edge.targetIds.length === 0) return [[source, source]];
  return edge.targetIds.map((target) => [source, leafOf(machine, target)]);
}

/** A transition to a compound state enters its initial leaf. */
function leafOf(machine: AnyStateMachine, stateId: string): string {
  const states = machineStates(machine);
  let current = stateId;
  for (let depth = 0; depth < 8; depth++) {
    const initial = states.find((s) => s.parentId === current && s.initial);
    if (initial === undefined) break;
    current = initial.id;
  }
  return nodeId(machine, current);
}

function topLevelLabel(key: string): string {
  const value = (XenbusState as Record<string, number>)[key];
  return value === undefined ? key : `${key} (${value})`;
}

function children(states: readonly MachineState[], parentId: string): MachineState[] {
  return states.filter((state) => state.parentId === parentId);
}

function mermaidLabel(text: string): string {
  return text.replaceAll('"', "'").replaceAll(';', ',').replaceAll(':', ' ');
}

/** Mermaid stateDiagram-v2 text of a machine. */
export function toMermaid(machine: AnyStateMachine, coverage?: EdgeCoverage): string {
  const states = machineStates(machine);
  const lines = ['stateDiagram-v2', `  state "any stable state (root handlers)" as ${ANY}`];
  for (const top of children(states, machine.id)) {
    const topId = nodeId(machine, top.id);
    if (top.initial) lines.push(`  [*] --> ${topId}`);
    lines.push(`  state "${topLevelLabel(top.key)}" as ${topId} {`);
    for (const leaf of children(states, top.id)) {
      const leafId = nodeId(machine, leaf.id);
      const callback = leaf.tags.includes(IN_CALLBACK) ? ' (in callback)' : '';
      lines.push(`    state "${leaf.key}${callback}" as ${leafId}`);
      if (leaf.initial) lines.push(`    [*] --> ${leafId}`);
    }
    lines.push('  }');
  }
  for (const edge of machineEdges(machine)) {
    const { trigger, effects } = edgeText(edge);
    const untaken = coverage !== undefined && (coverage.get(edge.key) ?? 0) === 0 ? ' UNTAKEN' : '';
    const label = mermaidLabel(effects === '' ? trigger : `${trigger} / ${effects}`) + untaken;
    for (const [source, target] of endpoints(machine, edge)) {
      lines.push(`  ${source} --> ${target} : ${label}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A quoted DOT string; newlines become centred line breaks, `\\l` is kept (left-justified). */
function dotString(text: string): string {
  return `"${text.replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}

function dotEdgeStyle(edge: MachineEdge, coverage: EdgeCoverage | undefined): string {
  const style: string[] = [];
  if (edge.sourceId.split('.').length === 1) style.push('color="#555555"');
  if (coverage !== undefined) {
    const count = coverage.get(edge.key) ?? 0;
    if (count === 0) style.push('color=red', 'fontcolor=red', 'style=dashed');
    else style.push(`penwidth=${Math.min(4, 1 + Math.log2(count) / 2).toFixed(2)}`);
  }
  return style.length === 0 ? '' : `, ${style.join(', ')}`;
}

function isRootSelfLoop(machine: AnyStateMachine, edge: MachineEdge): boolean {
  return edge.sourceId === machine.id && edge.targetIds.length === 0;
}

/** Root transitions that change no state are listed in the "any" node, not drawn as loops. */
function anyLabel(machine: AnyStateMachine, coverage: EdgeCoverage | undefined): string {
  const lines = ['any stable state (root handlers)', 'and, staying where they are:'];
  for (const edge of machineEdges(machine)) {
    if (!isRootSelfLoop(machine, edge)) continue;
    const { trigger, effects } = edgeText(edge);
    const untaken = coverage !== undefined && (coverage.get(edge.key) ?? 0) === 0 ? ' UNTAKEN' : '';
    lines.push(`${trigger}${effects === '' ? '' : ` / ${effects}`}${untaken}`);
  }
  return `${lines.join('\\l')}\\l`;
}

/** Graphviz DOT of a machine: one cluster per XenbusState, in-callback steps shaded. */
export function toDot(machine: AnyStateMachine, coverage?: EdgeCoverage): string {
  const states = machineStates(machine);
  const lines = [
    `digraph ${machine.id} {`,
    '  rankdir=TB; nodesep=0.4; ranksep=0.5; pad=0.4;',
    `  label=${dotString(`${machine.id}: ${LEGEND}`)};`,
    '  labelloc=t; fontname="Helvetica"; fontsize=14;',
    '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",',
    '        fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
    `  ${ANY} [label=${dotString(anyLabel(machine, coverage))}, shape=note, fillcolor="#eeeeee"];`,
    '  start [shape=point, width=0.15];',
  ];
  for (const top of children(states, machine.id)) {
    lines.push(`  subgraph cluster_${top.key} {`);
    lines.push(`    label=${dotString(topLevelLabel(top.key))}; style=rounded; color="#3366aa";`);
    for (const leaf of children(states, top.id)) {
      const fill = leaf.tags.includes(IN_CALLBACK) ? ', fillcolor="#fff3c4"' : '';
      lines.push(`    ${nodeId(machine, leaf.id)} [label=${dotString(leaf.key)}${fill}];`);
    }
    lines.push('  }');
  }
  lines.push(`  start -> ${leafOf(machine, machine.id)};`);
  for (const edge of machineEdges(machine)) {
    if (isRootSelfLoop(machine, edge)) continue; // listed inside the "any" node instead
    const { trigger, effects } = edgeText(edge);
    const label = effects === '' ? trigger : `${trigger}\n/ ${effects.replaceAll(', ', ',\n  ')}`;
    for (const [source, target] of endpoints(machine, edge)) {
      lines.push(
        `  ${source} -> ${target} [label=${dotString(label)}${dotEdgeStyle(edge, coverage)}];`,
      );
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

let graphviz: Promise<Graphviz> | undefined;

/** Renders DOT to SVG with Graphviz compiled to WebAssembly (no system package). */
export async function dotToSvg(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return (await graphviz).dot(dot);
}

export interface DiagramFile {
  readonly name: string;
  readonly content: string;
}

/** The files `npm run diagrams` writes for each machine: <name>.mmd, <name>.dot, <name>.svg. */
export async function diagramFiles(
  machines: Readonly<Record<string, AnyStateMachine>>,
): Promise<DiagramFile[]> {
  const files: DiagramFile[] = [];
  for (const [name, machine] of Object.entries(machines)) {
    const dot = toDot(machine);
    files.push({ name: `${name}.mmd`, content: toMermaid(machine) });
    files.push({ name: `${name}.dot`, content: dot });
    files.push({ name: `${name}.svg`, content: await dotToSvg(dot) });
  }
  return files;
}
