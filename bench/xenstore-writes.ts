// Xenstore write throughput with a watch registered, the control-plane cost of every world step
// that switches a xenbus state or publishes ring keys. Two figures: plain writes by the guest
// into its own device directory (each one matches the backend's watch and queues an event), and
// the same writes grouped eight to a transaction, as talk_to_blkback publishes its keys.
import type { DomId } from '../impl/xen/memory.ts';
import { Xenstore } from '../impl/xen/xenstore.ts';
import { interleave, type Variant } from './interleave.ts';
import type { BenchFigure } from './main.ts';

const DOM0: DomId = 0;
const GUEST: DomId = 1;
const FE = '/local/domain/1/device/vbd/51712';
const KEYS = [
  'state',
  'ring-ref',
  'event-channel',
  'protocol',
  'feature-persistent',
  'queue-0/ring-ref',
  'queue-0/event-channel',
  'multi-queue-num-queues',
];
const WRITES_PER_TRANSACTION = 8;
const EVENTS_DRAIN_EVERY = 1024;

function setUp(): Xenstore {
  const xs = new Xenstore();
  xs.mkdir(DOM0, FE);
  xs.setPerms(DOM0, FE, [
    { dom: GUEST, perm: 'n' },
    { dom: DOM0, perm: 'r' },
  ]);
  xs.watch(DOM0, FE, 'backend-watch');
  return xs;
}

function drainEvents(xs: Xenstore): number {
  let events = 0;
  while (xs.takeWatchEvent(DOM0) !== undefined) events++;
  return events;
}

/** A bench variant: one batch of writes, with their watch events drained and counted. */
function variant(name: string, batch: (xs: Xenstore, round: number) => number): Variant {
  const xs = setUp();
  let round = 0;
  return {
    name,
    work: () => {
      const writes = batch(xs, round++);
      const events = drainEvents(xs);
      if (events < writes)
        throw new Error(`bench ${name}: ${writes} writes queued ${events} events`);
      return writes;
    },
  };
}

function plainWrites(xs: Xenstore, round: number): number {
  for (let i = 0; i < EVENTS_DRAIN_EVERY; i++) {
    const result = xs.write(GUEST, `${FE}/${KEYS[i % KEYS.length]}`, `${round + i}`);
    if (!result.ok) throw new Error(`bench plain write: ${result.error}`);
  }
  return EVENTS_DRAIN_EVERY;
}

function transactionalWrites(xs: Xenstore, round: number): number {
  const transactions = EVENTS_DRAIN_EVERY / WRITES_PER_TRANSACTION;
  for (let t = 0; t < transactions; t++) {
    const tx = xs.transactionStart(GUEST);
    for (let i = 0; i < WRITES_PER_TRANSACTION; i++)
      xs.write(GUEST, `${FE}/${KEYS[i]}`, `${round + t}`, tx);
    const result = xs.transactionEnd(GUEST, tx, true);
    if (!result.ok) throw new Error(`bench transaction: ${result.error}`);
  }
  return transactions * WRITES_PER_TRANSACTION;
}

export function run(): BenchFigure[] {
  const plain = 'xenstore: plain writes, 1 watch';
  const transactional = `xenstore: transactional writes (${WRITES_PER_TRANSACTION}/commit), 1 watch`;
  const rates = interleave(
    [variant(plain, plainWrites), variant(transactional, transactionalWrites)],
    {
      rounds: 5,
      sliceSeconds: 0.1,
    },
  );
  return [plain, transactional].map((label) => ({
    label,
    value: rates.get(label)!,
    unit: 'writes/s',
  }));
}
