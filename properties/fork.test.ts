// forkWorld and fingerprint (impl/world/fork.ts), the exhaustive explorer's footing: a fork
// continues exactly as the original does, and the fingerprint names the protocol-visible state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Disk } from '../impl/blkback/disk.ts';
import { FORK_SELF, type Forking } from '../impl/hash.ts';
import { GrantTable } from '../impl/xen/grant-table.ts';
import { DomainMemory } from '../impl/xen/memory.ts';
import { Xenstore } from '../impl/xen/xenstore.ts';
import type { BlockOp, BlockRequest } from '../impl/blkfront/block-request.ts';
import { describeAction } from '../impl/world/action.ts';
import type { GuestObserver } from '../impl/world/block-layer.ts';
import type { WorldConfig } from '../impl/world/config.ts';
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { enabled } from '../impl/world/enabled.ts';
import { deepCopy, fingerprint, forkWorld } from '../impl/world/fork.ts';
import { initWorld } from '../impl/world/init.ts';
import { step } from '../impl/world/step.ts';
import type { Observation, World } from '../impl/world/world.ts';
import { scenarioArb } from './arbitraries/scenario.ts';
import { ringIdx } from '../impl/xen/ring-index.ts';
import { summarizeWorld } from './counterexample.ts';
import { Ledger } from './ledger.ts';
import { SeededChooser } from './strategies/chooser.ts';

/** The grant table's private copy-on-write and hash-cache flags, as its teeth variants see them. */
interface GrantTableCow {
  columnsShared: boolean;
  hashed: boolean;
}

const ledgerOf = (world: World): Ledger => world.guest.observer as Ledger;

/** Takes up to `steps` actions picked by `chooser`; returns what a trace would show of them. */
function drive(world: World, chooser: SeededChooser, steps: number): string[] {
  const trace: string[] = [];
  const notes: Observation[] = [];
  world.observe = (note) => notes.push(note);
  for (let n = 0; n < steps; n++) {
    const actions = enabled(world);
    if (actions.length === 0) break;
    const choice = chooser.choose(actions.length);
    const action = actions[choice === 'drain' ? 0 : choice]!;
    step(world, action);
    trace.push(`${describeAction(action)} ${JSON.stringify(notes)}`);
    notes.length = 0;
  }
  world.observe = undefined;
  return trace;
}

function worldAt(config: WorldConfig, seed: number, cut: number): World {
  const world = initWorld(config, HONEST_DRIVERS, new Ledger());
  drive(world, new SeededChooser(seed, 1_000_000), cut);
  return world;
}

/** Everything a run's outcome shows: the trace, the final state and the ledger's findings. */
function continuation(world: World, seed: number): unknown {
  const trace = drive(world, new SeededChooser(seed, 1_000_000), 400);
  return {
    trace,
    state: summarizeWorld(world),
    fingerprint: fingerprint(world),
    submitted: ledgerOf(world).submittedCount,
    violations: ledgerOf(world).violations,
  };
}

const casesArb = fc.record({
  config: scenarioArb().map((s) => s.config),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
  cut: fc.nat(300),
});

