// The `blkif` command: parse, dispatch, and map every failure to one line and an exit code
// (style rule 11). A CliError, a malformed trace or a trace that does not fit the model is the
// user's: one line, its exit code. Anything else is ours: a stack trace and exit 4.
// Start-up is part of the product (`blkif --help` well under half a second): this module loads
// only the command table; a command's module, and the model behind it, is imported when it runs.
import { type CliCommand, type CliIo, EXIT, type ExitCode } from './command.ts';
import { CliError, oneLine } from './errors.ts';
import { commandHelp, parseArgs } from './options.ts';
import type { Registry } from './registry.ts';
import { BLKIF_VERSION } from './version.ts';

/** A command as the table knows it before it is loaded: its name, its summary, how to load it. */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(registry: Registry): Promise<CliCommand>;
}

// The summaries are the loaded commands' own (run-cli.test.ts checks that they agree).
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'check',
    summary: 'run properties; print a summary table and write a trace for each failure',
    load: async (registry) => (await import('./commands/check.ts')).createCheckCommand(registry),
  },
  {
    name: 'explore',
    summary:
      'explore all interleavings of a small configuration: a proof within bounds, or a shortest failure',
    load: async (registry) =>
      (await import('./commands/explore.ts')).createExploreCommand(registry),
  },
  {
    name: 'replay',
    summary: 'replay a trace and check that its violation happens again at the same step',
    load: async (registry) => (await import('./commands/replay.ts')).createReplayCommand(registry),
  },
  {
    name: 'render',
    summary: 'draw a trace: Mermaid sequence diagram, HTML page, SVG, plain text or ShiViz log',
    load: async (registry) => (await import('./commands/render.ts')).createRenderCommand(registry),
  },
  {
    name: 'diagrams',
    summary: 'write the state diagrams of both machines (Mermaid, DOT, SVG), with edge coverage',
    load: async () => (await import('./commands/diagrams.ts')).diagramsCommand,
  },
  {
    name: 'list',
    summary: 'list the properties, driver variants, render formats and strategies by name',
    load: async (registry) => (await import('./commands/list.ts')).createListCommand(registry),
  },
  {
    name: 'conform',
    summary: 'check a real xenstored trace (xenstored -T) of blkif traffic against the model',
    load: async () => (await import('./commands/conform.ts')).conformCommand,
  },
  {
    name: 'capture',
    summary: 'record the real drivers under Xen 4.17 in QEMU for a scenario, then conform it',
    load: async () => (await import('./commands/capture.ts')).captureCommand,
  },
];

async function defaultRegistry(): Promise<Registry> {
  return (await import('./registry.ts')).DEFAULT_REGISTRY;
}

function globalHelp(commands: readonly CommandEntry[]): string {
  const lines = [
    'usage: blkif <command> [options]   (blkif help <command> for its options)',
    '',
    'An executable model of the Xen blkif protocol: check properties, replay and render',
    'counterexample traces, draw the control-plane state diagrams.',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(10)}${c.summary}`),
    '',
    'blkif list names every property, driver variant, render format and strategy.',
    'exit codes: 0 pass, 1 safety violation, 2 bad input, 3 liveness violation, 4 internal error,',
    '5 incomplete (explore), 130 interrupted',
    '',
    `blkif-model ${BLKIF_VERSION} (blkif --version)`,
  ];
  return `${lines.join('\n')}\n`;
}

/** One line for a user error; undefined for our own bugs. The trace modules are loaded only
 * now: by the time a command throws, its own imports have loaded them anyway. */
async function userError(error: unknown): Promise<{ message: string; exit: ExitCode } | undefined> {
  if (error instanceof CliError) return { message: error.message, exit: error.exitCode };
  const { TraceError } = await import('../traces/schema.ts');
  const { ReplayError } = await import('../traces/replay.ts');
  if (error instanceof TraceError)
    return { message: `invalid trace: ${error.message}`, exit: EXIT.badInput };
  if (error instanceof ReplayError)
    return {
      message: `the trace does not replay on this model: ${error.message}`,
      exit: EXIT.badInput,
    };
  return undefined;
}

/** Runs one `blkif` command line; `registry` defaults to the real properties and variants. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  registry?: Registry,
): Promise<ExitCode> {
  const commands = COMMANDS;
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(globalHelp(commands));
    return EXIT.badInput;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`blkif-model ${BLKIF_VERSION}\n`);
    return EXIT.pass;
  }
  // `blkif help check` is `blkif check --help`; `blkif help` alone, the global help.
  const helpOf = name === 'help' ? rest[0] : undefined;
  if (name === '--help' || name === '-h' || (name === 'help' && helpOf === undefined)) {
    io.stdout(globalHelp(commands));
    return EXIT.pass;
  }
  const wanted = helpOf ?? name;
  const entry = commands.find((c) => c.name === wanted);
  if (entry === undefined) {
    io.stderr(
      `blkif: unknown command "${oneLine(wanted)}" (commands: ${commands.map((c) => c.name).join(', ')})
`,
    );
    return EXIT.badInput;
  }
  const command = await entry.load(registry ?? (await defaultRegistry()));
  if (helpOf !== undefined) {
    io.stdout(commandHelp(command));
    return EXIT.pass;
  }
  try {
    const args = parseArgs(command, rest);
    if (args.help) {
      io.stdout(commandHelp(command));
      return EXIT.pass;
    }
    return await command.run({ positionals: args.positionals, options: args.options }, io);
  } catch (error) {
    const user = await userError(error);
    if (user !== undefined) {
      io.stderr(`blkif ${command.name}: ${oneLine(user.message)}\n`);
      return user.exit;
    }
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr(
      `blkif ${command.name}: internal error (a bug in blkif-model, please report it)\n${stack}\n`,
    );
    return EXIT.internal;
  }
}
