// What the source checks in tools/ share: the list of a folder's TypeScript sources and a parse of
// each into an ESTree AST. The parser is oxc (through rolldown's parseAst, the one vite already
// runs), because TypeScript 7 ships no JavaScript compiler API and a regex cannot tell a callback
// from a method or a string from code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseAst } from 'rolldown/parseAst';

/** An ESTree node as the checks see it: a type tag and fields, some of them child nodes. */
export interface AstNode {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface SourceFile {
  /** Path relative to the repository root, with forward slashes. */
  readonly path: string;
  readonly text: string;
}

export const ROOT = join(import.meta.dirname, '..');

/** Every non-test .ts file under `dir` (relative to the repository root), sorted by path. */
export function sourcesUnder(dir: string, root: string = ROOT): SourceFile[] {
  const out: SourceFile[] = [];
  const visit = (abs: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) visit(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        out.push({
          path: relative(root, path).split(sep).join('/'),
          text: readFileSync(path, 'utf8'),
        });
      }
    }
  };
  visit(join(root, dir));
  return out;
}

export function parseSource(file: SourceFile): AstNode {
  return parseAst(file.text, { lang: 'ts' }, file.path) as unknown as AstNode;
}

export function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).type === 'string';
}

/** The child nodes of `node`, in source order of its fields. */
export function childrenOf(node: AstNode): AstNode[] {
  const out: AstNode[] = [];
  for (const key in node) {
    if (key === 'type' || key === 'start' || key === 'end') continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) out.push(item);
    } else if (isNode(value)) out.push(value);
  }
  return out;
}

/** Depth-first walk; `visit` sees each node with its parent (undefined for the root). */
export function walk(
  node: AstNode,
  visit: (node: AstNode, parent: AstNode | undefined) => void,
  parent?: AstNode,
): void {
  visit(node, parent);
  for (const child of childrenOf(node)) walk(child, visit, node);
}

/** 1-based line of a character offset, for messages a reader can jump to. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
