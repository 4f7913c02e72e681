// The shape of one `blkif` subcommand. run-cli.ts parses argv into the options a command's table
// declares, calls run(), and maps a CliError to one line and an exit code.
import type { JobStarter } from './check/jobs.ts';

/** What a path is, for the checks of cli/paths.ts (a path under a file or missing: `missing`). */
export type PathKind = 'missing' | 'file' | 'dir' | 'special';

export interface PathStat {
  readonly kind: PathKind;
  /** Bytes, for files. */
  readonly size: number;
}

/** SIGINT/SIGTERM while a campaign runs: the first asks it to stop, a second exits at once. */
export interface Interrupts {
  /** Whether a stop was asked for (polled before each run). */
  requested(): boolean;
  /** A promise when the event loop is due a turn (so a signal handler can run), else undefined. */
  pause(): Promise<void> | undefined;
  release(): void;
}

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr, where the progress line goes, is an interactive terminal. */
  readonly stderrIsTty: boolean;
  /** Whether stdout may carry colour: a terminal, and NO_COLOR not set (cli/colour.ts). */
  readonly colour: boolean;
  readFile(path: string): string;
  /** Whole or not at all (a temporary file renamed into place); a failure is a CliError. */
  writeFile(path: string, text: string): void;
  /** `mkdir -p`; a failure is a CliError. */
  mkdir(path: string): void;
  exists(path: string): boolean;
  stat(path: string): PathStat;
  /** Why no file can be created in the existing directory `dir`, or undefined when one can. */
  createProblem(dir: string): string | undefined;
  now(): number;
  /**
   * Whether this process is short of memory (its heap near its limit, or the machine's memory
   * near full): explore then ends incomplete instead of dying in the allocator. Absent: never.
   */
  readonly memoryFull?: () => boolean;
  trapInterrupts(): Interrupts;
  /** Job runners for `check --jobs` (absent: every campaign runs in one job). */
  readonly jobs?: JobStarter;
}

/**
 * Exit codes (style rule 11): 0 pass, 1 safety violation, 2 bad input, 3 liveness, 4 internal,
 * 5 incomplete (explore's state, time or memory limit ended the search before its bounds were covered);
 * 130 interrupted (128 + SIGINT, as a shell reports it).
 */
export const EXIT = {
  pass: 0,
  safety: 1,
  badInput: 2,
  liveness: 3,
  internal: 4,
  incomplete: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface OptionSpec {
  readonly name: string;
  readonly kind: 'string' | 'number' | 'boolean';
  readonly summary: string;
  /** Given more than once, the values are joined with commas (default: an error). */
  readonly repeatable?: boolean;
  /** The value's name in --help, e.g. `dir` for `--out <dir>` (default: the kind). */
  readonly placeholder?: string;
}

export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  /** Usage line after `blkif <name>`, e.g. `<trace.json> [--format mermaid|html|text|shiviz]`. */
  readonly usage: string;
  readonly options: readonly OptionSpec[];
  /** Lines after the option table in --help (the names a value may take). */
  readonly helpDetails?: () => readonly string[];
  run(
    args: {
      positionals: readonly string[];
      options: Readonly<Record<string, string | number | boolean>>;
    },
    io: CliIo,
  ): Promise<ExitCode> | ExitCode;
}
