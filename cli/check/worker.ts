// A `check --jobs` worker thread (started by thread-pool.ts): rebuilds the plan's properties and
// drivers from the JobSetup, then runs the chunks it is sent, one at a time (the next one waits
// in its port while it runs one), and posts each outcome back (a setup that fails is reported
// once, with no id, and the pool gives up). The main thread stops a chunk through the shared
// control words (thread-pool.ts), which a synchronous campaign reads between runs without an
// event loop turn.
import { parentPort, workerData } from 'node:worker_threads';
import type { Drivers } from '../../impl/world/drivers.ts';
import type { PropertyDef } from '../../properties/catalog.ts';
import { importVariantBundle } from '../drivers-file.ts';
import { propertyNamed, type Registry } from '../registry.ts';
import { type ChunkJob, type JobSetup, type LocalJobs, runChunkJob } from './jobs.ts';

interface WorkerInput {
  readonly setup: JobSetup;
  readonly control: SharedArrayBuffer;
}

/**
 * Control words: [0] a signal asked every chunk to stop; [1 + id % slots] the id of a chunk
 * cancelled (thread-pool.ts: the chunks a worker holds have consecutive ids, fewer than slots).
 */
const INTERRUPT = 0;

async function localJobs(setup: JobSetup): Promise<LocalJobs> {
  const module = (await import(setup.registry.module)) as Record<string, unknown>;
  const registry = module[setup.registry.name] as Registry | undefined;
  if (registry === undefined)
    throw new Error(`${setup.registry.module} exports no ${setup.registry.name}`);
  const defs: PropertyDef[] = setup.properties.map((p) => {
    const def = propertyNamed(registry, p.name);
    if (def === undefined) throw new Error(`no property ${p.name} in ${setup.registry.name}`);
    return { ...def, stepsMax: p.stepsMax, drainStepsMax: p.drainStepsMax };
  });
  let drivers: Drivers | undefined;
  if (setup.drivers.kind === 'bundle')
    drivers = await importVariantBundle(setup.drivers.path, setup.drivers.code);
  else drivers = registry.drivers(setup.drivers.name);
  if (drivers === undefined) throw new Error(`no driver variant ${JSON.stringify(setup.drivers)}`);
  return { defs, drivers, strategy: setup.strategy };
}

async function serve(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('cli/check/worker.ts runs as a worker thread');
  const input = workerData as WorkerInput;
  const control = new Int32Array(input.control);
  const slots = control.length - 1;
  let local: LocalJobs;
  try {
    local = await localJobs(input.setup);
  } catch (error) {
    port.postMessage({ type: 'failed', message: String(error) });
    return;
  }
  port.on('message', (message: { readonly id: number; readonly job: ChunkJob }) => {
    const { id, job } = message;
    const stopped = () =>
      Atomics.load(control, INTERRUPT) !== 0 || Atomics.load(control, 1 + (id % slots)) === id;
    try {
      const outcome = runChunkJob(local, job, stopped, (progress) =>
        port.postMessage({ type: 'progress', id, progress }),
      );
      port.postMessage({ type: 'done', id, outcome });
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      port.postMessage({ type: 'failed', id, message: text });
    }
  });
}

await serve();
