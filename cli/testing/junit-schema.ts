// Test helper: a strict parser for the XML subset a JUnit report uses (declaration, elements,
// attributes, text, the five predefined entities and numeric references), and a check of the
// shape CI servers expect — the JUnit schema of Ant/Jenkins/Surefire (junit-4.xsd): testsuites >
// testsuite > (properties > property)*, testcase* > (failure | error | skipped)?, system-out?,
// with the counting attributes as integers and `time` as a decimal. Returns the problems found.

export interface XmlElement {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

const NAME = /^[A-Za-z_][\w.-]*/;
const ENTITY: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

function decode(raw: string, where: string): string {
  return raw.replace(/&([^;]*);?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new Error(`${where}: bare & in ${JSON.stringify(raw)}`);
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number(ref.slice(1)));
    const v = ENTITY[ref];
    if (v === undefined) throw new Error(`${where}: unknown entity &${ref};`);
    return v;
  });
}

/** Parses a whole document; throws on anything not well-formed. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`offset ${i}: ${msg}`);
  };
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    i = end + 2;
  }
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c < 0x20 && c !== 9 && c !== 10 && c !== 13) fail(`control character ${c} at ${k}`);
  }
  const element = (depth: number): XmlElement => {
    if (depth > 64) fail('too deep');
    if (text[i] !== '<') fail('expected <');
    i++;
    const name = NAME.exec(text.slice(i))?.[0] ?? fail('expected an element name');
    i += name.length;
    const attributes = new Map<string, string>();
    for (;;) {
      skipSpace();
      if (text.startsWith('/>', i) || text[i] === '>') break;
      const attr = NAME.exec(text.slice(i))?.[0] ?? fail(`bad attribute in <${name}>`);
      i += attr.length;
      if (text[i] !== '=' || text[i + 1] !== '"') fail(`attribute ${attr} needs ="..."`);
      const end = text.indexOf('"', i + 2);
      if (end < 0) fail('unterminated attribute');
      const raw = text.slice(i + 2, end);
      if (raw.includes('<')) fail(`< inside attribute ${attr}`);
      if (attributes.has(attr)) fail(`attribute ${attr} twice`);
      attributes.set(attr, decode(raw, `<${name} ${attr}>`));
      i = end + 1;
    }
    if (text.startsWith('/>', i)) {
      i += 2;
      return { name, attributes, children: [], text: '' };
    }
    i++;
    const children: XmlElement[] = [];
    let content = '';
    for (;;) {
      const next = text.indexOf('<', i);
      if (next < 0) fail(`<${name}> is never closed`);
      content += decode(text.slice(i, next), `<${name}> text`);
      i = next;
      if (text.startsWith('</', i)) {
        const close = `</${name}>`;
        if (!text.startsWith(close, i)) fail(`expected ${close}`);
        i += close.length;
        return { name, attributes, children, text: content };
      }
      children.push(element(depth + 1));
    }
  };
  skipSpace();
  const root = element(0);
  skipSpace();
  if (i !== text.length) fail('content after the root element');
  return root;
}

const INTEGER = /^\d+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

interface Shape {
  readonly required: readonly string[];
  readonly integers?: readonly string[];
  readonly decimals?: readonly string[];
  readonly children: readonly string[];
}

const SHAPES: Readonly<Record<string, Shape>> = {
  testsuites: {
    required: [],
    integers: ['tests', 'failures', 'errors', 'skipped', 'disabled'],
    decimals: ['time'],
    children: ['testsuite'],
  },
  testsuite: {
    required: ['name', 'tests', 'failures', 'errors'],
    integers: ['tests', 'failures', 'errors', 'skipped', 'disabled'],
    decimals: ['time'],
    children: ['properties', 'testcase', 'system-out', 'system-err'],
  },
  properties: { required: [], children: ['property'] },
  property: { required: ['name', 'value'], children: [] },
  testcase: {
    required: ['name', 'classname'],
    decimals: ['time'],
    children: ['failure', 'error', 'skipped', 'system-out', 'system-err'],
  },
  failure: { required: ['message', 'type'], children: [] },
  error: { required: ['message', 'type'], children: [] },
  skipped: { required: [], children: [] },
  'system-out': { required: [], children: [] },
  'system-err': { required: [], children: [] },
};

function checkElement(e: XmlElement, path: string, problems: string[]): void {
  const shape = SHAPES[e.name];
  if (shape === undefined) {
    problems.push(`${path}: unknown element <${e.name}>`);
    return;
  }
  for (const a of shape.required)
    if (!e.attributes.has(a)) problems.push(`${path}: missing attribute ${a}`);
  for (const a of shape.integers ?? [])
    if (e.attributes.has(a) && !INTEGER.test(e.attributes.get(a)!))
      problems.push(`${path}: ${a} is not an integer`);
  for (const a of shape.decimals ?? [])
    if (e.attributes.has(a) && !DECIMAL.test(e.attributes.get(a)!))
      problems.push(`${path}: ${a} is not a decimal`);
  const outcomes = e.children.filter((c) => ['failure', 'error', 'skipped'].includes(c.name));
  if (outcomes.length > 1) problems.push(`${path}: more than one failure/error/skipped`);
  e.children.forEach((c, k) => {
    if (!shape.children.includes(c.name))
      problems.push(`${path}: <${c.name}> not allowed in <${e.name}>`);
    checkElement(c, `${path}/${c.name}[${k}]`, problems);
  });
}

/** The JUnit shape's problems, plus counts that disagree with the testcases. */
export function junitProblems(root: XmlElement): string[] {
  const problems: string[] = [];
  if (root.name !== 'testsuites') problems.push(`root is <${root.name}>, not <testsuites>`);
  checkElement(root, root.name, problems);
  for (const suite of root.children.filter((c) => c.name === 'testsuite')) {
    const cases = suite.children.filter((c) => c.name === 'testcase');
    const count = (kind: string) =>
      cases.filter((c) => c.children.some((x) => x.name === kind)).length;
    const expect: [string, number][] = [
      ['tests', cases.length],
      ['failures', count('failure')],
      ['errors', count('error')],
      ['skipped', count('skipped')],
    ];
    for (const [attr, n] of expect) {
      const v = suite.attributes.get(attr);
      if (v !== undefined && Number(v) !== n)
        problems.push(`testsuite ${attr}="${v}" but ${n} testcases say so`);
    }
  }
  return problems;
}
