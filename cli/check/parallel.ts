// `blkif check --jobs N` with N > 1: the plan's chunks are handed to N job runners in campaign
// order (property by property, chunk by chunk) and their outcomes put back in that order, so the
// summary and the failures are the ones one job reaches. One job runs a property's chunks until
// the first that fails (or errs): here the chunks after it are cancelled and their outcomes
// discarded, and a property's row is written (its failure printed, its trace kept) only once
// every chunk before that one is in and every property before it is written. --bail skips the
// properties after the first failing one as one job does. A signal stops every runner at its
// next run boundary; what was found is kept (a property whose chunks did not all run is marked
// interrupted). --duration's share of a property starts when its first chunk does.
import type { PropertyOutcome } from '../../properties/catalog.ts';
import type { CliIo, Interrupts } from '../command.ts';
import type { Findings } from './findings.ts';
import type { ChunkJob, JobPool, JobProgress } from './jobs.ts';
import { Progress } from './progress.ts';
import { type CheckPlan, propertySummary, type Ran } from './run-plan.ts';
import type { PropertySummary } from './summary.ts';

/** How often the main thread looks for a signal while the runners work. */
const POLL_MS = 50;

class PropertyRun {
  readonly results: (PropertyOutcome | undefined)[];
  /** The next chunk to hand out. */
  next = 0;
  /** The first chunk (in campaign order) that failed or erred. */
  cut: number | undefined;
  /** No more chunks are handed out (failed, its time share is up, or skipped). */
  closed = false;
  timeLimited = false;
  /** --bail: a property before it failed. */
  skipped = false;
  /** The first chunk a signal cut short. */
  signalCut: number | undefined;
  started: number | undefined;
  finished: number | undefined;
  deadline: number | undefined;
  constructor(readonly chunks: number) {
    this.results = new Array<PropertyOutcome | undefined>(chunks).fill(undefined);
  }

  /** Every chunk up to the cut (or all, or all handed out once closed) is in, none cut short by
   * a signal. */
  complete(): boolean {
    if (!this.closed && this.next < this.chunks) return false;
    const end = this.cut === undefined ? this.next : this.cut + 1;
    if (this.signalCut !== undefined && this.signalCut < end) return false;
    for (let j = 0; j < end; j++) if (this.results[j] === undefined) return false;
    return true;
  }

  ran(interrupted: boolean): Ran {
    const end = this.cut === undefined ? this.chunks : this.cut + 1;
    let runs = 0;
    let actions = 0;
    let last: PropertyOutcome | undefined;
    for (let j = 0; j < end; j++) {
      const r = this.results[j];
      if (r === undefined) continue;
      runs += r.runs;
      actions += r.actions;
      last = r;
    }
    const outcome = this.cut === undefined ? last : this.results[this.cut];
    const timeLimited = this.timeLimited && !interrupted;
    const cutShort = outcome?.interrupted === true;
    return {
      runs,
      actions,
      outcome,
      timeLimited,
      interrupted,
      shrinkCut: outcome?.failure !== undefined && (cutShort || timeLimited),
    };
  }
}

interface Busy {
  readonly property: number;
  readonly chunk: number;
  progress: JobProgress;
}

export class ParallelRun {
  private readonly runs: PropertyRun[];
  private readonly busy: (Busy | undefined)[];
  private readonly summaries: PropertySummary[] = [];
  private readonly progress: Progress;
  private readonly timeShareMs: number | undefined;
  private readonly totalRuns: number;
  private signalled = false;
  private doneRuns = 0;
  private doneActions = 0;
  private readonly started: number;

  constructor(
    private readonly plan: CheckPlan,
    private readonly pool: JobPool,
    private readonly io: CliIo,
    private readonly findings: Findings,
  ) {
    this.runs = plan.properties.map((p) => new PropertyRun(p.chunks.length));
    this.busy = new Array<Busy | undefined>(pool.size).fill(undefined);
    this.progress = new Progress(io);
    const { durationMs } = plan.budgets;
    this.timeShareMs = durationMs === 'none' ? undefined : durationMs / plan.properties.length;
    this.totalRuns = plan.properties.reduce(
      (n, p) => n + p.chunks.reduce((m, c) => m + c.runs, 0),
      0,
    );
    this.started = io.now();
  }

  /** Runs the plan; the rows of the properties written, in plan order. */
  async run(interrupts: Interrupts): Promise<PropertySummary[]> {
    const poll = setInterval(() => {
      if (!this.signalled && interrupts.requested()) {
        this.signalled = true;
        this.pool.interrupt();
      }
    }, POLL_MS);
    try {
      await new Promise<void>((resolve, reject) => this.fill(resolve, reject));
    } finally {
      clearInterval(poll);
    }
    this.progress.clear();
    this.write(true);
    return this.summaries;
  }

