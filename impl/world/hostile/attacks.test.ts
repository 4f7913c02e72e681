import { describe, expect, it } from 'vitest';
import type { WorldConfig } from '../config.ts';
import { validateConfig } from '../config.ts';
import { HONEST_DRIVERS } from '../drivers.ts';
import { enabled } from '../enabled.ts';
import { initWorld } from '../init.ts';
import { step } from '../step.ts';
import type { World } from '../world.ts';
import {
  attacksOf,
  BACKEND_ATTACKS,
  defencesAgainst,
  FRONTEND_ATTACKS,
  isAttackOf,
} from './attacks.ts';
import type { HostilePlan, HostileSide } from './plan.ts';
import { GARBAGE_KINDS } from './garbage.ts';
import { adversaryOf } from './record.ts';

describe('the attack table', () => {
  it('lists each side in the order the plan generator draws from (seeds replay from it)', () => {
    expect(BACKEND_ATTACKS).toEqual([
      'bogusResponseId',
      'duplicateResponse',
      'wrongOperation',
      'rspProdBeyondRing',
      'eventStorm',
      'floodEvents',
      'lyingQueueCountMax',
      'lyingRingPageOrderMax',
      'lyingIndirectSegmentsMax',
      'keepGrantMapped',
      'rewriteResponse',
      'spoilDeviceInfo',
      'mapDuringRevocation',
      'flapBackendState',
    ]);
    expect(FRONTEND_ATTACKS).toEqual([
      'numQueuesAboveMax',
      'numQueuesZero',
      'ringPageOrderAboveMax',
      'badRingRef',
      'rewriteRequest',
      'reqProdBeyondRing',
      'garbageRequest',
      'flapState',
      'ringPageOrderWithRefs',
      'rewriteIndirect',
      'mapFailure',
      'floodBackendEvents',
    ]);
  });

  it('names the defences each side is judged on: blkfront against a backend, blkback against a guest', () => {
    expect([...defencesAgainst('blkback')].sort()).toEqual([
      'keepMappedPage',
      'keepOwnLimits',
      'noEoiAfterError',
      'refuseForgedResponse',
      'refuseMissingDeviceInfo',
      'refuseRspProdOverflow',
      'refuseRspProdOverflowAtOnce',
      'throttleSpuriousEvents',
    ]);
    expect([...defencesAgainst('blkfront')].sort()).toEqual([
      'accountEveryRequest',
      'haltOnReqProdOverflow',
      'noEoiAfterHalt',
      'refuseBadConnect',
      'refuseGarbage',
      'throttleBackendEvents',
    ]);
  });

  it('knows an attack only by its own name and side (not an inherited property)', () => {
    expect(isAttackOf('blkback', 'bogusResponseId')).toBe(true);
    expect(isAttackOf('blkfront', 'bogusResponseId')).toBe(false);
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 7, undefined])
      expect(isAttackOf('blkback', name)).toBe(false);
  });
});

function hostileConfig(side: HostileSide): WorldConfig {
  const hostile: HostilePlan = {
    side,
    // Without spoilDeviceInfo and state flaps: blkfront then never connects (or stops being
    // connected), and nothing else would land.
    attacks: attacksOf(side)
      .filter((attack) => attack !== 'spoilDeviceInfo' && attack !== 'flapBackendState')
      .flatMap((attack) => [
        { attack, ring: 0, value: 3 },
        { attack, ring: 1, value: 1 },
      ]),
    budget: 64,
  };
  return {
    vcpuCount: 2,
    abi: 'x86_64-abi',
    diskSectors: 2048,
    frontend: { queueCountMax: 2, ringPageOrderMax: 1, indirectSegmentsMax: 32, persistent: true },
    backend: {
      queueCountMax: 2,
      ringPageOrderMax: 1,
      indirectSegmentsMax: 32,
      persistent: true,
      persistentGrantsMax: 1056,
      flush: true,
      barrier: false,
      discard: false,
    },
    workload: [0, 1, 0, 1].map((vcpu, i) => ({
      vcpu,
      op: i < 2 ? ('write' as const) : ('read' as const),
      sector: 64 * vcpu,
      sectorCount: 16,
      offsetSectors: 0,
    })),
    faults: { migrations: [], unplug: false, frontendClose: false, transactionConflicts: 0 },
    hostile,
  };
}

