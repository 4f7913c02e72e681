// `blkif capture <scenario>`: record the real drivers' xenstore traffic for a scenario under real
// Xen 4.17 booted in QEMU (traces/capture/), then check it with `blkif conform`. The scenario is
// a file or the name of one in capture/scenarios/. --dry-run prints what would boot (dom0's
// script and the guest's xl configuration) without fetching or booting anything.
// Exit: conform's (0 all sessions conform, 1 a divergence); 2 for bad input and for a capture
// that could not complete (QEMU or a package missing, a step that failed or overran its limit).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { CaptureError, type CaptureResult, capture } from '../../traces/capture/capture.ts';
import { PackageError } from '../../traces/capture/debian.ts';
import { parseScenario, type Scenario, ScenarioError } from '../../traces/capture/scenario.ts';
import { dom0Init, DOM0_MODULES, guestConfig, guestInit } from '../../traces/capture/scripts.ts';
import { conformTrace } from '../../traces/conformance/conform.ts';
import { type CliCommand, type CliIo, EXIT, type ExitCode } from '../command.ts';
import { formatVerdict } from './conform.ts';

/** capture/scenarios at the package root, from the sources (cli/commands) or the build (dist/…). */
function scenarioDir(): string {
  let dir = import.meta.dirname;
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, 'capture', 'scenarios');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return resolve(import.meta.dirname, '../../capture/scenarios');
}

export const SCENARIO_DIR = scenarioDir();

function badInput(io: CliIo, message: string): ExitCode {
  io.stderr(`blkif capture: ${message}\n`);
  return EXIT.badInput;
}

export function scenarioNames(): string[] {
  if (!existsSync(SCENARIO_DIR)) return [];
  return readdirSync(SCENARIO_DIR)
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
}

/** A path to a scenario file, or the name of one in capture/scenarios/. */
function scenarioFile(io: CliIo, arg: string): string | undefined {
  if (io.exists(arg)) return arg;
  const named = join(SCENARIO_DIR, `${arg}.json`);
  return io.exists(named) ? named : undefined;
}

function cacheDir(option: string | undefined): string {
  if (option !== undefined) return resolve(option);
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'blkif-capture');
}

function dryRun(io: CliIo, scenario: Scenario): ExitCode {
  io.stdout(`# ${scenario.name}: ${scenario.description}\n`);
  io.stdout(`# /etc/blkif/guest.cfg\n${guestConfig(scenario)}\n`);
  io.stdout(`# the guest's /init\n${guestInit(scenario)}\n`);
  const modules = DOM0_MODULES.map((name) => name.replace(/-/g, '_'));
  io.stdout(`# dom0's /init (modules before their dependencies are resolved)\n`);
  io.stdout(dom0Init(scenario, modules));
  return EXIT.pass;
}

function stringOption(options: Readonly<Record<string, string | number | boolean>>, name: string) {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ScenarioError(`--${name} needs a path`);
  return value;
}

export const captureCommand: CliCommand = {
  name: 'capture',
  summary: 'record the real drivers under Xen 4.17 in QEMU for a scenario, then conform it',
  usage:
    '<scenario.json|name> [--out <dir>] [--guest-kernel <vmlinuz> --guest-modules <dir>] ' +
    '[--backend-kernel <vmlinuz> --backend-modules <dir>] [--dry-run]',
  options: [
    {
      name: 'out',
      kind: 'string',
      summary: 'folder for the trace and logs (default .blkif/captures/<scenario>)',
      placeholder: 'dir',
    },
    {
      name: 'cache',
      kind: 'string',
      summary: 'where the Debian packages are kept (default ~/.cache/blkif-capture)',
      placeholder: 'dir',
    },
    {
      name: 'guest-kernel',
      kind: 'string',
      summary: "the guest's kernel instead of Debian's (a patched blkfront)",
      placeholder: 'vmlinuz',
    },
    {
      name: 'guest-modules',
      kind: 'string',
      summary: "a folder holding that kernel's xen-blkfront.ko",
      placeholder: 'dir',
    },
    {
      name: 'backend-kernel',
      kind: 'string',
      summary: "dom0's kernel instead of Debian's (a patched blkback)",
      placeholder: 'vmlinuz',
    },
    {
      name: 'backend-modules',
      kind: 'string',
      summary: "a folder holding that kernel's xen-blkback.ko and dom0's other modules",
      placeholder: 'dir',
    },
    {
      name: 'phase-timeout',
      kind: 'number',
      summary: 'seconds each boot phase may take (default 240)',
      placeholder: 's',
    },
    {
      name: 'dry-run',
      kind: 'boolean',
      summary: 'print the guest config and both /init scripts; boot nothing',
    },
  ],
  async run({ positionals, options }, io) {
    const [arg, ...extra] = positionals;
    if (arg === undefined) {
      return badInput(io, `missing <scenario> (a file, or one of: ${scenarioNames().join(', ')})`);
    }
    if (extra.length > 0) return badInput(io, `unexpected argument ${JSON.stringify(extra[0])}`);
    const file = scenarioFile(io, arg);
    if (file === undefined) {
      return badInput(io, `no scenario ${arg} (a file, or one of: ${scenarioNames().join(', ')})`);
    }
    let scenario: Scenario;
    try {
      scenario = parseScenario(io.readFile(file), basename(file).replace(/\.json$/, ''));
      return options['dry-run'] === true
        ? dryRun(io, scenario)
        : await record(io, scenario, options);
    } catch (error) {
      if (error instanceof ScenarioError) return badInput(io, `${file}: ${error.message}`);
      if (error instanceof CaptureError || error instanceof PackageError)
        return badInput(io, error.message);
      throw error;
    }
  },
};

