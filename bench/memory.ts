// Memory: the size of a fresh world, and whether a long campaign keeps a flat heap (every cache
// bounded: the machines' memos, the initial snapshots). Heap here is what is live after a full
// collection: V8's heapUsed plus ArrayBuffer backing stores (guest pages, grant-table columns,
// disk chunks live outside the JavaScript heap).
import v8 from 'node:v8';
import vm from 'node:vm';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { initWorld } from '../impl/world/init.ts';
import { backendMemo, frontendMemo, MEMO_ENTRIES_MAX } from '../impl/world/machine-memo.ts';
import { checkProperty } from '../properties/catalog.ts';
import { Ledger } from '../properties/ledger.ts';
import { requestsCompleteOnce } from '../properties/properties.ts';
import type { BenchFigure } from './main.ts';
import { REFERENCE_CONFIG } from './steps-per-second.ts';

v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

function liveBytes(): number {
  collect();
  collect();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Bytes per world: many fresh worlds kept alive at once, the difference divided by their count. */
function freshWorldBytes(): number {
  const count = 200;
  initWorld(REFERENCE_CONFIG, HONEST_DRIVERS, new Ledger()); // modules loaded, memos warm
  const before = liveBytes();
  const kept = [];
  for (let i = 0; i < count; i++)
    kept.push(initWorld(REFERENCE_CONFIG, HONEST_DRIVERS, new Ledger()));
  const after = liveBytes();
  if (kept.length !== count) throw new Error('bench: worlds not kept');
  return (after - before) / count;
}

const EARLY = 1_000;
const LATE = 20_000;

function campaignHeap(): BenchFigure[] {
  const at = new Map<number, number>();
  const outcome = checkProperty(requestsCompleteOnce, {
    numRuns: LATE,
    seed: 1,
    onRun: (runs) => {
      if (runs === EARLY || runs === LATE) at.set(runs, liveBytes());
    },
  });
  if (outcome.failure !== undefined || outcome.error !== undefined)
    throw new Error(`bench campaign failed: ${outcome.failure?.firstLine ?? outcome.error}`);
  const early = at.get(EARLY)!;
  const late = at.get(LATE)!;
  const mb = (bytes: number): number => bytes / (1 << 20);
  const growth = (100 * (late - early)) / early;
  return [
    {
      label: `memory: heap after ${EARLY.toLocaleString('en-US')} runs (${requestsCompleteOnce.name})`,
      value: mb(early),
      unit: 'MB',
      digits: 1,
    },
    {
      label: `memory: heap after ${LATE.toLocaleString('en-US')} runs`,
      value: mb(late),
      unit: `MB (target < 256${mb(late) < 256 ? ', met' : ', NOT met'})`,
      digits: 1,
    },
    {
      label: `memory: heap growth from ${EARLY.toLocaleString('en-US')} to ${LATE.toLocaleString('en-US')} runs`,
      value: growth,
      unit: `% (target < 10${growth < 10 ? ', met' : ', NOT met'})`,
      digits: 1,
    },
    {
      label: 'memory: memoised machine transitions (frontend, backend)',
      value: frontendMemo.size + backendMemo.size,
      unit: `(${frontendMemo.size} + ${backendMemo.size}, bound ${MEMO_ENTRIES_MAX} each)`,
    },
  ];
}

export function run(): BenchFigure[] {
  const fresh = freshWorldBytes();
  return [
    {
      label: 'memory: a fresh world (reference configuration, shared)',
      value: fresh / 1024,
      unit: `KB (target <= 64${fresh <= 64 * 1024 ? ', met' : ', NOT met'})`,
      digits: 1,
    },
    ...campaignHeap(),
  ];
}
