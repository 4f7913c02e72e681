// `npx tsx traces/render/write-examples.ts`: re-renders every trace committed under docs/examples
// in every format, beside its .json (examples.test.ts fails when a committed render is stale).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrace } from '../schema.ts';
import { RENDERERS } from './index.ts';

export const EXAMPLES_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'docs',
  'examples',
);

/** Every (json file, output file, rendered text) of the committed examples. */
export function exampleRenders(): { json: string; file: string; text: string }[] {
  const out: { json: string; file: string; text: string }[] = [];
  for (const json of readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const trace = parseTrace(readFileSync(join(EXAMPLES_DIR, json), 'utf8'));
    for (const renderer of Object.values(RENDERERS)) {
      out.push({
        json,
        file: json.replace(/\.json$/, `.${renderer.extension}`),
        text: renderer.render(trace),
      });
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { file, text } of exampleRenders()) {
    writeFileSync(join(EXAMPLES_DIR, file), text);
    console.log(`wrote docs/examples/${file}`);
  }
}
