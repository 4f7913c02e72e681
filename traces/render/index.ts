// The renderers by format name: pure functions Trace -> string (design rule 7). The CLI's
// `render --format` and the docs examples read this table.
import type { Trace } from '../schema.ts';
import { renderHtml } from './html.ts';
import { renderMermaid } from './mermaid-sequence.ts';
import { renderShiviz } from './shiviz.ts';
import { renderSvg } from './svg-sequence.ts';
import { renderText } from './text.ts';

export interface Renderer {
  readonly render: (trace: Trace) => string;
  /** The file extension of the output, without the dot. */
  readonly extension: string;
  readonly summary: string;
}

export const RENDERERS = {
  mermaid: {
    render: renderMermaid,
    extension: 'mmd',
    summary: 'Mermaid sequenceDiagram, lanes boxed by domain',
  },
  html: {
    render: renderHtml,
    extension: 'html',
    summary: 'self-contained page: SVG sequence diagram and step table',
  },
  svg: {
    render: renderSvg,
    extension: 'svg',
    summary: 'the sequence diagram alone, one standalone SVG file',
  },
  text: { render: renderText, extension: 'txt', summary: 'plain text for a terminal' },
  shiviz: {
    render: renderShiviz,
    extension: 'shiviz.txt',
    summary: 'ShiViz log with vector clocks per lane',
  },
} as const satisfies Record<string, Renderer>;

export type RenderFormat = keyof typeof RENDERERS;

export const RENDER_FORMATS = Object.keys(RENDERERS) as RenderFormat[];

export function isRenderFormat(name: string): name is RenderFormat {
  return Object.hasOwn(RENDERERS, name);
}