describe('forkWorld', () => {
  it('a fork at a random step continues exactly as the original, and independently of it', () => {
    fc.assert(
      fc.property(casesArb, ({ config, seed, cut }) => {
        const world = worldAt(config, seed, cut);
        const fork = forkWorld(world);
        expect(fingerprint(fork)).toBe(fingerprint(world));
        // The original runs first: were anything shared, the fork would start from its future.
        const original = continuation(world, seed + 1);
        expect(continuation(fork, seed + 1)).toEqual(original);
      }),
      { numRuns: 60 },
    );
  });

  /**
   * Copy-on-write, whole worlds: after a fork the original and the fork take different
   * schedules, a step of each in turn, and each ends exactly as a world never forked that took
   * its schedule (trace, state, fresh fingerprint, findings).
   */
  const divergent = fc.property(casesArb, ({ config, seed, cut }) => {
    const world = worldAt(config, seed, cut);
    const fork = forkWorld(world);
    const sides = [
      { world, chooser: new SeededChooser(seed + 1, 1_000_000), trace: [] as string[] },
      { world: fork, chooser: new SeededChooser(seed + 2, 1_000_000), trace: [] as string[] },
    ];
    for (let n = 0; n < 150; n++)
      for (const side of sides) side.trace.push(...drive(side.world, side.chooser, 1));
    return sides.every((side, i) => {
      const alone = worldAt(config, seed, cut);
      const trace = drive(alone, new SeededChooser(seed + 1 + i, 1_000_000), 150);
      return (
        JSON.stringify(trace) === JSON.stringify(side.trace) &&
        fingerprint(alone, { fresh: true }) === fingerprint(side.world, { fresh: true }) &&
        JSON.stringify(summarizeWorld(alone)) === JSON.stringify(summarizeWorld(side.world))
      );
    });
  });

  it('a fork and its original take different schedules without touching each other', () => {
    fc.assert(divergent, { numRuns: 30 });
  });

  it('teeth: a memory fork that shares runs the rings and grant mappings view is caught', () => {
    const proto = DomainMemory.prototype as unknown as Record<symbol, (f: Forking) => object>;
    const real = proto[FORK_SELF]!;
    proto[FORK_SELF] = function (this: DomainMemory, fork: Forking): object {
      const blind = (v: object) => (v instanceof ArrayBuffer ? undefined : fork.copied(v));
      return real.call(this, { ...fork, copied: blind });
    };
    try {
      const result = fc.check(divergent, { numRuns: 30, seed: 2, endOnFailure: true });
      expect(result.failed).toBe(true);
    } finally {
      proto[FORK_SELF] = real;
    }
  });

  it("teeth: a grant table whose fork skips its columns' copy before a change is caught", () => {
    const proto = GrantTable.prototype as unknown as { changing(this: GrantTableCow): void };
    const real = proto.changing;
    // The change happens in the columns the fork shares with its original.
    proto.changing = function (this: GrantTableCow) {
      this.columnsShared = false;
      real.call(this);
    };
    try {
      const result = fc.check(divergent, { numRuns: 30, seed: 2, endOnFailure: true });
      expect(result.failed).toBe(true);
    } finally {
      proto.changing = real;
    }
  });

  it('teeth: a fork that shares one mutable part (the grant table) is caught', () => {
    const shallow = (world: World): World =>
      deepCopy(world, [world.config, world.drivers, world.actionCache, world.guestGnttab]);
    const result = fc.check(
      fc.property(casesArb, ({ config, seed, cut }) => {
        const world = worldAt(config, seed, cut);
        const fork = shallow(world);
        fork.observe = undefined;
        let original: unknown;
        try {
          original = continuation(world, seed + 1);
          return JSON.stringify(continuation(fork, seed + 1)) === JSON.stringify(original);
        } catch {
          return false; // the fork tripped over the original's grants: caught
        }
      }),
      { numRuns: 60, seed: 4 },
    );
    expect(result.failed).toBe(true);
  });

  it('shares what is immutable and copies what is not', () => {
    const world = worldAt(fc.sample(casesArb, { seed: 3, numRuns: 1 })[0]!.config, 7, 120);
    const fork = forkWorld(world);
    expect(fork.config).toBe(world.config);
    expect(fork.drivers).toBe(world.drivers);
    expect(fork.front.snapshot).toBe(world.front.snapshot);
    expect(fork.xs).not.toBe(world.xs);
    expect(fork.guestGnttab).not.toBe(world.guestGnttab);
    expect(ledgerOf(fork)).not.toBe(ledgerOf(world));
    expect(Object.getPrototypeOf(fork.disk)).toBe(Object.getPrototypeOf(world.disk));
  });
});

