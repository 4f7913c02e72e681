// One bug reported once. Every property checks every invariant, so a known-bad variant is often
// found by several properties at once; a failure whose violation has the same signature as one
// already reported (same code, same place: its first line with the numbers — steps, rings, ids,
// indices, counts — set aside) joins that one instead of printing a second report and a second
// trace. The trace kept is the shortest counterexample any of them found. Each new failure is
// still printed the moment it is found (style rule 10: the line, seed, path and replay command
// first, then the trace file).
import type { Failure, PropertyDef } from '../../properties/catalog.ts';
import { traceJson } from '../../properties/counterexample.ts';
import { LIVENESS_CODES, type Violation } from '../../properties/invariants/violation.ts';
import type { Trace } from '../../traces/schema.ts';
import type { CliIo } from '../command.ts';
import { CliError } from '../errors.ts';
import type { Paint } from '../colour.ts';
import type { FailureSummary } from './summary.ts';

/** Code, which location fields are present, and the message's shape without its numbers. */
export function violationSignature(v: Violation): string {
  const fields = (['ring', 'requestId', 'gref', 'key'] as const).filter((k) => v[k] !== undefined);
  const shape = (s: string) => s.replace(/\d+/g, '#');
  return `${v.code} [${fields.join(',')}]${v.key === undefined ? '' : ` ${shape(v.key)}`}: ${shape(v.message)}`;
}

export interface FindingsContext {
  /** Where traces go. */
  readonly out: string;
  readonly driversName: string;
  /** `--drivers v --strategy s` as the rerun command needs them ('' for the defaults). */
  readonly rerunFlags: string;
  readonly io: CliIo;
  readonly paint: Paint;
}

interface Group {
  summary: FailureSummary;
  trace: Trace;
}

export class Findings {
  private readonly groups: Group[] = [];
  /** The first trace that could not be written: the campaign goes on, check ends with it. */
  private lostWrite: CliError | undefined;
  constructor(private readonly context: FindingsContext) {}

  /** Reports a property's failure (printed, then its trace written); returns its failure id. */
  add(def: PropertyDef, failure: Failure, shrinkCut = false): number {
    const signature = violationSignature(failure.violation);
    const group = this.groups.find((g) => g.summary.signature === signature);
    const steps = failure.trace.steps.length;
    const { io, paint } = this.context;
    if (group === undefined) {
      const id = this.groups.length + 1;
      const summary: FailureSummary = {
        id,
        signature,
        code: failure.violation.code,
        result: LIVENESS_CODES.has(failure.violation.code) ? 'liveness' : 'safety',
        firstLine: failure.firstLine,
        properties: [def.name],
        property: def.name,
        seed: failure.seed,
        path: failure.path,
        steps,
        trace: this.freeFile(failure),
      };
      this.groups.push({ summary, trace: failure.trace });
      const cut = shrinkCut
        ? ' (interrupted while shrinking: the smallest counterexample so far)'
        : '';
      io.stdout(`${paint('FAIL', 'safety')} ${def.name}${cut}\n`);
      this.printBlock(def, failure, summary.trace);
      return id;
    }
    const was = group.summary;
    const properties = [...was.properties, def.name];
    if (steps >= was.steps) {
      group.summary = { ...was, properties };
      io.stdout(
        `${paint('FAIL', 'safety')} ${def.name}: the same violation as #${was.id} (${was.property}); ` +
          `its ${was.steps}-step trace is kept (this counterexample: ${steps} steps)\n`,
      );
      return was.id;
    }
    group.summary = {
      ...was,
      properties,
      firstLine: failure.firstLine,
      property: def.name,
      seed: failure.seed,
      path: failure.path,
      steps,
    };
    group.trace = failure.trace;
    io.stdout(
      `${paint('FAIL', 'safety')} ${def.name}: the same violation as #${was.id} (${was.property}), ` +
        `a shorter counterexample (${steps} steps, was ${was.steps}): #${was.id}'s trace now holds it\n`,
    );
    this.printBlock(def, failure, was.trace);
    return was.id;
  }

  summaries(): FailureSummary[] {
    return this.groups.map((g) => g.summary);
  }

  /** The kept trace of each failure, by trace file (the Markdown report draws them). */
  traces(): ReadonlyMap<string, Trace> {
    return new Map(this.groups.map((g) => [g.summary.trace, g.trace]));
  }

  private printBlock(def: PropertyDef, failure: Failure, file: string): void {
    const { io, rerunFlags } = this.context;
    io.stdout(`  ${failure.firstLine}\n`);
    io.stdout(`  seed ${failure.seed}, path ${failure.path}: npx blkif replay ${file}\n`);
    io.stdout(
      `  rerun: npx blkif check --property ${def.name} --seed ${failure.seed} --path ${failure.path}${rerunFlags}\n`,
    );
    // A full disk must not cost the rest of the campaign: its findings are still printed, and
    // check reports this write (one line, exit 2) after the table, summary and reports.
    try {
      io.mkdir(this.context.out);
      io.writeFile(file, traceJson(failure.trace));
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      this.lostWrite ??= error;
    }
  }

  /** The first trace write that failed, if any. */
  writeError(): CliError | undefined {
    return this.lostWrite;
  }

  /** `<out>/<code>[-<variant>]-<seed>.json`, numbered when two violations would share it. */
  private freeFile(failure: Failure): string {
    const { out, driversName } = this.context;
    const variant = driversName === 'honest' ? '' : `-${driversName}`;
    const base = `${out.replace(/\/+$/, '')}/${failure.violation.code}${variant}-${failure.seed}`;
    const taken = new Set(this.groups.map((g) => g.summary.trace));
    // At most one name per group is taken, so one of the first groups+1 names is free.
    const name = (n: number) => (n === 1 ? `${base}.json` : `${base}-${n}.json`);
    for (let n = 1; n <= taken.size; n++) if (!taken.has(name(n))) return name(n);
    return name(taken.size + 1);
  }
}