function pairs(options: Readonly<Record<string, string | number | boolean>>) {
  const kernel = stringOption(options, 'guest-kernel');
  const modules = stringOption(options, 'guest-modules');
  const backendKernel = stringOption(options, 'backend-kernel');
  const backendModules = stringOption(options, 'backend-modules');
  if ((kernel === undefined) !== (modules === undefined)) {
    throw new CaptureError(
      '--guest-kernel and --guest-modules go together (the module must match the kernel)',
    );
  }
  if ((backendKernel === undefined) !== (backendModules === undefined)) {
    throw new CaptureError('--backend-kernel and --backend-modules go together');
  }
  return {
    ...(kernel === undefined ? {} : { guestKernel: resolve(kernel) }),
    ...(modules === undefined ? {} : { guestModules: resolve(modules) }),
    ...(backendKernel === undefined ? {} : { backendKernel: resolve(backendKernel) }),
    ...(backendModules === undefined ? {} : { backendModules: resolve(backendModules) }),
  };
}

/** A folder as the user named it: relative to the working directory when it lies inside. */
function shown(dir: string): string {
  const inside = relative(process.cwd(), dir);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : dir;
}

/**
 * The terminal's lines of a capture (progress, then the verdicts), also kept in <out>/capture.log
 * so a committed recording carries the output it was made with.
 */
class CaptureLog {
  readonly lines: string[] = [];
  constructor(
    private readonly io: CliIo,
    private readonly outDir: string,
  ) {}
  progress(line: string): void {
    this.lines.push(line);
    this.io.stderr(`${line}\n`);
  }
  result(line: string): void {
    this.lines.push(line);
    this.io.stdout(`${line}\n`);
  }
  save(): void {
    if (this.io.exists(this.outDir)) {
      this.io.writeFile(join(this.outDir, 'capture.log'), `${this.lines.join('\n')}\n`);
    }
  }
}

async function record(
  io: CliIo,
  scenario: Scenario,
  options: Readonly<Record<string, string | number | boolean>>,
): Promise<ExitCode> {
  const outDir = resolve(stringOption(options, 'out') ?? join('.blkif', 'captures', scenario.name));
  const phase = options['phase-timeout'];
  const started = io.now();
  const log = new CaptureLog(io, outDir);
  const say = (line: string) => {
    const seconds = ((io.now() - started) / 1000).toFixed(0).padStart(4);
    log.progress(`[${seconds} s] ${line}`);
  };
  const result = await capture({
    scenario,
    outDir,
    cacheDir: cacheDir(stringOption(options, 'cache')),
    phaseTimeout: typeof phase === 'number' && phase > 0 ? phase : 240,
    say,
    ...pairs(options),
  });
  say(`trace and logs in ${shown(outDir)}; checking the trace against the model`);
  try {
    return report(io, log, result);
  } finally {
    log.save();
  }
}

function report(io: CliIo, log: CaptureLog, result: CaptureResult): ExitCode {
  const checked = conformTrace(readFileSync(result.trace, 'utf8'), {});
  if (!checked.ok) {
    log.lines.push(`${result.trace}:${checked.error.line}: ${checked.error.message}`);
    return badInput(io, `${result.trace}:${checked.error.line}: ${checked.error.message}`);
  }
  for (const verdict of checked.value) log.result(formatVerdict(verdict));
  if (checked.value.length === 0) log.result('no vbd device in the trace');
  if (result.failed !== undefined) {
    const message = `the capture did not complete: ${result.failed} (logs in ${shown(dirname(result.trace))})`;
    log.lines.push(message);
    return badInput(io, message);
  }
  return checked.value.some((v) => v.divergence !== undefined) ? EXIT.safety : EXIT.pass;
}