/** Steps, preferring an attack every third step, so the record fills with what the peer did. */
function runAttacking(config: WorldConfig): World {
  const world = initWorld(config, HONEST_DRIVERS, { submitted: () => {}, completed: () => {} });
  for (let n = 0; n < 400; n++) {
    const actions = enabled(world);
    if (actions.length === 0) break;
    const attack = actions.findIndex((a) => a.actor === 'hostile');
    const chosen = attack >= 0 && n % 3 === 0 ? attack : n % actions.length;
    step(world, actions[chosen]!);
  }
  return world;
}

/** Everything a generic deep copy can duplicate: no views of memory, no functions, no classes. */
function plainDataProblems(value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol')
      out.push(`${path}: ${typeof value}`);
    return;
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      plainDataProblems(k, `${path}.key`, out);
      plainDataProblems(v, `${path}[${String(k)}]`, out);
    }
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype) {
    out.push(`${path}: ${proto?.constructor?.name ?? 'null-prototype'} object`);
    return;
  }
  for (const [k, v] of Object.entries(value)) plainDataProblems(v, `${path}.${k}`, out);
}

describe('the adversary record', () => {
  it('is created with the world for a hostile run and absent otherwise', () => {
    const config = hostileConfig('blkback');
    expect(validateConfig(config).ok).toBe(true);
    const { hostile: _, ...honest } = config;
    const observer = { submitted: () => {}, completed: () => {} };
    expect(initWorld(honest, HONEST_DRIVERS, observer).adversary).toBeUndefined();
    const record = adversaryOf(initWorld(config, HONEST_DRIVERS, observer));
    expect(record.used).toEqual(config.hostile!.attacks.map(() => false));
  });

  for (const side of ['blkback', 'blkfront'] as const) {
    it(`after a hostile ${side}'s attacks, is plain data a deep copy duplicates whole`, () => {
      const world = runAttacking(hostileConfig(side));
      const record = adversaryOf(world);
      expect(record.taken).toBeGreaterThan(3);
      expect(record.effective.size).toBeGreaterThan(1);
      const planted =
        side === 'blkback' ? record.forged.length + record.heldRefs.length : record.garbage.length;
      expect(planted).toBeGreaterThan(0);
      const problems: string[] = [];
      plainDataProblems(record, 'adversary', problems);
      expect(problems).toEqual([]);
      expect(structuredClone(record)).toEqual(record);
    });
  }

  it('teeth: a ring object or a page view in the record is reported', () => {
    const world = runAttacking(hostileConfig('blkback'));
    const problems: string[] = [];
    const rinfo = world.front.device.rings[0];
    plainDataProblems({ rinfo, view: rinfo?.front.sring.view }, 'bad', problems);
    expect(problems).toContain('bad.view: DataView object');
  });
});

describe('the garbage table', () => {
  // Each row's refusal is the exact one its row names: the status and the report of the check
  // that refuses it, on the grant it names (the indirect rows need pages the guest grants itself).
  GARBAGE_KINDS.forEach((what, value) => {
    it(`${what}: blkback answers with the row's status and report`, () => {
      const config = hostileConfig('blkfront');
      const plan: HostilePlan = {
        side: 'blkfront',
        attacks: [{ attack: 'garbageRequest', ring: 0, value }],
        budget: 1,
      };
      const world = runAttacking({ ...config, hostile: plan });
      const [garbage] = adversaryOf(world).garbage;
      expect(garbage?.what).toBe(what);
      const report = world.reports.find((r) => r.side === 'blkback' && r.requestId === garbage!.id);
      expect(report?.code).toBe(garbage!.report);
      if (garbage!.gref !== undefined) expect(report?.gref).toBe(garbage!.gref);
    });
  });

  it('reaches a map failure inside an indirect request and a refused well-formed one', () => {
    const reports = new Set<string>();
    GARBAGE_KINDS.forEach((what, value) => {
      if (!what.includes('indirect')) return;
      const plan: HostilePlan = {
        side: 'blkfront',
        attacks: [{ attack: 'garbageRequest', ring: 0, value }],
        budget: 1,
      };
      const world = runAttacking({ ...hostileConfig('blkfront'), hostile: plan });
      const record = adversaryOf(world);
      for (const g of record.garbage) reports.add(`${g.what}: ${g.report}`);
      if (what.startsWith('well-formed') || what.includes('first batch'))
        expect(record.ownRefs.length).toBe(2);
    });
    expect(reports).toContain(
      'indirect with an ungranted data page in its first batch: grant-map-failed',
    );
    expect(reports).toContain('well-formed indirect with inner op discard: request-rejected');
  });
});

