// The `blkif` command: parse, dispatch, and map every failure to one line and an exit code
// (style rule 11). A CliError, a malformed trace or a trace that does not fit the model is the
// user's: one line, its exit code. Anything else is ours: a stack trace and exit 4.
import { ReplayError } from '../traces/replay.ts';
import { TraceError } from '../traces/schema.ts';
import { type CliCommand, type CliIo, EXIT, type ExitCode } from './command.ts';
import { createCheckCommand } from './commands/check.ts';
import { conformCommand } from './commands/conform.ts';
import { diagramsCommand } from './commands/diagrams.ts';
import { createReplayCommand } from './commands/replay.ts';
import { renderCommand } from './commands/render.ts';
import { CliError } from './errors.ts';
import { commandHelp, parseArgs } from './options.ts';
import { DEFAULT_REGISTRY, type Registry } from './registry.ts';

export function createCommands(registry: Registry): readonly CliCommand[] {
  return [
    createCheckCommand(registry),
    createReplayCommand(registry),
    renderCommand,
    diagramsCommand,
    conformCommand,
  ];
}

function globalHelp(commands: readonly CliCommand[]): string {
  const lines = [
    'usage: blkif <command> [options]   (blkif <command> --help for its options)',
    '',
    'An executable model of the Xen blkif protocol: check properties, replay and render',
    'counterexample traces, draw the control-plane state diagrams.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(10)}${c.summary}`),
    '',
    'exit codes: 0 pass, 1 safety violation, 2 bad input, 3 liveness violation, 4 internal error',
  ];
  return `${lines.join('\n')}\n`;
}

/** One line for a user error; undefined for our own bugs. */
function userError(error: unknown): { message: string; exit: ExitCode } | undefined {
  if (error instanceof CliError) return { message: error.message, exit: error.exitCode };
  if (error instanceof TraceError)
    return { message: `invalid trace: ${error.message}`, exit: EXIT.badInput };
  if (error instanceof ReplayError)
    return {
      message: `the trace does not replay on this model: ${error.message}`,
      exit: EXIT.badInput,
    };
  return undefined;
}

export async function runCli(
  argv: readonly string[],
  io: CliIo,
  registry: Registry = DEFAULT_REGISTRY,
): Promise<ExitCode> {
  const commands = createCommands(registry);
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(globalHelp(commands));
    return EXIT.badInput;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(globalHelp(commands));
    return EXIT.pass;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(
      `blkif: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})\n`,
    );
    return EXIT.badInput;
  }
  try {
    const args = parseArgs(command, rest);
    if (args.help) {
      io.stdout(commandHelp(command));
      return EXIT.pass;
    }
    return await command.run({ positionals: args.positionals, options: args.options }, io);
  } catch (error) {
    const user = userError(error);
    if (user !== undefined) {
      io.stderr(`blkif ${command.name}: ${user.message.replaceAll('\n', ' ')}\n`);
      return user.exit;
    }
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr(
      `blkif ${command.name}: internal error (a bug in blkif-model, please report it)\n${stack}\n`,
    );
    return EXIT.internal;
  }
}
