// `blkif replay <trace.json>`: folds the trace's actions from its configuration with every
// invariant on and says whether the recorded violation happened again at the same step. The exit
// code is the replay's own outcome, as `check` would give it: 0 no violation (a fixed bug replays
// clean and says NOT reproduced), 1 safety, 3 liveness.
import { LIVENESS_CODES } from '../../properties/invariants/violation.ts';
import { describeReplay } from '../../traces/replay.ts';
import { type CliCommand, EXIT, type ExitCode } from '../command.ts';
import type { Registry } from '../registry.ts';
import { loadTrace, onePositional, replayLoaded } from './load-trace.ts';

export function createReplayCommand(registry: Registry): CliCommand {
  return {
    name: 'replay',
    summary: 'replay a trace and check that its violation happens again at the same step',
    usage: '<trace.json>',
    options: [],
    run({ positionals }, io): ExitCode {
      const file = onePositional(positionals, '<trace.json>');
      const trace = loadTrace(io, file);
      const result = replayLoaded(registry, trace);
      io.stdout(`${describeReplay(result)}\n`);
      io.stdout(
        `  ${trace.steps.length} steps, drivers ${trace.drivers}, property ${trace.property ?? '(none)'}\n`,
      );
      if (result.actual === undefined) return EXIT.pass;
      return LIVENESS_CODES.has(result.actual.code) ? EXIT.liveness : EXIT.safety;
    },
  };
}
