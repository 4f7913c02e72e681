import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, EXAMPLES_DIR, exampleFiles } from './examples.ts';

// The committed examples are what their documented commands produce now, traces and renders
// alike: regenerate with `npx tsx tools/examples.ts` when the model or a renderer changes.
describe('docs/examples', () => {
  it("every committed file is what the example's command and the renderers produce now", async () => {
    const files = await exampleFiles();
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const { file, text } of files)
      expect(readFileSync(join(EXAMPLES_DIR, file), 'utf8'), file).toBe(text);
    const committed = readdirSync(EXAMPLES_DIR).filter((f) => f !== 'README.md');
    expect(committed.sort()).toEqual(files.map((f) => f.file).sort());
  });

  it('the README gives each example its command', () => {
    const readme = readFileSync(join(EXAMPLES_DIR, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    for (const example of EXAMPLES) {
      expect(readme).toContain(`\`${example.name}\``);
      expect(readme).toContain(`\`${example.command}\``);
    }
  });
});
