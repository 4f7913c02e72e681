// Workloads: what each vCPU asks of the block layer. Reads and writes from one sector to sizes
// that need indirect descriptors (or get split by the block layer when the backend has none),
// at page offsets 0..7, flushes and discards when the run's swarm has them, all inside the disk.
import fc from 'fast-check';
import type { WorkloadItem, WorkloadOp } from '../../impl/world/config.ts';
import type { Swarm } from './swarm.ts';

/** Sectors per page (4096 / 512). */
const SECTORS_PER_PAGE = 8;
/** The largest request: 64 pages, more than BLKIF_MAX_SEGMENTS_PER_REQUEST (11) times over. */
export const SECTOR_COUNT_MAX = 64 * SECTORS_PER_PAGE;

/** Raw draws; the run's vCPU count, disk and swarm turn them into a valid item. */
interface RawItem {
  readonly vcpu: number;
  /** 0..9: read-heavy mix, see opOf. */
  readonly op: number;
  readonly sector: number;
  readonly size: number;
  readonly offsetSectors: number;
}

// Mostly small, some up to one direct request (11 pages), some needing indirect descriptors;
// every branch shrinks towards one sector.
const sizeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 16 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 11 * SECTORS_PER_PAGE }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: SECTOR_COUNT_MAX }) },
);

const rawItemArb: fc.Arbitrary<RawItem> = fc.record({
  vcpu: fc.nat({ max: 7 }),
  op: fc.nat({ max: 9 }),
  sector: fc.nat(),
  size: sizeArb,
  offsetSectors: fc.nat({ max: 7 }),
});

/** Shrinks towards reads (op 0), the most ordinary request; writes are next. */
function opOf(raw: number, swarm: Swarm): WorkloadOp {
  if (raw === 8 && swarm.flushes) return 'flush';
  if (raw === 9 && swarm.discards) return 'discard';
  return raw % 2 === 0 ? 'read' : 'write';
}

export function itemOf(
  raw: RawItem,
  vcpuCount: number,
  diskSectors: number,
  swarm: Swarm,
): WorkloadItem {
  const vcpu = raw.vcpu % vcpuCount;
  const op = opOf(raw.op, swarm);
  if (op === 'flush') return { vcpu, op, sector: 0, sectorCount: 0, offsetSectors: 0 };
  const sizeMax = swarm.largeRequests ? SECTOR_COUNT_MAX : 2 * SECTORS_PER_PAGE;
  const sectorCount = Math.min(raw.size, sizeMax, diskSectors);
  const sector = raw.sector % (diskSectors - sectorCount + 1);
  const offsetSectors = op === 'discard' ? 0 : raw.offsetSectors;
  return { vcpu, op, sector, sectorCount, offsetSectors };
}

export interface WorkloadShape {
  readonly itemCountMin: number;
  readonly itemCountMax: number;
}

/**
 * A run's raw items: `itemCountMin` to `itemCountMax` of them as drawn, but a counterexample
 * shrinks below the minimum (down to one item). An array with that minLength could never shrink
 * below it, so a bug found under load (the I/O-heavy branch draws 48 or more) was reported with
 * every one of those requests; generation is unchanged, so every seed draws the runs it drew.
 */
export function rawWorkloadArb(shape: WorkloadShape): fc.Arbitrary<readonly RawItem[]> {
  const within = (minLength: number) =>
    fc.array(rawItemArb, { minLength, maxLength: shape.itemCountMax, size: 'max' });
  const min = Math.max(1, shape.itemCountMin);
  return min === 1 ? within(1) : new ShrinksAs(within(min), within(1));
}

/**
 * Draws as `drawn` does and shrinks as `shrunk` does. Both are fc.array of the same item
 * arbitrary, differing only in minLength, so the context `drawn` gives a value (its items'
 * contexts) is one `shrunk` reads: items shrink as efficiently as in a plain array.
 */
class ShrinksAs<T> extends fc.Arbitrary<T> {
  constructor(
    private readonly drawn: fc.Arbitrary<T>,
    private readonly shrunk: fc.Arbitrary<T>,
  ) {
    super();
  }
  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<T> {
    return this.drawn.generate(mrng, biasFactor);
  }
  canShrinkWithoutContext(value: unknown): value is T {
    return this.shrunk.canShrinkWithoutContext(value);
  }
  shrink(value: T, context: unknown): fc.Stream<fc.Value<T>> {
    return this.shrunk.shrink(value, context);
  }
}

export function workloadOf(
  raw: readonly RawItem[],
  vcpuCount: number,
  diskSectors: number,
  swarm: Swarm,
): WorkloadItem[] {
  return raw.map((r) => itemOf(r, vcpuCount, diskSectors, swarm));
}

export type { RawItem };
