// The CLI's job runners for `check --jobs N`: this thread (jobs.ts's LocalRunner) and N - 1
// worker threads (worker.ts), each with its own copy of the model. Run from the sources (a checkout whose dist/ is stale, tests), a worker
// registers tsx first, as cli/bin.mjs does for the main thread; run from dist/, it loads the
// compiled worker directly. cli/node-io.ts imports this module when a campaign starts its jobs.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PropertyOutcome } from '../../properties/catalog.ts';
import {
  type ChunkJob,
  type JobPool,
  type JobProgress,
  type JobSetup,
  type JobStarter,
  type LocalJobs,
  LocalRunner,
} from './jobs.ts';

/**
 * Control words shared with a worker (worker.ts reads them between runs): [0] a signal asked every
 * chunk to stop; [1 + id % WORKER_DEPTH] the id of a chunk cancelled. A worker's chunks have
 * consecutive ids and it holds at most WORKER_DEPTH of them, so each has a word of its own.
 */
const INTERRUPT = 0;
/** Chunks a worker holds: the one it runs and the next, so that it never waits for one. */
const WORKER_DEPTH = 2;

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * A worker's young generation (MB): a world's steps make many short-lived objects, and a larger
 * nursery scavenges less often and promotes fewer of them. With two jobs the scavenges have no
 * idle core to run on; `check --runs 1000 --jobs 2` took about 4% less wall time with 64 MB than
 * with the default (3 pairs in turns, quiet machine, 2026-12-07).
 */
const WORKER_YOUNG_MB = 64;

function startWorker(setup: JobSetup, control: SharedArrayBuffer): Worker {
  const workerData = { setup, control };
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_MB };
  if (!FROM_SOURCES)
    return new Worker(new URL('./worker.js', import.meta.url), { workerData, resourceLimits });
  // tsx's ESM entry (its exports map gives require() the CommonJS one beside it).
  const tsx = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  if (!existsSync(tsx)) throw new Error(`check --jobs: no tsx ESM entry at ${tsx}`);
  const entry = new URL('./worker.ts', import.meta.url).href;
  const code =
    `import(${JSON.stringify(pathToFileURL(tsx).href)})` +
    `.then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData, resourceLimits });
}

interface Pending {
  readonly job: ChunkJob;
  readonly resolve: (outcome: PropertyOutcome) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: (p: JobProgress) => void;
}

type WorkerMessage =
  | { readonly type: 'progress'; readonly id: number; readonly progress: JobProgress }
  | { readonly type: 'done'; readonly id: number; readonly outcome: PropertyOutcome }
  | { readonly type: 'failed'; readonly id?: number; readonly message: string };

interface Runner {
  readonly worker: Worker;
  readonly control: Int32Array;
  /** The chunks it holds, by id (ids count up per worker). */
  readonly pending: Map<number, Pending>;
  nextId: number;
}

/** Runner 0 is this thread; runner i > 0 is worker i - 1. */
class ThreadPool implements JobPool {
  readonly size: number;
  private readonly local: LocalRunner;
  private readonly runners: Runner[] = [];
  private broken: Error | undefined;

  constructor(setup: JobSetup, local: LocalJobs, count: number) {
    this.size = count;
    this.local = new LocalRunner(local);
    for (let i = 0; i < count - 1; i++) {
      const buffer = new SharedArrayBuffer((1 + WORKER_DEPTH) * Int32Array.BYTES_PER_ELEMENT);
      const worker = startWorker(setup, buffer);
      const runner: Runner = {
        worker,
        control: new Int32Array(buffer),
        pending: new Map(),
        nextId: 1,
      };
      worker.on('message', (m: WorkerMessage) => this.onMessage(runner, m));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (runner.pending.size > 0)
          this.fail(new Error(`check --jobs: a worker exited (${code})`));
      });
      this.runners.push(runner);
    }
  }

  depth(runner: number): number {
    return runner === 0 ? 1 : WORKER_DEPTH;
  }

  run(runner: number, job: ChunkJob, onProgress: (p: JobProgress) => void) {
    if (runner === 0) return this.local.run(job, onProgress);
    const r = this.runners[runner - 1]!;
    if (r.pending.size >= WORKER_DEPTH) throw new Error(`job runner ${runner} is full`);
    const id = r.nextId++;
    return new Promise<PropertyOutcome>((resolve, reject) => {
      if (this.broken !== undefined) {
        reject(this.broken);
        return;
      }
      r.pending.set(id, { job, resolve, reject, onProgress });
      r.worker.postMessage({ id, job });
    });
  }

  cancel(runner: number, job: ChunkJob): void {
    if (runner === 0) {
      this.local.cancel();
      return;
    }
    const r = this.runners[runner - 1]!;
    for (const [id, p] of r.pending)
      if (p.job === job) Atomics.store(r.control, 1 + (id % WORKER_DEPTH), id);
  }

  interrupt(): void {
    this.local.interrupt();
    for (const r of this.runners) Atomics.store(r.control, INTERRUPT, 1);
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.worker.terminate()));
  }

  private onMessage(runner: Runner, message: WorkerMessage): void {
    if (message.type === 'failed' && message.id === undefined) {
      this.fail(new Error(`check --jobs: a worker could not start: ${message.message}`));
      return;
    }
    const pending = runner.pending.get(message.id!);
    if (pending === undefined) return;
    if (message.type === 'progress') {
      pending.onProgress(message.progress);
      return;
    }
    runner.pending.delete(message.id!);
    if (message.type === 'done') pending.resolve(message.outcome);
    else pending.reject(new Error(message.message));
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const r of this.runners) {
      for (const p of r.pending.values()) p.reject(error);
      r.pending.clear();
    }
  }
}

export const startThreadPool: JobStarter['start'] = async (setup, local, count) =>
  new ThreadPool(setup, local, count);