describe('fingerprint', () => {
  it('is equal for equal states reached by different paths (commuting deliveries)', () => {
    let compared = 0;
    fc.assert(
      fc.property(casesArb, ({ config, seed, cut }) => {
        const world = worldAt(config, seed, cut);
        const chooser = new SeededChooser(seed + 2, 1_000_000);
        for (let n = 0; n < 400 && deliveriesOf(world).length < 2; n++) {
          const actions = enabled(world);
          if (actions.length === 0) break;
          const choice = chooser.choose(actions.length);
          step(world, actions[choice === 'drain' ? 0 : choice]!);
        }
        // Two event deliveries (different rings or different sides) touch disjoint state: either
        // order reaches the same world, though not through the same intermediate one.
        const deliveries = deliveriesOf(world);
        if (deliveries.length < 2) return;
        const [a, b] = deliveries as [(typeof deliveries)[0], (typeof deliveries)[0]];
        const ab = forkWorld(world);
        const ba = forkWorld(world);
        step(ab, a);
        const between = fingerprint(ab);
        step(ab, b);
        step(ba, b);
        step(ba, a);
        expect(fingerprint(ab)).toBe(fingerprint(ba));
        expect(fingerprint(ab)).not.toBe(between);
        compared += 1;
      }),
      { numRuns: 200 },
    );
    expect(compared).toBeGreaterThan(3);
  });

  /** True when every step of a run (and of a fork taken at `cut`) has cached = fresh prints. */
  const cachesAgree = fc.property(casesArb, ({ config, seed, cut }) => {
    const world = worldAt(config, seed, cut % 60);
    const runs = [world, forkWorld(world)];
    const chooser = new SeededChooser(seed + 3, 1_000_000);
    for (let n = 0; n < 250; n++) {
      for (const w of runs) {
        const actions = enabled(w);
        if (actions.length === 0) continue;
        const choice = chooser.choose(actions.length);
        step(w, actions[choice === 'drain' ? 0 : choice]!);
        if (fingerprint(w) !== fingerprint(w, { fresh: true })) return false;
      }
    }
    return true;
  });

  it('the parts that cache their hash agree with a fresh hash after every step, in forks too', () => {
    fc.assert(cachesAgree, { numRuns: 25 });
  });

  const PARTS: Readonly<Record<string, object>> = {
    Xenstore: Xenstore.prototype,
    Disk: Disk.prototype,
  };

  it('teeth: a grant table that keeps its cached hash across a change is caught', () => {
    const proto = GrantTable.prototype as unknown as { changing(this: GrantTableCow): void };
    const real = proto.changing;
    proto.changing = function (this: GrantTableCow) {
      const hashed = this.hashed;
      real.call(this);
      this.hashed = hashed;
    };
    try {
      const result = fc.check(cachesAgree, { numRuns: 25, seed: 9, endOnFailure: true });
      expect(result.failed).toBe(true);
    } finally {
      proto.changing = real;
    }
  });
  it.each([
    ['Xenstore', 'takeWatchEvent'],
    ['Disk', 'write'],
  ] as const)('teeth: a cache that misses a change (%s.%s) is caught', (part, method) => {
    const target = PARTS[part] as unknown as Record<string, (...args: unknown[]) => unknown>;
    const real = target[method]!;
    // The change happens but the part's version stays: its cached hash goes stale.
    target[method] = function (this: { version: number }, ...args: unknown[]) {
      const version = this.version;
      const out = real.apply(this, args);
      this.version = version;
      return out;
    };
    try {
      // No shrinking: that the variant fails is the point, not its smallest case.
      const result = fc.check(cachesAgree, { numRuns: 25, seed: 9, endOnFailure: true });
      expect(result.failed).toBe(true);
    } finally {
      target[method] = real;
    }
  });

  it('leaves out step counters, observation buffers and the trace hook', () => {
    const world = worldAt(fc.sample(casesArb, { seed: 5, numRuns: 1 })[0]!.config, 11, 150);
    const before = fingerprint(world);
    world.stepCount += 1000;
    world.stateWrites.length = 0;
    world.reports.length = 0;
    world.observe = () => {};
    ledgerOf(world).now += 17;
    expect(fingerprint(world)).toBe(before);
  });

  describe("the ledger's event numbers: only the order a read check compares is state", () => {
    const req = (tag: number, op: BlockOp): BlockRequest => ({
      tag,
      op,
      sector: 0,
      sectorCount: 1,
      vcpu: 0,
      buffer: undefined,
      secure: false,
      parentTag: undefined,
    });
    const [r0, w, r] = [req(1, 'read'), req(2, 'write'), req(3, 'read')];
    type Event = readonly ['submit' | 'complete', BlockRequest];
    const ledgerOfEvents = (events: readonly Event[]): Ledger => {
      const ledger = new Ledger();
      for (const [kind, request] of events)
        if (kind === 'submit') ledger.submitted(request);
        else ledger.completed(request, 'ok', new Uint8Array(512));
      return ledger;
    };
    const world = worldAt(fc.sample(casesArb, { seed: 5, numRuns: 1 })[0]!.config, 11, 150);
    const printWith = (ledger: Ledger): string => {
      const fork = forkWorld(world);
      (fork.guest as { observer: GuestObserver }).observer = ledger;
      return fingerprint(fork);
    };
    /** The verdict on read `r` completing with never-written data, after `events`. */
    const verdict = (events: readonly Event[]) => {
      const ledger = ledgerOfEvents(events);
      ledger.completed(r, 'ok', new Uint8Array(512));
      return ledger.violations.map((v) => v.code);
    };
    // A completed read's numbers are never compared again: where it completed is no state.
    const early: Event[] = [
      ['submit', r0],
      ['complete', r0],
      ['submit', w],
      ['complete', w],
      ['submit', r],
    ];
    const late: Event[] = [
      ['submit', w],
      ['submit', r0],
      ['complete', r0],
      ['complete', w],
      ['submit', r],
    ];
    // The write still in flight when the read was submitted: the read may see either content.
    const overlap: Event[] = [
      ['submit', r0],
      ['complete', r0],
      ['submit', w],
      ['submit', r],
      ['complete', w],
    ];

    it('equal for event numbers that differ but keep the order the checks compare', () => {
      expect(printWith(ledgerOfEvents(late))).toBe(printWith(ledgerOfEvents(early)));
      expect(verdict(late)).toEqual(verdict(early));
    });

    it('teeth: a write completed after the read was submitted, not before, differs', () => {
      // The verdicts differ (never-written data is legal only while the write overlaps)...
      expect(verdict(early)).toEqual(['data-integrity']);
      expect(verdict(overlap)).toEqual([]);
      // ...so the fingerprints must.
      expect(printWith(ledgerOfEvents(overlap))).not.toBe(printWith(ledgerOfEvents(early)));
    });
  });

  // One protocol-visible change at a time, each on a fork of a world in mid-run: the
  // fingerprint must move for every one of them.
  const CHANGES: readonly [string, (w: World) => boolean][] = [
    ['a byte of a ring page', (w) => poke(w.front.device.rings[0]?.front.sring.view, 64)],
    ['blkfront req_prod_pvt', (w) => bump(w.front.device.rings[0]?.front, 'reqProdPvt')],
    ['blkback req_cons', (w) => bump(w.host.back.rings[0]?.back, 'reqCons')],
    ['a xenstore value', (w) => w.xs.write(0, '/local/domain/0/fingerprint', 'x').ok],
    ['a grant', grantRingAgain],
    ['the disk', (w) => writeDisk(w)],
    ['a shadow', (w) => flip(w.front.device.rings[0]?.shadow[0], 'ringOperation')],
    ['the frontend machine', (w) => swapSnapshot(w)],
    ['a pending event', (w) => sendAny(w)],
    ['a port mask', (w) => toggleMask(w)],
    ['a read log count', (w) => noteRead(w)],
    ['a free shadow grant list', (w) => growFreeShadowList(w)],
    ['the ledger', (w) => addFinding(w)],
    ['the guest queues', (w) => bump(w.guest.cursors, 0)],
  ];

  it.each(CHANGES)('differs when %s differs', (_name, change) => {
    let changed = 0;
    for (const sample of fc.sample(casesArb, { seed: 21, numRuns: 30 })) {
      const world = worldAt(sample.config, sample.seed, 40 + (sample.cut % 200));
      const fork = forkWorld(world);
      if (!change(fork)) continue;
      expect(fingerprint(fork)).not.toBe(fingerprint(world));
      changed += 1;
    }
    expect(changed).toBeGreaterThan(0);
  });
});

