import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES_DIR, exampleRenders } from './write-examples.ts';

// The committed renders are the renderers' snapshots: regenerate them with
// `npx tsx traces/render/write-examples.ts` when a renderer changes on purpose.
describe('docs/examples renders', () => {
  it('every committed render equals the current renderer output', () => {
    const renders = exampleRenders();
    expect(renders.length).toBeGreaterThanOrEqual(4);
    for (const { file, text } of renders) {
      expect(readFileSync(join(EXAMPLES_DIR, file), 'utf8'), file).toBe(text);
    }
  });
});
