// `blkif render <trace.json> --format mermaid|html|text|shiviz [--out file]`: one renderer of
// traces/render, to stdout or a file.
import { isRenderFormat, RENDER_FORMATS, RENDERERS } from '../../traces/render/index.ts';
import { type CliCommand, EXIT, type ExitCode } from '../command.ts';
import { badValue } from '../errors.ts';
import { stringOption } from '../options.ts';
import { checkOutputs } from '../paths.ts';
import type { Registry } from '../registry.ts';
import {
  DRIVERS_FILE_OPTION,
  loadTrace,
  onePositional,
  registryFor,
  replayLoaded,
} from './load-trace.ts';
import { describeReplay } from '../../traces/replay.ts';

export function createRenderCommand(registry: Registry): CliCommand {
  return {
    name: 'render',
    summary: 'draw a trace: Mermaid sequence diagram, HTML page, plain text or ShiViz log',
    usage: `<trace.json> [--format ${RENDER_FORMATS.join('|')}] [--out <file>] ...`,
    options: [
      {
        name: 'format',
        kind: 'string',
        placeholder: RENDER_FORMATS.join('|'),
        summary: 'output format (default text)',
      },
      {
        name: 'out',
        kind: 'string',
        placeholder: 'file',
        summary: 'write to this file instead of stdout',
      },
      DRIVERS_FILE_OPTION,
    ],
    async run({ positionals, options }, io): Promise<ExitCode> {
      const file = onePositional(positionals, '<trace.json>');
      const format = stringOption(options, 'format') ?? 'text';
      if (!isRenderFormat(format))
        throw badValue(
          'format',
          `unknown format "${format}" (formats: ${RENDER_FORMATS.join(', ')})`,
        );
      const out = stringOption(options, 'out');
      checkOutputs(io, [{ option: 'out', path: out, kind: 'file' }]);
      // Drawn from the replay: a trace the model cannot run is refused as replay refuses it, and
      // every observation drawn is the model's own, never text taken from the file.
      const trace = loadTrace(io, file);
      const withVariant = await registryFor(registry, trace, stringOption(options, 'drivers'), io);
      const replay = replayLoaded(withVariant, trace);
      if (!replay.reproduced) io.stderr(`note: ${describeReplay(replay)}; drawing the replay\n`);
      const text = RENDERERS[format].render(replay.trace);
      if (out === undefined) {
        io.stdout(text);
      } else {
        io.writeFile(out, text);
        io.stderr(`wrote ${out}\n`);
      }
      return EXIT.pass;
    },
  };
}
