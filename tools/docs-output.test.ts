import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHECKED_DOCS,
  codeBlocks,
  docIo,
  isCommandsOnly,
  quoteProblem,
  runDocCommand,
} from './docs-output.ts';

// Docs quote only output a test produces: every marked block is run and compared, and every
// other code block holds only commands (tools/docs-output.ts says how a block is marked).
const ROOT = join(import.meta.dirname, '..');

describe.each(CHECKED_DOCS)('%s', (doc) => {
  const blocks = codeBlocks(readFileSync(join(ROOT, doc), 'utf8'));

  it('every quoted output is what its command prints now', async () => {
    const io = docIo();
    const marked = blocks.filter((b) => b.command !== undefined);
    // docs/your-driver.md's blocks are run by tools/your-driver-doc.test.ts instead.
    expect(marked.length + blocks.filter((b) => b.script !== undefined).length).toBeGreaterThan(0);
    for (const block of marked) {
      const output = await runDocCommand(block.command!, io);
      // On a failure: paste the current output into the block (docs/examples: `npx tsx tools/examples.ts`).
      expect(quoteProblem(block.lines, block.command!, output), `${doc}:${block.line}`).toBe(
        undefined,
      );
    }
  });

  it('every other code block holds only commands', () => {
    const unmarked = blocks.filter(
      (b) => b.command === undefined && b.script === undefined && !isCommandsOnly(b),
    );
    expect(unmarked.map((b) => `${doc}:${b.line}: ${b.lines[0]}`)).toEqual([]);
  });
});

describe('the comparison', () => {
  const output = 'blkif check: seed 1\nFAIL x\n  x at step 4: ring 0\n  seed 1, path 0:1:2:3\n';
  const cmd = 'npx blkif check --seed 1';

  it('accepts an adjacent excerpt, the echoed command and … for cut text', () => {
    expect(quoteProblem(['FAIL x', '  x at step 4: ring 0'], cmd, output)).toBeUndefined();
    expect(quoteProblem([cmd, 'blkif check: seed 1'], cmd, output)).toBeUndefined();
    expect(quoteProblem(['  seed 1, path 0:…:3'], cmd, output)).toBeUndefined();
  });

  it('teeth: a stale step, a gap or a wrong cut is refused', () => {
    expect(quoteProblem(['  x at step 28: ring 0'], cmd, output)).toMatch(/^not in the output/);
    expect(quoteProblem(['FAIL x', '  seed 1, path 0:1:2:3'], cmd, output)).toBeDefined();
    expect(quoteProblem(['  seed 1, path 9:…:3'], cmd, output)).toBeDefined();
    expect(quoteProblem([cmd], cmd, output)).toBe('the block quotes no output');
  });

  it('teeth: output quoted without a marker is found, commands alone are not', () => {
    const md = [
      'Run it:',
      '',
      '```',
      'npx blkif check   # the suite',
      '```',
      '',
      '    FAIL lost-wakeup',
      '      lost-wakeup at step 28: ring 0',
      '',
      '<!-- output of: npx blkif list -->',
      '```',
      'properties:',
      '```',
      '<!-- your-driver: run exit=1 -->',
      '```',
      '$ npx blkif check --drivers ./mine.ts',
      '```',
      'Then:',
      '```',
      '$ npx blkif check --drivers ./mine.ts',
      '```',
    ].join('\n');
    const blocks = codeBlocks(md);
    expect(blocks.map((b) => [b.line, isCommandsOnly(b), b.command, b.script])).toEqual([
      [3, true, undefined, undefined],
      [7, false, undefined, undefined],
      [11, false, 'npx blkif list', undefined],
      [15, false, undefined, 'run exit=1'],
      [19, false, undefined, undefined],
    ]);
  });
});
