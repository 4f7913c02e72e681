// Where the recorded traces live: /work/shared beside the repository, which a checkout elsewhere
// may not have. Tests that need them skip with this message instead of failing.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const SCENARIO_1_TRACE = resolve(
  import.meta.dirname,
  '../../../shared/conformance/xen-4.17-linux-6.1/scenario-1/xs-trace.log',
);

export const SCENARIO_1_PRESENT = existsSync(SCENARIO_1_TRACE);

export const SCENARIO_1_SKIP_NOTE = SCENARIO_1_PRESENT
  ? 'scenario-1 (Xen 4.17 + Linux 6.1)'
  : `scenario-1 SKIPPED: ${SCENARIO_1_TRACE} is absent (shared/ is not beside this checkout)`;

export function readScenario1(): string {
  return readFileSync(SCENARIO_1_TRACE, 'utf8');
}
