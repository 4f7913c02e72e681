// `blkif check --jobs N`: the campaign's chunks (shard.ts: 100 runs under seed + j) are the unit
// of work. A job runs one chunk of one property exactly as the one-job path does (same def with
// the same bounds, same seed, same drivers and strategy), so its outcome is the one the one-job
// path would have reached for that chunk; parallel.ts puts the chunks back in campaign order.
// This module is what both sides share: the job's description, its outcome, the pool interface
// and the function that runs a chunk (in a worker thread, or in-process for tests).
import type { Drivers } from '../../impl/world/drivers.ts';
import {
  checkProperty,
  checkPropertyAsync,
  type PropertyDef,
  type PropertyOutcome,
  SHRINK_RUNS_MAX,
  type Strategy,
} from '../../properties/catalog.ts';
import type { Chunk } from './shard.ts';

/** One chunk of one property of the plan. */
export interface ChunkJob {
  /** The property's index in the plan. */
  readonly property: number;
  readonly chunk: Chunk;
  /** Wall-clock milliseconds (Date.now) at which --duration's share ends the chunk. */
  readonly deadline: number | undefined;
}

export interface JobProgress {
  readonly runs: number;
  readonly actions: number;
}

/**
 * Job runners, each running one chunk at a time. A runner may hold more chunks than the one it
 * runs (`depth`): a worker thread starts its next chunk the moment one ends, without waiting for
 * the main thread (busy with a chunk of its own) to hand it one.
 */
export interface JobPool {
  readonly size: number;
  /** How many chunks runner `runner` holds at most: the one it runs and those queued behind it. */
  depth(runner: number): number;
  /** Runs a chunk on runner `runner` (holding fewer than its depth), after those it holds. */
  run(
    runner: number,
    job: ChunkJob,
    onProgress: (p: JobProgress) => void,
  ): Promise<PropertyOutcome>;
  /**
   * Ends `job` (one runner `runner` holds) at its next run boundary, or before its first run if
   * it has not started; its outcome is then discarded.
   */
  cancel(runner: number, job: ChunkJob): void;
  /** Ends every runner's chunk at its next run boundary: a signal. */
  interrupt(): void;
  close(): Promise<void>;
}

/** What a job needs to rebuild the plan's properties and drivers in another thread. */
export interface JobSetup {
  /** The module and export of the registry the plan's properties come from. */
  readonly registry: { readonly module: string; readonly name: string };
  readonly properties: readonly {
    readonly name: string;
    readonly stepsMax: number;
    readonly drainStepsMax: number;
  }[];
  /** A registered variant by name, or a user's variant as its bundled code (drivers-file.ts). */
  readonly drivers:
    | { readonly kind: 'name'; readonly name: string }
    | { readonly kind: 'bundle'; readonly path: string; readonly code: string };
  readonly strategy: Strategy;
}

/** How to start a pool (the CLI's io provides one; a test's may run jobs in-process). */
export interface JobStarter {
  /** The default of --jobs: the number of cores. */
  readonly cores: number;
  start(setup: JobSetup, local: LocalJobs, count: number): Promise<JobPool>;
}

/** The plan's own objects, for a pool that runs the chunks in this thread. */
export interface LocalJobs {
  readonly defs: readonly PropertyDef[];
  readonly drivers: Drivers;
  readonly strategy: Strategy;
}

/** How often a job reports its progress. */
export const JOB_PROGRESS_MS = 100;

/**
 * Runs a chunk. `stopped` is polled before each run (a signal, a cancel); the deadline ends it as
 * the one-job path's time share does. Synchronous: fast-check's sync runner generates and shrinks
 * exactly as the async one the one-job path uses (a test compares the two).
 */
export function runChunkJob(
  local: LocalJobs,
  job: ChunkJob,
  stopped: () => boolean,
  onProgress: (p: JobProgress) => void,
  now: () => number = Date.now,
): PropertyOutcome {
  const def = local.defs[job.property];
  if (def === undefined)
    throw new Error(`job for property ${job.property} of ${local.defs.length}`);
  let last = now();
  return checkProperty(def, {
    numRuns: job.chunk.runs,
    seed: job.chunk.seed,
    drivers: local.drivers,
    strategy: local.strategy,
    shorten: true,
    shrinkRunsMax: SHRINK_RUNS_MAX,
    onRun: (runs, actions) => {
      const at = now();
      if (at - last < JOB_PROGRESS_MS) return;
      last = at;
      onProgress({ runs, actions });
    },
    stop: () => stopped() || (job.deadline !== undefined && now() >= job.deadline),
  });
}

/** How long a chunk run in the main thread holds the event loop before it yields a turn. */
const LOCAL_PAUSE_MS = 50;

/**
 * A job runner in this thread: it runs its chunk with checkPropertyAsync (the one-job path's
 * runner), yielding the event loop every LOCAL_PAUSE_MS so that the other runners' messages and
 * a signal are seen while it works. The main thread has the model loaded and warm anyway: one
 * thread fewer to start.
 */
export class LocalRunner {
  private interrupted = false;
  private cancelled = false;
  constructor(
    private readonly local: LocalJobs,
    private readonly now: () => number = Date.now,
  ) {}

  async run(job: ChunkJob, onProgress: (p: JobProgress) => void): Promise<PropertyOutcome> {
    const def = this.local.defs[job.property];
    if (def === undefined) throw new Error(`job for property ${job.property}`);
    this.cancelled = false;
    let shown = this.now();
    let yielded = shown;
    return checkPropertyAsync(def, {
      numRuns: job.chunk.runs,
      seed: job.chunk.seed,
      drivers: this.local.drivers,
      strategy: this.local.strategy,
      shorten: true,
      shrinkRunsMax: SHRINK_RUNS_MAX,
      onRun: (runs, actions) => {
        const at = this.now();
        if (at - shown < JOB_PROGRESS_MS) return;
        shown = at;
        onProgress({ runs, actions });
      },
      stop: () =>
        this.interrupted ||
        this.cancelled ||
        (job.deadline !== undefined && this.now() >= job.deadline),
      pause: () => {
        const at = this.now();
        if (at - yielded < LOCAL_PAUSE_MS) return undefined;
        yielded = at;
        return new Promise((resolve) => setImmediate(resolve));
      },
    });
  }

  cancel(): void {
    this.cancelled = true;
  }

  interrupt(): void {
    this.interrupted = true;
  }
}
