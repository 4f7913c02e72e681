// Where the recorded real traffic lives: fixtures/conformance/<set>/<scenario>/ inside the
// repository (fixtures/conformance/README.md says where each came from). The tests read them from
// here, so every clone runs them; none is optional.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const FIXTURES_ROOT = resolve(import.meta.dirname, '../../fixtures/conformance');

/** One recorded run: its folder holds xs-trace.log (xenstored -T) and the logs beside it. */
export interface RecordedScenario {
  /** `<set>/<scenario>`, e.g. `xen-4.17-linux-6.1/scenario-1`. */
  readonly name: string;
  readonly dir: string;
  readonly trace: string;
}

/** Every committed recording, in name order. */
export function recordedScenarios(root: string = FIXTURES_ROOT): RecordedScenario[] {
  const found: RecordedScenario[] = [];
  for (const set of readdirSync(root, { withFileTypes: true })) {
    if (!set.isDirectory()) continue;
    for (const scenario of readdirSync(join(root, set.name), { withFileTypes: true })) {
      const dir = join(root, set.name, scenario.name);
      const trace = join(dir, 'xs-trace.log');
      if (scenario.isDirectory() && existsSync(trace)) {
        found.push({ name: relative(root, dir), dir, trace });
      }
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

export const SCENARIO_1_TRACE = join(FIXTURES_ROOT, 'xen-4.17-linux-6.1/scenario-1/xs-trace.log');

/** The first recording (create, save onto fewer queues, restore, attach, detach, destroy). */
export function readScenario1(): string {
  return readFileSync(SCENARIO_1_TRACE, 'utf8');
}
