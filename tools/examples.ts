// docs/examples: each example is the trace its documented command writes, with every render of
// it beside it. `npx tsx tools/examples.ts` regenerates them; tools/examples.test.ts runs the same
// commands and fails when a committed file is not what they produce now (a change in the model,
// the shrinker's path or a renderer shows up there, and the example's command is proven to work).
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RENDERERS } from '../traces/render/index.ts';
import { parseTrace } from '../traces/schema.ts';
import { docIo, runDocCommand } from './docs-output.ts';

export const EXAMPLES_DIR = join(import.meta.dirname, '..', 'docs', 'examples');

export interface Example {
  /** The file name without extension: the .json and its renders. */
  readonly name: string;
  /** The command docs/examples/README.md gives for it; it writes `trace`. */
  readonly command: string;
  readonly trace: string;
}

export const EXAMPLES: readonly Example[] = [
  {
    name: 'lost-wakeup-frontend-skips-final-check',
    command:
      'npx blkif check --drivers frontend-skips-final-check --property lost-wakeup --seed 1 --runs 100',
    trace: '.blkif/failures/lost-wakeup-frontend-skips-final-check-1.json',
  },
];

/** Every file of the examples, as the commands and renderers make them now. */
export async function exampleFiles(): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const example of EXAMPLES) {
    const io = docIo();
    await runDocCommand(example.command, io);
    const json = io.files.get(example.trace);
    if (json === undefined) throw new Error(`${example.command} wrote no ${example.trace}`);
    out.push({ file: `${example.name}.json`, text: json });
    const trace = parseTrace(json);
    for (const renderer of Object.values(RENDERERS))
      out.push({ file: `${example.name}.${renderer.extension}`, text: renderer.render(trace) });
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await exampleFiles();
  const keep = new Set([...files.map((f) => f.file), 'README.md']);
  for (const stale of readdirSync(EXAMPLES_DIR).filter((f) => !keep.has(f))) {
    rmSync(join(EXAMPLES_DIR, stale));
    console.log(`removed docs/examples/${stale}`);
  }
  for (const { file, text } of files) {
    writeFileSync(join(EXAMPLES_DIR, file), text);
    console.log(`wrote docs/examples/${file}`);
  }
}
