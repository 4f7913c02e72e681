// Assertion density of impl/: assertions per function, per folder and for impl/ as a whole.
// `npx tsx tools/assertion-density.ts` prints the table; `--files` adds one row per file.
// tools/assertion-density.test.ts fails when impl/ as a whole falls under its ratchet.
//
// What counts as a function: something a reader navigates to by name, that is a function
// declaration, a class method, constructor, getter or setter, and a function or arrow expression
// that is bound to a name (a `const`, a class field, an object-literal property or method).
// Callbacks passed inline (`xs.map((x) => x.id)`) are part of the function they are written in:
// their assertions count for it. Overload signatures and abstract or interface methods have no
// body and are not functions. impl/assert.ts defines the assertions and is left out.
//
// What counts as an assertion: a call of `assert`, `maybe` or `unreachable` imported from
// impl/assert.ts. `maybe` documents a branch that goes both ways and `unreachable` asserts that
// a switch is exhaustive; both are checked statements about our own code, so both count.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AstNode,
  isNode,
  lineOf,
  parseSource,
  type SourceFile,
  sourcesUnder,
  walk,
} from './source-ast.ts';

export const ASSERTION_NAMES = ['assert', 'maybe', 'unreachable'] as const;

export interface FileDensity {
  readonly path: string;
  readonly functions: number;
  readonly assertions: number;
}

export interface FolderDensity {
  /** Folder relative to impl/, e.g. `xen` or `world/hostile`; `.` for impl/ itself. */
  readonly folder: string;
  readonly files: number;
  readonly functions: number;
  readonly assertions: number;
}

const NAMED_PARENTS = new Set(['VariableDeclarator', 'PropertyDefinition', 'Property']);

function isFunctionNode(node: AstNode, parent: AstNode | undefined): boolean {
  if (node.type === 'FunctionDeclaration') return node.body !== null;
  if (node.type === 'MethodDefinition') return isNode(node.value) && node.value.body !== null;
  if (node.type !== 'FunctionExpression' && node.type !== 'ArrowFunctionExpression') return false;
  // A method's FunctionExpression is counted at its MethodDefinition.
  return parent !== undefined && NAMED_PARENTS.has(parent.type);
}

/** Local names under which this file imported assert/maybe/unreachable from impl/assert.ts. */
function assertionImports(program: AstNode): Map<string, string> {
  const names = new Map<string, string>();
  for (const statement of program.body as AstNode[]) {
    if (statement.type !== 'ImportDeclaration') continue;
    const source = (statement.source as AstNode).value as string;
    if (!/(^|\/)assert(\.ts)?$/.test(source)) continue;
    for (const spec of statement.specifiers as AstNode[]) {
      if (spec.type !== 'ImportSpecifier') continue;
      const imported = (spec.imported as AstNode).name as string;
      if ((ASSERTION_NAMES as readonly string[]).includes(imported)) {
        names.set((spec.local as AstNode).name as string, imported);
      }
    }
  }
  return names;
}

export function measureFile(file: SourceFile): FileDensity {
  const program = parseSource(file);
  const asserts = assertionImports(program);
  let functions = 0;
  let assertions = 0;
  walk(program, (node, parent) => {
    if (isFunctionNode(node, parent)) functions++;
    if (node.type === 'CallExpression') {
      const callee = node.callee as AstNode;
      if (callee.type === 'Identifier' && asserts.has(callee.name as string)) assertions++;
    }
  });
  return { path: file.path, functions, assertions };
}

/** Files of impl/ (without impl/assert.ts), measured. */
export function measureImpl(files: readonly SourceFile[] = sourcesUnder('impl')): FileDensity[] {
  return files.filter((f) => f.path !== 'impl/assert.ts').map(measureFile);
}

export function byFolder(files: readonly FileDensity[]): FolderDensity[] {
  const rows = new Map<string, { files: number; functions: number; assertions: number }>();
  for (const f of files) {
    const folder = dirname(f.path).replace(/^impl\/?/, '') || '.';
    const row = rows.get(folder) ?? { files: 0, functions: 0, assertions: 0 };
    row.files++;
    row.functions += f.functions;
    row.assertions += f.assertions;
    rows.set(folder, row);
  }
  return [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([folder, r]) => ({ folder, ...r }));
}

