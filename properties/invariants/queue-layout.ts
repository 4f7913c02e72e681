// Invariants 1-4 and 33: the queue count the frontend uses follows the negotiation rule from what
// the backend advertised; the keys it wrote are flat for one queue and queue-N/ for several, with
// ring-page-order and each ring's ring-ref (one page) or ring-ref0..N-1 naming its own pages; the
// backend maps exactly that many rings with one bound event channel each. The single-queue
// fallback is the same rule seen from a backend without multi-queue, reported under its own code.
// The rules are computed here from both sides' parameters (blkif.h, negotiate_mq,
// talk_to_blkback, write_per_ring_nodes), never through model/negotiate.ts, the code under test.
import type { RingInfo } from '../../impl/blkfront/ring-info.ts';
import { XenbusState } from '../../model/xenbus-state.ts';
import { FE, queueDir } from '../../model/xenstore-keys.ts';
import { BACKEND_DOMID, frontendPath } from '../../model/xenstore-paths.ts';
import { guestRuns, type World } from '../../impl/world/world.ts';
import type { Invariant, InvariantChecker } from './invariant.ts';
import { honestRun } from './runs.ts';
import type { Violation, ViolationCode } from './violation.ts';

/** Keys written and committed, and still there (a forced remove deletes them under the driver). */
function layoutSettled(world: World): boolean {
  const front = world.front;
  const settled =
    front.cachedState === XenbusState.Initialised || front.cachedState === XenbusState.Connected;
  if (!settled || !guestRuns(world) || front.device.rings.length === 0 || front.tx !== undefined)
    return false;
  const life = world.lifecycle;
  return !((life.kind === 'detaching' && life.forced === true) || life.kind === 'removed');
}

/**
 * One check, reported under one code: single-queue-fallback when the backend does not advertise
 * multi-queue-max-queues, queue-layout when it does (each finding belongs to exactly one code).
 * The ring keys (ring-page-order, ring-ref) do not depend on multi-queue: queue-layout's always.
 */
function layoutViolations(
  world: World,
  code: ViolationCode,
  onlyWithoutMultiQueue: boolean,
  read: KeyReader,
  ringKeys: (out: Violation[]) => void,
): Violation[] {
  if (!layoutSettled(world)) return [];
  const front = world.front;
  const advertised = world.host.back.config.queueCountMax;
  const out: Violation[] = [];
  if (!onlyWithoutMultiQueue) ringKeys(out);
  if (onlyWithoutMultiQueue !== (advertised === undefined)) return out;
  const step = world.stepCount;
  // negotiate_mq: min(max_queues lowered to the vCPU count, the backend's max, 1 when absent),
  // and never fewer than one ring.
  const frontendMax = Math.min(world.config.frontend.queueCountMax, world.config.vcpuCount);
  const expected = Math.max(1, Math.min(frontendMax, advertised ?? 1));
  const n = front.device.rings.length;
  if (n !== expected) {
    out.push({
      code,
      step,
      key: FE.multiQueueNumQueues,
      message: `frontend uses ${n} rings; min(its max, backend multi-queue-max-queues ${advertised ?? 'absent'}) gives ${expected}`,
    });
  }
  const has = (key: string): boolean => read(key) !== undefined;
  if (n === 1) {
    if (has(FE.multiQueueNumQueues))
      out.push({
        code,
        step,
        key: FE.multiQueueNumQueues,
        message: 'one queue, yet multi-queue-num-queues was written',
      });
    if (has(queueDir(0)))
      out.push({
        code,
        step,
        key: queueDir(0),
        message: 'one queue, yet a queue-0/ directory was written',
      });
    if (!has(FE.eventChannel))
      out.push({
        code,
        step,
        key: FE.eventChannel,
        message: 'one queue without the flat event-channel key',
      });
  } else {
    const num = read(FE.multiQueueNumQueues);
    if (num !== String(n)) {
      out.push({
        code,
        step,
        key: FE.multiQueueNumQueues,
        message: `${n} queues but multi-queue-num-queues is ${num ?? 'absent'}`,
      });
    }
    if (has(FE.eventChannel))
      out.push({
        code,
        step,
        key: FE.eventChannel,
        message: `${n} queues, yet a flat event-channel was written`,
      });
    for (let i = 0; i < n; i++) {
      if (!has(`${queueDir(i)}/${FE.eventChannel}`))
        out.push({
          code,
          step,
          ring: i,
          key: `${queueDir(i)}/${FE.eventChannel}`,
          message: `queue ${i} has no event-channel`,
        });
    }
  }
  const back = world.host.back;
  if (back.cachedState === XenbusState.Connected && !back.removed && back.rings.length !== n) {
    out.push({
      code,
      step,
      message: `the backend maps ${back.rings.length} rings for a frontend using ${n}`,
    });
  }
  return out;
}

/** XENBUS_MAX_RING_GRANT_ORDER: blkfront lowers max_ring_page_order to 4 at load. */
const RING_ORDER_CAP = 4;

/**
 * talk_to_blkback and write_per_ring_nodes: ring order = min(frontend max, backend
 * max-ring-page-order, 0 when absent); ring-page-order is written only above 0 (blkback reads it
 * first, so it must be absent for one page); each ring names its pages as ring-ref (one page) or
 * ring-ref0..N-1, each holding that page's grant reference.
 */
