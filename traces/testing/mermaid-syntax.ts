// Test helper: checks a Mermaid sequenceDiagram against the rules of Mermaid's own grammar
// (sequenceDiagram.jison) for the statements our renderer writes, so a diagram that GitHub or
// mermaid.live would refuse fails a test here. Message and note text ends at `;`, `#` or a
// newline unless written as an entity (`#59;`), `end` closes only an open box/rect/loop/alt,
// participants inside a box are declared there, a note spans at most two participants, and
// every participant a message or note names is declared (we never rely on implicit ones).

const ID = '[A-Za-z_][A-Za-z0-9_]*';
const ARROW = '(?:-->>|->>|-->|->|--x|-x|--\\)|-\\))';
const COLOR =
  '(?:rgba?\\(\\s*\\d{1,3}\\s*,\\s*\\d{1,3}\\s*,\\s*\\d{1,3}\\s*(?:,\\s*[\\d.]+\\s*)?\\)|[a-z]+)';

const PATTERNS = {
  participant: new RegExp(`^participant (${ID})(?: as (.+))?$`),
  box: new RegExp(`^box(?: ${COLOR})?(?: (.+))?$`),
  rect: new RegExp(`^rect ${COLOR}$`),
  message: new RegExp(`^(${ID})${ARROW}[+-]?(${ID}): (.*)$`),
  note: new RegExp(`^Note (?:over|left of|right of) (${ID}(?:,${ID})?): (.*)$`),
  autonumber: /^autonumber$/,
  comment: /^%%/,
};

/** Mermaid's text token: anything but `;`, `#` and newline; `#name;` / `#123;` are entities. */
function textProblem(text: string): string | undefined {
  const bare = text.replace(/#(?:\d+|[A-Za-z]+);/g, '');
  if (/[;#]/.test(bare)) return 'a raw ; or # ends the statement (write #59; or #35;)';
  if (text.trim() === '') return 'empty text';
  return undefined;
}

interface State {
  readonly declared: Set<string>;
  readonly blocks: string[];
  readonly problems: string[];
}

function statement(line: string, n: number, st: State): void {
  const say = (p: string) => st.problems.push(`line ${n}: ${p}`);
  const use = (ids: readonly string[]) => {
    for (const id of ids) if (!st.declared.has(id)) say(`undeclared ${id}`);
  };
  const participant = PATTERNS.participant.exec(line);
  if (participant !== null) {
    if (st.declared.has(participant[1]!)) say(`${participant[1]} declared twice`);
    st.declared.add(participant[1]!);
    const label = participant[2];
    if (label !== undefined && /[;#]/.test(label.replace(/#\w+;/g, '')))
      say('participant label with ; or #');
    return;
  }
  if (PATTERNS.box.test(line)) {
    if (st.blocks.length > 0) say('a box inside another block');
    st.blocks.push('box');
    return;
  }
  if (PATTERNS.rect.test(line)) {
    st.blocks.push('rect');
    return;
  }
  if (line === 'end') {
    if (st.blocks.pop() === undefined) say('end without a block');
    return;
  }
  const message = PATTERNS.message.exec(line);
  const note = PATTERNS.note.exec(line);
  if (message === null && note === null) {
    say(`not a sequenceDiagram statement: ${line.slice(0, 60)}`);
    return;
  }
  if (st.blocks.includes('box')) say('message or note inside a box');
  use(message !== null ? [message[1]!, message[2]!] : note![1]!.split(','));
  const p = textProblem(message !== null ? message[3]! : note![2]!);
  if (p !== undefined) say(p);
}

export function mermaidSequenceProblems(source: string): string[] {
  const lines = source.split('\n');
  const st: State = { declared: new Set(), blocks: [], problems: [] };
  if (lines[0]?.trim() !== 'sequenceDiagram') st.problems.push('line 1: not "sequenceDiagram"');
  lines.slice(1).forEach((raw, k) => {
    const line = raw.trim();
    if (line === '' || PATTERNS.comment.test(line) || PATTERNS.autonumber.test(line)) return;
    statement(line, k + 2, st);
  });
  if (st.blocks.length > 0) st.problems.push(`${st.blocks.length} block(s) never closed`);
  return st.problems;
}
