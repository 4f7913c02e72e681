// Docs that cannot drift: a command's output quoted in README.md, docs/guide.md, docs/cli.md or
// docs/examples/README.md is marked with the command that prints it,
//
//     <!-- output of: npx blkif check --drivers frontend-skips-final-check --seed 42 -->
//
// followed by a code block (fenced, or indented four spaces). tools/docs-output.test.ts runs each
// marked command in process, in order, one in-memory file system per document (a replay finds the
// trace the check before it wrote), and requires the block's lines to appear in the output, in
// order and adjacent. A block may start with the command itself (as typed), and `…` inside a line
// stands for text cut for width (a long fast-check path, a time that differs on every run).
// docs/your-driver.md is a script instead: its blocks are marked `<!-- your-driver: ... -->`
// and tools/your-driver-doc.test.ts writes and runs them, comparing every output.
// Every other code block in those documents must hold only commands.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REGISTRY } from '../cli/registry.ts';
import { runCli } from '../cli/run-cli.ts';
import { type FakeIo, fakeIo } from '../cli/testing/fake-io.ts';

export const CHECKED_DOCS = [
  'README.md',
  'docs/guide.md',
  'docs/cli.md',
  'docs/examples/README.md',
  'docs/your-driver.md',
] as const;

const MARKER = /^<!-- output of: (npx blkif .+?) -->$/;
/** A block tools/your-driver-doc.test.ts writes (file, append) or runs and compares (run). */
export const YOUR_DRIVER_MARKER = /^<!-- your-driver: (file|append|run) (\S+) -->$/;

export interface CodeBlock {
  /** 1-based line of the block's first line in the document. */
  readonly line: number;
  readonly lines: readonly string[];
  /** The command of the `output of:` marker just before it, if any. */
  readonly command: string | undefined;
  /** The `your-driver:` marker just before it (its step), if any. */
  readonly script?: string;
}

/** Fenced and four-space-indented code blocks, each with the marker that precedes it. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const out: CodeBlock[] = [];
  let marker: string | undefined;
  let script: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = MARKER.exec(line.trim());
    if (m !== null) {
      marker = m[1];
      continue;
    }
    const y = YOUR_DRIVER_MARKER.exec(line.trim());
    if (y !== null) {
      script = `${y[1]} ${y[2]}`;
      continue;
    }
    const start = i;
    const block: string[] = [];
    if (line.startsWith('```')) {
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) block.push(lines[i]!);
    } else if (
      line.startsWith('    ') &&
      ((lines[i - 1] ?? '').trim() === '' || marker !== undefined)
    ) {
      for (; i < lines.length && (lines[i]!.startsWith('    ') || lines[i] === ''); i++)
        block.push(lines[i]!.slice(4));
      while (block.at(-1) === '') block.pop();
      i--;
    } else {
      if (line.trim() !== '') [marker, script] = [undefined, undefined];
      continue;
    }
    out.push({ line: start + 1, lines: block, command: marker, ...(script && { script }) });
    [marker, script] = [undefined, undefined];
  }
  return out;
}

/** A line of a commands-only block: a shell command we document, a comment, or nothing. */
const COMMAND_LINE =
  /^(\s*$|\s*#|npm |npx |xenstore-control |apt-get |git |cd |sudo |XENSTORED_TRACE=)/;

export function isCommandsOnly(block: CodeBlock): boolean {
  return block.lines.every((l) => COMMAND_LINE.test(l));
}

/** "npx blkif check --seed 42" -> ["check", "--seed", "42"]: the docs quote no shell quoting. */
export function argvOf(command: string): string[] {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'npx' || words[1] !== 'blkif')
    throw new Error(`not a blkif command: ${command}`);
  return words.slice(2);
}

/** Runs `command` in process on `io` (the real registry) and returns what it printed on stdout. */
export async function runDocCommand(command: string, io: FakeIo): Promise<string> {
  const before = io.out.length;
  await runCli(argvOf(command), io, DEFAULT_REGISTRY);
  return io.out.slice(before).join('');
}

function lineMatches(quoted: string, actual: string): boolean {
  if (!quoted.includes('…')) return quoted === actual;
  const parts = quoted.split('…').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(actual);
}

/**
 * Whether `quoted` (less a first line that repeats the command) appears in `output` as adjacent
 * lines, `…` matching any text within a line. Returns a problem, or undefined.
 */
export function quoteProblem(
  quoted: readonly string[],
  command: string,
  output: string,
): string | undefined {
  const want = quoted[0]?.trim() === command ? quoted.slice(1) : quoted;
  if (want.length === 0) return 'the block quotes no output';
  const got = output.replace(/\n$/, '').split('\n');
  for (let at = 0; at + want.length <= got.length; at++) {
    if (want.every((q, k) => lineMatches(q, got[at + k]!))) return undefined;
  }
  return `not in the output of ${command}:\n${output}`;
}

/** The in-memory file system one document's commands share, holding the committed examples. */
export function docIo(): FakeIo {
  const dir = join(import.meta.dirname, '..', 'docs', 'examples');
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.json')))
    files[`docs/examples/${f}`] = readFileSync(join(dir, f), 'utf8');
  return fakeIo(files);
}
