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

/** Control words shared with a worker (worker.ts reads them between runs). */
const INTERRUPT = 0;
const CANCELLED = 1;

const FROM_SOURCES = import.meta.url.endsWith('.ts');

function startWorker(setup: JobSetup, control: SharedArrayBuffer): Worker {
  const workerData = { setup, control };
  if (!FROM_SOURCES) return new Worker(new URL('./worker.js', import.meta.url), { workerData });
  // tsx's ESM entry (its exports map gives require() the CommonJS one beside it).
  const tsx = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  if (!existsSync(tsx)) throw new Error(`check --jobs: no tsx ESM entry at ${tsx}`);
  const entry = new URL('./worker.ts', import.meta.url).href;
  const code =
    `import(${JSON.stringify(pathToFileURL(tsx).href)})` +
    `.then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData });
}

interface Pending {
  readonly resolve: (outcome: PropertyOutcome) => void;
  readonly reject: (error: Error) => void;
  readonly onProgress: (p: JobProgress) => void;
}

type WorkerMessage =
  | { readonly type: 'progress'; readonly id: number; readonly progress: JobProgress }
  | { readonly type: 'done'; readonly id: number; readonly outcome: PropertyOutcome }
  | { readonly type: 'failed'; readonly id?: number; readonly message: string };

/** Runner 0 is this thread; runner i > 0 is worker i - 1. */
class ThreadPool implements JobPool {
  readonly size: number;
  private readonly local: LocalRunner;
  private readonly workers: Worker[] = [];
  private readonly controls: Int32Array[] = [];
  /** The chunk each runner is running (by id), and how to answer it. */
  private readonly current: (number | undefined)[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private broken: Error | undefined;

  constructor(setup: JobSetup, local: LocalJobs, count: number) {
    this.size = count;
    this.local = new LocalRunner(local);
    for (let i = 0; i < count - 1; i++) {
      const control = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
      const worker = startWorker(setup, control);
      worker.on('message', (m: WorkerMessage) => this.onMessage(i, m));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (this.pending.size > 0) this.fail(new Error(`check --jobs: a worker exited (${code})`));
      });
      this.workers.push(worker);
      this.controls.push(new Int32Array(control));
      this.current.push(undefined);
    }
  }

  run(runner: number, job: ChunkJob, onProgress: (p: JobProgress) => void) {
    if (runner === 0) return this.local.run(job, onProgress);
    const worker = runner - 1;
    if (this.current[worker] !== undefined) throw new Error(`job runner ${runner} is busy`);
    const id = this.nextId++;
    this.current[worker] = id;
    return new Promise<PropertyOutcome>((resolve, reject) => {
      if (this.broken !== undefined) {
        reject(this.broken);
        return;
      }
      this.pending.set(id, { resolve, reject, onProgress });
      this.workers[worker]!.postMessage({ id, job });
    });
  }

  cancel(runner: number): void {
    if (runner === 0) {
      this.local.cancel();
      return;
    }
    const id = this.current[runner - 1];
    if (id !== undefined) Atomics.store(this.controls[runner - 1]!, CANCELLED, id);
  }

  interrupt(): void {
    this.local.interrupt();
    for (const control of this.controls) Atomics.store(control, INTERRUPT, 1);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(worker: number, message: WorkerMessage): void {
    if (message.type === 'failed' && message.id === undefined) {
      this.fail(new Error(`check --jobs: a worker could not start: ${message.message}`));
      return;
    }
    const pending = this.pending.get(message.id!);
    if (pending === undefined) return;
    if (message.type === 'progress') {
      pending.onProgress(message.progress);
      return;
    }
    this.pending.delete(message.id!);
    this.current[worker] = undefined;
    if (message.type === 'done') pending.resolve(message.outcome);
    else pending.reject(new Error(message.message));
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

export const startThreadPool: JobStarter['start'] = async (setup, local, count) =>
  new ThreadPool(setup, local, count);
