// Module-level mutable state in impl/ and properties/: state that outlives a run because it lives
// in a module instead of the World (or a per-run checker). It would leak from one run into the
// next and hide from a fork or a fingerprint of the world. tools/module-state.test.ts runs this.
//
// The rule, per top-level binding of a module (and per static class field):
// - `let` and `var` are state, whatever they hold.
// - WeakMap, WeakSet, WeakRef and FinalizationRegistry are state: they exist to attach data to
//   objects from the outside.
// - A Map or Set is state unless its declared type is ReadonlyMap or ReadonlySet (TypeScript then
//   refuses a mutation through that name) and this file does not mutate it.
// - An array, typed array or object literal is state when some file mutates it: an assignment or
//   ++/-- whose target starts with its name (`cache[i] = x`, `table.n++`), or a call of a
//   mutating method on it (`cache.push(x)`, `rows[i].set(k, v)`).
// - A static class field is state unless it is `readonly` and holds no Map, Set or mutated value.
// A deliberate immutable table (a `readonly T[]`, `as const`, ReadonlyMap or frozen object that
// nothing mutates) passes. Mutations of an imported binding are charged to the importing file.
import {
  type AstNode,
  isNode,
  lineOf,
  parseSource,
  type SourceFile,
  sourcesUnder,
  walk,
} from './source-ast.ts';

export interface ModuleState {
  /** `path:name`, the stable key of the allow-list. */
  readonly key: string;
  readonly line: number;
  readonly why: string;
}

const ALWAYS_STATE = new Set(['WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry']);
const COLLECTIONS = new Set(['Map', 'Set']);
const MUTATING_METHODS = new Set([
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
  'set',
  'add',
  'delete',
  'clear',
]);

/** Strip `as`, `satisfies`, `!` and parentheses: what the expression is underneath. */
function unwrap(node: AstNode): AstNode {
  let n = node;
  while (
    n.type === 'TSAsExpression' ||
    n.type === 'TSSatisfiesExpression' ||
    n.type === 'TSNonNullExpression' ||
    n.type === 'ParenthesizedExpression'
  ) {
    n = n.expression as AstNode;
  }
  return n;
}

function constructorName(init: AstNode): string | undefined {
  const n = unwrap(init);
  if (n.type !== 'NewExpression') return undefined;
  const callee = n.callee as AstNode;
  return callee.type === 'Identifier' ? (callee.name as string) : undefined;
}

function isFrozen(init: AstNode): boolean {
  const n = unwrap(init);
  if (n.type !== 'CallExpression') return false;
  const callee = n.callee as AstNode;
  return (
    callee.type === 'MemberExpression' &&
    (callee.object as AstNode).name === 'Object' &&
    (callee.property as AstNode).name === 'freeze'
  );
}

/** The name of the declared type, e.g. `ReadonlyMap` for `x: ReadonlyMap<K, V>`. */
function declaredTypeName(id: AstNode): string | undefined {
  const annotation = id.typeAnnotation;
  if (!isNode(annotation)) return undefined;
  const type = annotation.typeAnnotation as AstNode;
  if (type.type !== 'TSTypeReference') return undefined;
  const name = type.typeName as AstNode;
  return name.type === 'Identifier' ? (name.name as string) : undefined;
}

interface Binding {
  readonly name: string;
  readonly line: number;
  /** Why it is state whatever the file does; undefined when only a mutation would make it so. */
  readonly always: string | undefined;
  /** Whether a mutation of its contents makes it state (false for primitives and functions). */
  readonly mutable: boolean;
}

function classifyConst(id: AstNode, init: AstNode | null): Pick<Binding, 'always' | 'mutable'> {
  if (init === null) return { always: undefined, mutable: false };
  const ctor = constructorName(init);
  if (ctor !== undefined && ALWAYS_STATE.has(ctor))
    return { always: `a module-level ${ctor}`, mutable: true };
  if (ctor !== undefined && COLLECTIONS.has(ctor)) {
    const readonly = declaredTypeName(id) === `Readonly${ctor}`;
    return {
      always: readonly ? undefined : `a module-level ${ctor} not typed Readonly${ctor}`,
      mutable: true,
    };
  }
  if (isFrozen(init)) return { always: undefined, mutable: false };
  const n = unwrap(init);
  const mutable =
    ctor !== undefined || n.type === 'ArrayExpression' || n.type === 'ObjectExpression';
  return { always: undefined, mutable };
}

function declaredBindings(statement: AstNode, text: string): Binding[] {
  const decl =
    (statement.type === 'ExportNamedDeclaration' ||
      statement.type === 'ExportDefaultDeclaration') &&
    isNode(statement.declaration)
      ? statement.declaration
      : statement;
  if (decl.type === 'ClassDeclaration') return staticFields(decl, text);
  if (decl.type !== 'VariableDeclaration') return [];
  const out: Binding[] = [];
  for (const d of decl.declarations as AstNode[]) {
    const id = d.id as AstNode;
    if (id.type !== 'Identifier') continue;
    const line = lineOf(text, d.start as number);
    const name = id.name as string;
    if (decl.kind !== 'const') {
      out.push({ name, line, always: `a module-level \`${decl.kind}\``, mutable: true });
    } else {
      out.push({ name, line, ...classifyConst(id, (d.init as AstNode | null) ?? null) });
    }
  }
  return out;
}

