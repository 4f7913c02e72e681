// `blkif replay <trace.json>`: folds the trace's actions from its configuration with every
// invariant on and says whether the recorded violation happened again at the same step. The exit
// code is the replay's own outcome, as `check` would give it: 0 no violation (a fixed bug replays
// clean and says NOT reproduced), 1 safety, 3 liveness. A trace of a user's variant names its
// file: replay loads it again (or the file given with --drivers), warns when its content changed
// since the trace was made, and refuses when it is missing.
import { LIVENESS_CODES } from '../../properties/invariants/violation.ts';
import { describeReplay } from '../../traces/replay.ts';
import { type CliCommand, EXIT, type ExitCode } from '../command.ts';
import { stringOption } from '../options.ts';
import type { Registry } from '../registry.ts';
import {
  DRIVERS_FILE_OPTION,
  loadTrace,
  onePositional,
  registryFor,
  replayLoaded,
} from './load-trace.ts';

export function createReplayCommand(registry: Registry): CliCommand {
  return {
    name: 'replay',
    summary: 'replay a trace and check that its violation happens again at the same step',
    usage: '<trace.json> [--drivers <file>]',
    options: [DRIVERS_FILE_OPTION],
    async run({ positionals, options }, io): Promise<ExitCode> {
      const file = onePositional(positionals, '<trace.json>');
      const trace = loadTrace(io, file);
      const withVariant = await registryFor(registry, trace, stringOption(options, 'drivers'), io);
      const result = replayLoaded(withVariant, trace);
      io.stdout(`${describeReplay(result)}\n`);
      io.stdout(
        `  ${trace.steps.length} steps, drivers ${trace.drivers}, property ${trace.property ?? '(none)'}\n`,
      );
      if (result.actual === undefined) return EXIT.pass;
      return LIVENESS_CODES.has(result.actual.code) ? EXIT.liveness : EXIT.safety;
    },
  };
}