export function total(files: readonly FileDensity[]): FolderDensity {
  let functions = 0;
  let assertions = 0;
  for (const f of files) {
    functions += f.functions;
    assertions += f.assertions;
  }
  return { folder: 'impl (all)', files: files.length, functions, assertions };
}

export function density(row: { functions: number; assertions: number }): number {
  return row.functions === 0 ? 0 : row.assertions / row.functions;
}

function line(
  name: string,
  files: string,
  functions: string,
  asserts: string,
  per: string,
): string {
  return `${name.padEnd(40)} ${files.padStart(5)} ${functions.padStart(9)} ${asserts.padStart(10)} ${per.padStart(8)}`;
}

function row(name: string, r: FolderDensity | FileDensity, files: number | ''): string {
  return line(
    name,
    String(files),
    String(r.functions),
    String(r.assertions),
    density(r).toFixed(2),
  );
}

export function formatTable(files: readonly FileDensity[], perFile = false): string {
  const out = [line('folder', 'files', 'functions', 'assertions', 'per fn')];
  for (const folder of byFolder(files)) {
    out.push(row(`impl/${folder.folder === '.' ? '' : `${folder.folder}/`}`, folder, folder.files));
    if (!perFile) continue;
    for (const f of files) {
      if (dirname(f.path) === `impl${folder.folder === '.' ? '' : `/${folder.folder}`}`) {
        out.push(row(`  ${f.path.slice(f.path.lastIndexOf('/') + 1)}`, f, ''));
      }
    }
  }
  const all = total(files);
  out.push(row(all.folder, all, all.files));
  return out.join('\n');
}

/**
 * Assertions whose message is built on every call (a template literal or a `+` concatenation):
 * `path:line` of each. impl/assert.ts formats `%s` places only on failure; use that instead.
 */
export function eagerMessages(file: SourceFile): string[] {
  const program = parseSource(file);
  const asserts = assertionImports(program);
  const out: string[] = [];
  walk(program, (node) => {
    if (node.type !== 'CallExpression') return;
    const callee = node.callee as AstNode;
    if (callee.type !== 'Identifier' || !asserts.has(callee.name as string)) return;
    // unreachable always fails: its message is built only then.
    if (asserts.get(callee.name as string) === 'unreachable') return;
    const message = (node.arguments as AstNode[])[1];
    if (message === undefined) return;
    const eager =
      message.type === 'TemplateLiteral' ||
      (message.type === 'BinaryExpression' && message.operator === '+');
    if (eager) out.push(`${file.path}:${lineOf(file.text, node.start as number)}`);
  });
  return out;
}

/** Where the functions without an assertion are, for `--bare`: path:line name. */
export function bareFunctions(file: SourceFile): string[] {
  const program = parseSource(file);
  const asserts = assertionImports(program);
  const out: string[] = [];
  walk(program, (node, parent) => {
    if (!isFunctionNode(node, parent)) return;
    let found = false;
    walk(node, (inner) => {
      if (inner.type !== 'CallExpression') return;
      const callee = inner.callee as AstNode;
      if (callee.type === 'Identifier' && asserts.has(callee.name as string)) found = true;
    });
    if (!found) out.push(`${file.path}:${lineOf(file.text, node.start as number)}`);
  });
  return out;
}

function main(argv: readonly string[]): number {
  const unknown = argv.filter((a) => a !== '--files' && a !== '--bare');
  if (unknown.length > 0) {
    console.error(`assertion-density: unknown argument ${unknown[0]} (known: --files, --bare)`);
    return 2;
  }
  console.log(formatTable(measureImpl(), argv.includes('--files')));
  if (argv.includes('--bare')) {
    const files = sourcesUnder('impl').filter((f) => f.path !== 'impl/assert.ts');
    for (const f of files) for (const where of bareFunctions(f)) console.log(where);
  }
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
