// `npm run diagrams`: writes docs/diagrams/{frontend,backend}.{mmd,dot,svg} from the machines.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendMachine } from '../../model/backend-machine.ts';
import { frontendMachine } from '../../model/frontend-machine.ts';
import { diagramFiles } from './state-diagram.ts';

export const DIAGRAM_MACHINES = { frontend: frontendMachine, backend: backendMachine };
export const DIAGRAM_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'docs',
  'diagrams',
);

async function main(): Promise<void> {
  await mkdir(DIAGRAM_DIR, { recursive: true });
  for (const file of await diagramFiles(DIAGRAM_MACHINES)) {
    await writeFile(join(DIAGRAM_DIR, file.name), file.content);
    console.log(`wrote docs/diagrams/${file.name}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
