// `blkif render <trace.json> --format mermaid|html|svg|text|shiviz [--out file]`: one renderer of
// traces/render, to stdout or a file; `--format all --out <dir>` writes every one into a folder.
import { isRenderFormat, RENDER_FORMATS, RENDERERS } from '../../traces/render/index.ts';
import type { Trace } from '../../traces/schema.ts';
import { type CliCommand, type CliIo, EXIT, type ExitCode } from '../command.ts';
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
    summary: 'draw a trace: Mermaid sequence diagram, HTML page, SVG, plain text or ShiViz log',
    usage: `<trace.json> [--format ${RENDER_FORMATS.join('|')}|all] [--out <file|dir>] ...`,
    options: [
      {
        name: 'format',
        kind: 'string',
        placeholder: `${RENDER_FORMATS.join('|')}|all`,
        summary: 'output format (default text); all: every format into the --out folder',
      },
      {
        name: 'out',
        kind: 'string',
        placeholder: 'file|dir',
        summary: 'write to this file instead of stdout (with --format all: this folder)',
      },
      DRIVERS_FILE_OPTION,
    ],
    async run({ positionals, options }, io): Promise<ExitCode> {
      const file = onePositional(positionals, '<trace.json>');
      const format = stringOption(options, 'format') ?? 'text';
      if (format !== 'all' && !isRenderFormat(format))
        throw badValue(
          'format',
          `unknown format "${format}" (formats: ${RENDER_FORMATS.join(', ')}, all)`,
        );
      const out = stringOption(options, 'out');
      if (format === 'all' && out === undefined)
        throw badValue('out', '--format all writes files: give the folder with --out <dir>');
      checkOutputs(io, [{ option: 'out', path: out, kind: format === 'all' ? 'dir' : 'file' }]);
      // Drawn from the replay: a trace the model cannot run is refused as replay refuses it, and
      // every observation drawn is the model's own, never text taken from the file.
      const trace = loadTrace(io, file);
      const withVariant = await registryFor(registry, trace, stringOption(options, 'drivers'), io);
      const replay = replayLoaded(withVariant, trace);
      if (!replay.reproduced) io.stderr(`note: ${describeReplay(replay)}; drawing the replay\n`);
      if (format === 'all') {
        writeAll(io, replay.trace, file, out!);
        return EXIT.pass;
      }
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

/** Every format into `dir`, each named after the trace file: lost-wakeup-x-42.html, .mmd, ... */
function writeAll(io: CliIo, trace: Trace, file: string, dir: string): void {
  const base = (file.split('/').pop() ?? file).replace(/\.json$/i, '') || 'trace';
  // Everything is rendered before the first file is written: a renderer that throws leaves none.
  const files = RENDER_FORMATS.map((f) => ({
    path: `${dir.replace(/\/+$/, '')}/${base}.${RENDERERS[f].extension}`,
    text: RENDERERS[f].render(trace),
  }));
  io.mkdir(dir);
  for (const { path, text } of files) {
    io.writeFile(path, text);
    io.stderr(`wrote ${path}\n`);
  }
}