function writeDisk(world: World): boolean {
  world.disk.write(3, new Uint8Array(512).fill(9));
  return true;
}

function addFinding(world: World): boolean {
  ledgerOf(world).violations.push({ code: 'data-integrity', step: 1, message: 'x' });
  return true;
}

function deliveriesOf(world: World) {
  return enabled(world).filter((a) => a.actor === 'hypervisor' && a.kind === 'deliverEvent');
}

function grantRingAgain(world: World): boolean {
  const rinfo = world.front.device.rings[0];
  if (rinfo === undefined || !world.guestMemory.isAllocated(rinfo.ringFrame)) return false;
  return world.guestGnttab.grantAccess(0, rinfo.ringFrame, true).ok;
}

/** The mask of the frontend's first ring port, flipped (a masked port is not delivered). */
function toggleMask(world: World): boolean {
  const rinfo = world.front.device.rings[0];
  if (rinfo === undefined || rinfo.port === undefined) return false;
  if (world.evtchn.isMasked(world.guestDomid, rinfo.port))
    world.evtchn.unmask(world.guestDomid, rinfo.port);
  else world.evtchn.mask(world.guestDomid, rinfo.port);
  return true;
}

/** One more read of a slot's id field in blkfront's read log (read-once's state). */
function noteRead(world: World): boolean {
  const ring = world.front.device.rings[0]?.front;
  if (ring === undefined) return false;
  ring.reads.noteSlot(0, ringIdx(0), 'response', ['id']);
  return true;
}