function ringKeyViolations(
  world: World,
  code: ViolationCode,
  read: KeyReader,
  out: Violation[],
): void {
  const dev = world.front.device;
  const fe = Math.min(world.config.frontend.ringPageOrderMax, RING_ORDER_CAP);
  const order = Math.min(fe, world.host.back.config.ringPageOrderMax ?? 0);
  const step = world.stepCount;
  const written = read(FE.ringPageOrder);
  const want = order === 0 ? undefined : String(order);
  if (written !== want) {
    out.push({
      code,
      step,
      key: FE.ringPageOrder,
      message: `ring-page-order is ${written ?? 'absent'}; min(frontend max ${fe}, backend max-ring-page-order ${world.host.back.config.ringPageOrderMax ?? 'absent'}) gives ${want ?? 'absent (one page)'}`,
    });
  }
  for (const rinfo of dev.rings)
    ringRefViolations(rinfo, dev.rings.length, order, read, out, code, step);
}

function ringRefViolations(
  rinfo: RingInfo,
  queueCount: number,
  order: number,
  read: (key: string) => string | undefined,
  out: Violation[],
  code: ViolationCode,
  step: number,
): void {
  const prefix = queueCount === 1 ? '' : `${queueDir(rinfo.index)}/`;
  const pages = 2 ** order;
  if (rinfo.ringRefs.length !== pages) {
    out.push({
      code,
      step,
      ring: rinfo.index,
      message: `ring ${rinfo.index} has ${rinfo.ringRefs.length} pages; ring order ${order} calls for ${pages}`,
    });
    return;
  }
  for (let page = 0; page < pages; page++) {
    const key = `${prefix}${FE.ringRef}${order === 0 ? '' : String(page)}`;
    const value = read(key);
    const want = String(rinfo.ringRefs[page]);
    if (value === want) continue;
    out.push({
      code,
      step,
      ring: rinfo.index,
      key,
      message: `${key} is ${value ?? 'absent'}; ring ${rinfo.index}'s page ${page} is granted as ${want}`,
    });
  }
}

/** A key of the frontend's directory as dom0 reads it; undefined when absent. */
type KeyReader = (key: string) => string | undefined;

/**
 * What the ring keys' last verdict read, to know when it stands: the numbers it read (the rings'
 * references, both sides' ring orders) as one string, each key's committed generation, and
 * what it found. A cache: the verdict it keeps is the world's own, so it is no memory of the
 * path (run-state.ts lists it as scratch).
 */
interface RingKeyReads {
  numbers: string;
  readonly paths: string[];
  readonly generations: number[];
  found: number;
}

/** Everything but xenstore that ringKeyViolations reads, as one string. */
function ringKeyNumbers(world: World): string {
  const rings = world.front.device.rings.map((r) => `${r.index}:${r.ringRefs.join(',')}`);
  return `${world.host.back.config.ringPageOrderMax} ${rings.join(' ')}`;
}

/**
 * The layout only changes with xenstore writes: a run's checker rechecks when the store changed.
 * The ring keys (with 16 queues of order-4 rings, 257 of the 274 keys a verdict reads) are read
 * again only when one of them was written or the rings changed: the writes that follow them
 * while the device connects are of states and the backend's keys.
 */
class LayoutChecker implements InvariantChecker {
  private writes = -1;
  private result: Violation[] = [];
  private readonly ringReads: RingKeyReads = { numbers: '', paths: [], generations: [], found: 0 };
  constructor(
    private readonly code: ViolationCode,
    private readonly onlyWithoutMultiQueue: boolean,
  ) {}

  check(world: World): readonly Violation[] {
    const writes = world.xs.writeCount;
    if (this.writes === writes) return this.result;
    this.writes = writes;
    const dir = frontendPath(world.guestDomid);
    const read: KeyReader = (key) => {
      const got = world.xs.read(BACKEND_DOMID, `${dir}/${key}`);
      return got.ok ? got.value : undefined;
    };
    const ringKeys = (out: Violation[]): void => this.ringKeys(world, dir, out);
    this.result = layoutViolations(world, this.code, this.onlyWithoutMultiQueue, read, ringKeys);
    return this.result;
  }

  /** ringKeyViolations, or nothing when it found nothing and nothing it read changed since. */
  private ringKeys(world: World, dir: string, out: Violation[]): void {
    const reads = this.ringReads;
    const numbers = ringKeyNumbers(world);
    if (reads.found === 0 && numbers === reads.numbers && sameKeys(world, reads)) return;
    reads.numbers = numbers;
    reads.paths.length = 0;
    reads.generations.length = 0;
    const read: KeyReader = (key) => {
      const path = `${dir}/${key}`;
      reads.paths.push(path);
      reads.generations.push(world.xs.generationOf(path));
      const got = world.xs.read(BACKEND_DOMID, path);
      return got.ok ? got.value : undefined;
    };
    const before = out.length;
    ringKeyViolations(world, this.code, read, out);
    reads.found = out.length - before;
  }
}

/** Every key the last verdict read has the generation it had then. */
function sameKeys(world: World, reads: RingKeyReads): boolean {
  const { paths, generations } = reads;
  for (let i = 0; i < paths.length; i++)
    if (world.xs.generationOf(paths[i]!) !== generations[i]) return false;
  return true;
}

export const queueLayout: Invariant = {
  code: 'queue-layout',
  phase: 'step',
  summary:
    'queue count = min(frontend max, backend max); flat keys iff one queue; backend maps that many rings (backend advertises multi-queue)',
  when: honestRun,
  start: () => new LayoutChecker('queue-layout', false),
};

export const singleQueueFallback: Invariant = {
  code: 'single-queue-fallback',
  phase: 'step',
  summary:
    'against a backend without multi-queue-max-queues: one ring with flat keys, also after migration',
  when: honestRun,
  start: () => new LayoutChecker('single-queue-fallback', true),
};
