// `blkif check --jobs N` with N > 1: the plan's chunks are handed to N job runners round-robin over
// the properties (every property's first chunk, then every second one, ...), a worker thread
// holding its next chunk while it runs one, and their outcomes put back in campaign order, so the
// summary and the failures are the ones one job reaches. One job runs a property's chunks until the
// first that fails (or errs): here the chunks after it are cancelled and their outcomes discarded,
// and a property's row is written (its failure printed, its trace kept) only once every chunk
// before that one is in and no property that one job finishes earlier is left (report-order.ts).
// --bail skips the properties not written at the first failure, as one job does. A signal stops
// every runner at its next run boundary; what was found is kept (a property whose chunks did not
// all run is marked interrupted). --duration ends every property at the same time.
import type { PropertyOutcome } from '../../properties/catalog.ts';
import type { CliIo, Interrupts } from '../command.ts';
import type { Findings } from './findings.ts';
import type { ChunkJob, JobPool, JobProgress } from './jobs.ts';
import { Progress } from './progress.ts';
import { ReportOrder } from './report-order.ts';
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
  readonly job: ChunkJob;
  progress: JobProgress;
}

export class ParallelRun {
  private readonly runs: PropertyRun[];
  /** The chunks each runner holds (the one it runs first). */
  private readonly busy: Busy[][];
  /** Rows written (progress names the first property not written). */
  private written = 0;
  private readonly progress: Progress;
  /** Date.now at which --duration ends every property's runs. */
  private readonly deadline: number | undefined;
  private readonly order: ReportOrder;
  /** The rows written so far, by property. */
  private readonly rows: (PropertySummary | undefined)[];
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
    this.busy = Array.from({ length: pool.size }, () => []);
    this.progress = new Progress(io);
    const { durationMs } = plan.budgets;
    this.order = new ReportOrder(plan.properties.length);
    this.rows = new Array<PropertySummary | undefined>(plan.properties.length).fill(undefined);
    this.totalRuns = plan.properties.reduce(
      (n, p) => n + p.chunks.reduce((m, c) => m + c.runs, 0),
      0,
    );
    this.started = io.now();
    this.deadline = durationMs === 'none' ? undefined : this.started + durationMs;
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
    return this.rows.filter((r) => r !== undefined);
  }

  /**
   * Hands chunks to every runner holding fewer than its depth; resolves once no runner holds one
   * and none is left. A runner is handed a chunk to queue behind its own only while more chunks
   * are left than there are runners: at the end, a chunk queued behind a long one would wait
   * while another runner goes idle.
   */
  private fill(resolve: () => void, reject: (error: unknown) => void): void {
    for (let runner = 0; runner < this.busy.length; runner++) {
      const held = this.busy[runner]!;
      while (held.length < this.pool.depth(runner)) {
        if (held.length > 0 && this.left() <= this.busy.length) break;
        const job = this.nextJob();
        if (job === undefined) break;
        this.hand(runner, job, resolve, reject);
      }
    }
    if (this.busy.every((b) => b.length === 0)) resolve();
  }

  private hand(
    runner: number,
    job: { property: number; chunkIndex: number; job: ChunkJob },
    resolve: () => void,
    reject: (error: unknown) => void,
  ): void {
    const busy: Busy = {
      property: job.property,
      chunk: job.chunkIndex,
      job: job.job,
      progress: { runs: 0, actions: 0 },
    };
    const held = this.busy[runner]!;
    held.push(busy);
    this.pool
      .run(runner, job.job, (p) => {
        busy.progress = p;
        this.showProgress();
      })
      .then((outcome) => {
        held.splice(held.indexOf(busy), 1);
        this.accept(busy, outcome);
        this.write(false);
        this.fill(resolve, reject);
      }, reject);
  }

  /** Chunks not handed out yet, of the properties still open. */
  private left(): number {
    let left = 0;
    for (const run of this.runs) if (!run.closed) left += run.chunks - run.next;
    return left;
  }

  /** The next chunk, round-robin by chunk index over the open properties (as one job interleaves). */
  private nextJob(): { property: number; chunkIndex: number; job: ChunkJob } | undefined {
    if (this.signalled) return undefined;
    const now = this.io.now();
    let pick = -1;
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i]!;
      if (run.closed || run.next >= run.chunks) continue;
      if (this.deadline !== undefined && now >= this.deadline) {
        run.closed = true;
        run.timeLimited = true;
        continue;
      }
      if (pick < 0 || run.next < this.runs[pick]!.next) pick = i;
    }
    if (pick < 0) return undefined;
    const run = this.runs[pick]!;
    run.started ??= now;
    const chunkIndex = run.next++;
    const chunk = this.plan.properties[pick]!.chunks[chunkIndex]!;
    return {
      property: pick,
      chunkIndex,
      job: { property: pick, chunk, deadline: this.deadline },
    };
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
    this.busy.forEach((held, runner) => {
      for (const b of held) if (which(b)) this.pool.cancel(runner, b.job);
    });
  }

  /**
   * Writes the rows that are settled, in report order (report-order.ts). At the end (`last`),
   * after a signal, a property that started but did not finish is written as interrupted; the
   * rest are left out.
   */
  private write(last: boolean): void {
    for (const [i, run] of this.runs.entries())
      this.order.update(i, this.knownActions(run), run.complete());
    for (let i = this.order.next(); i !== undefined; i = this.order.next()) this.writeRow(i, true);
    if (!last) return;
    for (const i of this.order.unwritten()) {
      const run = this.runs[i]!;
      if (run.skipped || run.complete() || run.started !== undefined)
        this.writeRow(i, run.complete());
    }
  }

  /** The actions of a property's chunks in campaign order up to the first one not in. */
  private knownActions(run: PropertyRun): number {
    const end = run.cut === undefined ? run.chunks : run.cut + 1;
    let actions = 0;
    for (let j = 0; j < end; j++) {
      const r = run.results[j];
      if (r === undefined) break;
      actions += r.actions;
    }
    return actions;
  }

  private writeRow(i: number, complete: boolean): void {
    const run = this.runs[i]!;
    const { def } = this.plan.properties[i]!;
    this.order.markWritten(i);
    if (run.skipped) {
      this.rows[i] = { name: def.name, runs: 0, actions: 0, timeMs: 0, result: 'skipped' };
      return;
    }
    this.progress.clear();
    const timeMs = (run.finished ?? this.io.now()) - (run.started ?? this.io.now());
    const context = { io: this.io, findings: this.findings };
    const row = propertySummary(this.plan, def, run.ran(!complete), timeMs, context);
    this.rows[i] = row;
    this.written += 1;
    if (this.plan.budgets.bail && row.result !== 'pass') this.skipRest();
  }

  /** --bail: every property not written yet is skipped, its chunks cancelled. */
  private skipRest(): void {
    const rest = new Set(this.order.unwritten());
    for (const i of rest) {
      this.runs[i]!.skipped = true;
      this.runs[i]!.closed = true;
    }
    this.cancelWhere((b) => rest.has(b.property));
  }

  private showProgress(): void {
    const open = `${this.plan.properties.length - this.written} properties`;
    let runs = this.doneRuns;
    let actions = this.doneActions;
    for (const b of this.busy.flat()) {
      runs += b.progress.runs;
      actions += b.progress.actions;
    }
    const label = `${open} (${this.pool.size} jobs, all properties)`;
    this.progress.update(label, runs, this.totalRuns, actions, this.started);
  }
}