/** A grant list entry where a free shadow had none (its empty list is hashed inline). */
function growFreeShadowList(world: World): boolean {
  const shadow = world.front.device.rings[0]?.shadow.find((s) => s.grantsUsed.length === 0);
  if (shadow === undefined) return false;
  const rinfo = world.front.device.rings[0]!;
  const slot = rinfo.persistentSlots[0] ?? rinfo.unusedSlots[0];
  if (slot === undefined) return false;
  shadow.grantsUsed.push(slot);
  return true;
}

function poke(view: DataView | undefined, at: number): boolean {
  if (view === undefined) return false;
  view.setUint8(at, view.getUint8(at) ^ 0xff);
  return true;
}

function bump<T extends object>(target: T | undefined, key: keyof T): boolean {
  if (target === undefined) return false;
  (target as Record<keyof T, number>)[key] += 1;
  return true;
}

function flip<T extends object>(target: T | undefined, key: keyof T): boolean {
  if (target === undefined) return false;
  (target as Record<keyof T, number>)[key] ^= 0x40;
  return true;
}

function swapSnapshot(world: World): boolean {
  const other = initWorld(world.config, HONEST_DRIVERS, new Ledger()).front.snapshot;
  if (other === world.front.snapshot) return false;
  world.front.snapshot = other;
  return true;
}

/** A notification that makes an event pending that was not (a set pending bit is state). */
function sendAny(world: World): boolean {
  const rinfo = world.front.device.rings[0];
  if (rinfo === undefined) return false;
  const pending = world.evtchn.deliverable().length;
  world.evtchn.notify(world.guestDomid, rinfo.port);
  return world.evtchn.deliverable().length !== pending;
}