describe('spoiled device keys and a consistent-looking ring order', () => {
  it('spoilDeviceInfo: blkfront never connects the disk and writes "reading backend fields"', () => {
    for (const value of [0, 1, 2, 3, 4, 5, 9, 10, 11]) {
      const plan: HostilePlan = {
        side: 'blkback',
        attacks: [{ attack: 'spoilDeviceInfo', ring: 0, value }],
        budget: 1,
      };
      const world = runAttacking({ ...hostileConfig('blkback'), hostile: plan });
      expect(adversaryOf(world).effective.get('spoilDeviceInfo')).toBe(1);
      expect(world.front.hasDisk).toBe(false);
      const error = world.xs.read(
        world.guestDomid,
        `/local/domain/${world.guestDomid}/error/device/vbd/51712/error`,
      );
      expect(error.ok && error.value).toContain('reading backend fields');
    }
  });

  it('ringPageOrderWithRefs: blkback refuses the order before it maps any ring', () => {
    const plan: HostilePlan = {
      side: 'blkfront',
      attacks: [{ attack: 'ringPageOrderWithRefs', ring: 0, value: 5 }],
      budget: 1,
    };
    // The attack once blkfront's keys are committed (before, its transaction retries over them).
    const world = initWorld({ ...hostileConfig('blkfront'), hostile: plan }, HONEST_DRIVERS, {
      submitted: () => {},
      completed: () => {},
    });
    for (let n = 0; n < 400; n++) {
      const actions = enabled(world);
      if (actions.length === 0) break;
      const initialised = world.stateWrites.some((w) => w.side === 'frontend' && w.to === 3);
      const attack = actions.findIndex((a) => a.actor === 'hostile');
      step(world, actions[initialised && attack >= 0 ? attack : 0]!);
    }
    expect(adversaryOf(world).effective.get('ringPageOrderWithRefs')).toBe(1);
    const error = world.xs.read(0, '/local/domain/0/error/backend/vbd/1/51712/error');
    expect(error.ok && error.value).toContain('requested ring page order 2 exceed max:1');
    expect(world.host.back.rings).toEqual([]);
  });
});

describe('a published response rewritten before blkfront copies it', () => {
  for (const [value, code] of [
    [0, 'response-id-out-of-range'],
    [1, 'response-wrong-operation'],
  ] as const) {
    it(`value ${value}: blkfront refuses the bytes it copies with ${code}`, () => {
      const plan: HostilePlan = {
        side: 'blkback',
        attacks: [{ attack: 'rewriteResponse', ring: 0, value }],
        budget: 1,
      };
      const world = runAttacking({ ...hostileConfig('blkback'), hostile: plan });
      expect(adversaryOf(world).effective.get('rewriteResponse')).toBe(1);
      expect(world.front.device.connection).toBe('error');
      expect(world.reports.filter((r) => r.side === 'blkfront').map((r) => r.code)).toEqual([code]);
    });
  }
});

describe('a paced plan', () => {
  const flap = (value: number) => ({ attack: 'flapBackendState' as const, ring: 0, value });
  // '6' (Closed), then '4' (Connected): the second offered only after blkfront handled the first.
  const plan: HostilePlan = {
    side: 'blkback',
    attacks: [flap(5), flap(3)],
    budget: 2,
    paced: true,
  };

  it('offers only its next spec, and only once blkfront has reacted to everything written', () => {
    const world = initWorld({ ...hostileConfig('blkback'), hostile: plan }, HONEST_DRIVERS, {
      submitted: () => {},
      completed: () => {},
    });
    const taken: number[] = [];
    for (let n = 0; n < 400; n++) {
      const actions = enabled(world);
      if (actions.length === 0) break;
      const attacks = actions.filter((a) => a.actor === 'hostile');
      expect(attacks.length).toBeLessThanOrEqual(1);
      if (attacks.length === 1) {
        // Settled: bound, no otherend event queued for blkfront, no callback or transaction.
        expect(world.front.snapshot.context.bound).toBe(true);
        expect(world.xs.pendingWatchCount(world.guestDomid)).toBe(0);
        expect(world.front.tx).toBeUndefined();
        const next = adversaryOf(world).used.indexOf(false);
        // Before its Connected, blkfront has read the Closed and closed (blkfront_closing).
        if (next === 1) expect(world.front.cachedState).toBe(6);
        taken.push(next);
        step(world, attacks[0]!);
      } else step(world, actions[0]!);
    }
    expect(taken).toEqual([0, 1]);
  });

  it('is refused when paced is not a boolean', () => {
    const bad = validateConfig({
      ...hostileConfig('blkback'),
      hostile: { ...plan, paced: 'yes' as unknown as boolean },
    });
    expect(bad.ok ? [] : bad.error.map((i) => i.path)).toEqual(['hostile.paced']);
  });
});