function staticFields(cls: AstNode, text: string): Binding[] {
  const className = (cls.id as AstNode | null)?.name as string | undefined;
  const out: Binding[] = [];
  for (const member of (cls.body as AstNode).body as AstNode[]) {
    if (member.type !== 'PropertyDefinition' || member.static !== true) continue;
    const key = member.key as AstNode;
    const name = `${className ?? 'class'}.${(key.name as string | undefined) ?? '?'}`;
    const line = lineOf(text, member.start as number);
    if (member.readonly !== true) {
      out.push({ name, line, always: 'a static field that is not readonly', mutable: true });
      continue;
    }
    const value = (member.value as AstNode | null) ?? null;
    out.push({ name, line, ...classifyConst(key, value) });
  }
  return out;
}

/** Names declared directly in one scope-creating node: params and its own declarations. */
function localNames(node: AstNode): string[] {
  const out: string[] = [];
  const add = (pattern: AstNode | null | undefined): void => {
    if (!isNode(pattern)) return;
    walk(pattern, (n, parent) => {
      if (n.type !== 'Identifier') return;
      // Skip keys of destructured properties and default values' references.
      if (parent?.type === 'Property' && parent.key === n && parent.shorthand !== true) return;
      if (parent?.type === 'AssignmentPattern' && parent.right === n) return;
      out.push(n.name as string);
    });
  };
  for (const p of (node.params as AstNode[] | undefined) ?? []) add(p);
  if (node.type === 'CatchClause') add(node.param as AstNode | null);
  const body = node.type === 'BlockStatement' || node.type === 'Program' ? node.body : undefined;
  for (const s of (body as AstNode[] | undefined) ?? []) {
    if (s.type === 'VariableDeclaration')
      for (const d of s.declarations as AstNode[]) add(d.id as AstNode);
    if (s.type === 'FunctionDeclaration' || s.type === 'ClassDeclaration')
      add(s.id as AstNode | null);
  }
  if (
    node.type === 'ForStatement' ||
    node.type === 'ForOfStatement' ||
    node.type === 'ForInStatement'
  ) {
    const init = (node.init ?? node.left) as AstNode | null;
    if (isNode(init) && init.type === 'VariableDeclaration') {
      for (const d of init.declarations as AstNode[]) add(d.id as AstNode);
    }
  }
  return out;
}

/** The identifier an assignment target or a method's receiver starts with: `a` of `a.b[c].d`. */
function rootName(node: AstNode): string | undefined {
  let n = unwrap(node);
  while (n.type === 'MemberExpression') n = unwrap(n.object as AstNode);
  return n.type === 'Identifier' ? (n.name as string) : undefined;
}

/** The root name mutated by `node`, if it is a mutation. */
function mutatedRoot(node: AstNode): string | undefined {
  if (node.type === 'AssignmentExpression') {
    const left = unwrap(node.left as AstNode);
    return left.type === 'MemberExpression' ? rootName(left) : undefined;
  }
  if (
    node.type === 'UpdateExpression' ||
    (node.type === 'UnaryExpression' && node.operator === 'delete')
  ) {
    const arg = unwrap(node.argument as AstNode);
    return arg.type === 'MemberExpression' ? rootName(arg) : undefined;
  }
  if (node.type === 'CallExpression') {
    const callee = unwrap(node.callee as AstNode);
    if (callee.type !== 'MemberExpression' || callee.computed === true) return undefined;
    const method = (callee.property as AstNode).name as string;
    return MUTATING_METHODS.has(method) ? rootName(callee.object as AstNode) : undefined;
  }
  return undefined;
}

const SCOPES = new Set([
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
  'BlockStatement',
  'CatchClause',
  'ForStatement',
  'ForOfStatement',
  'ForInStatement',
]);

/** Root names mutated anywhere in the program where the name is not shadowed by a local. */
function mutatedModuleNames(program: AstNode): Map<string, number> {
  const found = new Map<string, number>();
  const visit = (node: AstNode, shadowed: ReadonlySet<string>): void => {
    let inner = shadowed;
    if (SCOPES.has(node.type)) {
      const names = localNames(node);
      if (names.length > 0) inner = new Set([...shadowed, ...names]);
    }
    const root = mutatedRoot(node);
    if (root !== undefined && !inner.has(root) && !found.has(root))
      found.set(root, node.start as number);
    for (const key in node) {
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) visit(item, inner);
      } else if (isNode(value) && key !== 'type') visit(value, inner);
    }
  };
  visit(program, new Set());
  return found;
}

function importedNames(program: AstNode): string[] {
  const out: string[] = [];
  for (const s of program.body as AstNode[]) {
    if (s.type !== 'ImportDeclaration' || s.importKind === 'type') continue;
    for (const spec of s.specifiers as AstNode[]) out.push((spec.local as AstNode).name as string);
  }
  return out;
}

export function moduleStateOf(file: SourceFile): ModuleState[] {
  const program = parseSource(file);
  const mutated = mutatedModuleNames(program);
  const out: ModuleState[] = [];
  for (const statement of program.body as AstNode[]) {
    for (const b of declaredBindings(statement, file.text)) {
      const key = `${file.path}:${b.name}`;
      if (b.always !== undefined) out.push({ key, line: b.line, why: b.always });
      else if (b.mutable && mutated.has(b.name)) {
        const at = lineOf(file.text, mutated.get(b.name) as number);
        out.push({ key, line: b.line, why: `a module-level value mutated at line ${at}` });
      }
    }
  }
  for (const name of importedNames(program)) {
    const at = mutated.get(name);
    if (at === undefined) continue;
    const line = lineOf(file.text, at);
    out.push({ key: `${file.path}:${name}`, line, why: `mutates the imported ${name}` });
  }
  return out;
}

/** Every offender in impl/ and properties/, sorted by key. */
export function moduleStateOfTree(dirs: readonly string[] = ['impl', 'properties']): ModuleState[] {
  return dirs
    .flatMap((d) => sourcesUnder(d))
    .flatMap(moduleStateOf)
    .sort((a, b) => a.key.localeCompare(b.key));
}