  /** Hands a chunk to every idle runner; resolves once no runner is busy and none is left. */
  private fill(resolve: () => void, reject: (error: unknown) => void): void {
    for (let runner = 0; runner < this.busy.length; runner++) {
      if (this.busy[runner] !== undefined) continue;
      const job = this.nextJob();
      if (job === undefined) break;
      const busy: Busy = {
        property: job.property,
        chunk: job.chunkIndex,
        progress: { runs: 0, actions: 0 },
      };
      this.busy[runner] = busy;
      this.pool
        .run(runner, job.job, (p) => {
          busy.progress = p;
          this.showProgress();
        })
        .then((outcome) => {
          this.busy[runner] = undefined;
          this.accept(busy, outcome);
          this.write(false);
          this.fill(resolve, reject);
        }, reject);
    }
    if (this.busy.every((b) => b === undefined)) resolve();
  }

  private nextJob(): { property: number; chunkIndex: number; job: ChunkJob } | undefined {
    if (this.signalled) return undefined;
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      if (run.closed || run.next >= run.chunks) continue;
      const now = this.io.now();
      if (run.started === undefined) {
        run.started = now;
        if (this.timeShareMs !== undefined) run.deadline = now + this.timeShareMs;
      }
      if (run.deadline !== undefined && now >= run.deadline) {
        run.closed = true;
        run.timeLimited = true;
        continue;
      }
      const chunkIndex = run.next++;
      const chunk = this.plan.properties[i]!.chunks[chunkIndex]!;
      return { property: i, chunkIndex, job: { property: i, chunk, deadline: run.deadline } };
    }
    return undefined;
  }

  /** Keeps a chunk's outcome unless one job would never have run that chunk. */
  private accept(busy: Busy, outcome: PropertyOutcome): void {
    const run = this.runs[busy.property]!;
    if (run.skipped || (run.cut !== undefined && busy.chunk > run.cut)) return;
    run.results[busy.chunk] = outcome;
    this.doneRuns += outcome.runs;
    this.doneActions += outcome.actions;
    if (outcome.failure !== undefined || outcome.error !== undefined) {
      run.cut = busy.chunk;
      run.closed = true;
      this.cancelWhere((b) => b.property === busy.property && b.chunk > busy.chunk);
    }
    if (outcome.interrupted === true && this.signalled)
      run.signalCut = Math.min(run.signalCut ?? busy.chunk, busy.chunk);
    else if (outcome.interrupted === true) {
      // Not a signal and not a cancel (those are discarded above): its time share ran out.
      run.closed = true;
      run.timeLimited = true;
    }
    if (run.complete()) run.finished ??= this.io.now();
  }

  private cancelWhere(which: (b: Busy) => boolean): void {
    this.busy.forEach((b, runner) => {
      if (b !== undefined && which(b)) this.pool.cancel(runner);
    });
  }

  /**
   * Writes the rows that are settled, in plan order. At the end (`last`), after a signal, a
   * property that started but did not finish is written as interrupted; the rest are left out.
   */
  private write(last: boolean): void {
    for (let i = this.summaries.length; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      const { def } = this.plan.properties[i]!;
      if (run.skipped) {
        this.summaries.push({ name: def.name, runs: 0, actions: 0, timeMs: 0, result: 'skipped' });
        continue;
      }
      const complete = run.complete();
      if (!complete && !(last && run.started !== undefined)) return;
      this.progress.clear();
      const timeMs = (run.finished ?? this.io.now()) - (run.started ?? this.io.now());
      const context = { io: this.io, findings: this.findings };
      const row = propertySummary(this.plan, def, run.ran(!complete), timeMs, context);
      this.summaries.push(row);
      if (this.plan.budgets.bail && row.result !== 'pass') this.skipAfter(i);
    }
  }

  private skipAfter(index: number): void {
    for (let i = index + 1; i < this.runs.length; i++) {
      this.runs[i]!.skipped = true;
      this.runs[i]!.closed = true;
    }
    this.cancelWhere((b) => b.property > index);
  }

  private showProgress(): void {
    const open = this.plan.properties[this.summaries.length]?.def.name ?? 'finishing';
    let runs = this.doneRuns;
    let actions = this.doneActions;
    for (const b of this.busy) {
      runs += b?.progress.runs ?? 0;
      actions += b?.progress.actions ?? 0;
    }
    const label = `${open} (${this.pool.size} jobs, all properties)`;
    this.progress.update(label, runs, this.totalRuns, actions, this.started);
  }
}
