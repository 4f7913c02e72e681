import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BlkbackDrivers,
  type BlkfrontDrivers,
  type Drivers,
  HONEST_DRIVERS,
} from '../../impl/world/drivers.ts';
import { scenarioArb, withWeights } from '../arbitraries/scenario.ts';
import { MUTANTS } from '../mutants/index.ts';
import { runSchedule } from '../run.ts';
import { ChoiceListChooser } from '../strategies/chooser.ts';

// The Drivers table's seams (impl/world/drivers.ts). Each one can be replaced on its own: the
// honest coarse routines reach the finer ones through env.drivers. Each one has a known-bad
// variant in properties/mutants, and the teeth suite shows every such variant caught with the
// violation registered for it; together that is "a broken variant of every seam is caught".
type Side = 'blkfront' | 'blkback';
const SIDES: readonly Side[] = ['blkfront', 'blkback'];

function seamsOf(side: Side): string[] {
  return Object.keys(HONEST_DRIVERS[side]);
}

function entry(drivers: Drivers, side: Side, seam: string): unknown {
  return (drivers[side] as unknown as Record<string, unknown>)[seam];
}

/** The seams a variant replaces: the entries that are not the honest routine itself. */
function replacedBy(drivers: Drivers): string[] {
  return SIDES.flatMap((side) =>
    seamsOf(side)
      .filter((seam) => entry(drivers, side, seam) !== entry(HONEST_DRIVERS, side, seam))
      .map((seam) => `${side}.${seam}`),
  );
}

/** The honest table with every seam wrapped in a call counter (behaviour unchanged). */
function countingDrivers(calls: Map<string, number>): Drivers {
  const wrap = <T extends object>(side: Side, table: T): T => {
    const out: Record<string, unknown> = {};
    for (const [seam, routine] of Object.entries(table) as [string, (...a: unknown[]) => unknown][])
      out[seam] = (...args: unknown[]) => {
        calls.set(`${side}.${seam}`, (calls.get(`${side}.${seam}`) ?? 0) + 1);
        return routine(...args);
      };
    return out as T;
  };
  return {
    name: 'counting',
    blkfront: wrap<BlkfrontDrivers>('blkfront', HONEST_DRIVERS.blkfront),
    blkback: wrap<BlkbackDrivers>('blkback', HONEST_DRIVERS.blkback),
  };
}

describe('driver seams', () => {
  it('every seam of both drivers has a known-bad variant that replaces it', () => {
    const covered = new Set([...MUTANTS.values()].flatMap((m) => replacedBy(m.drivers)));
    const all = SIDES.flatMap((side) => seamsOf(side).map((seam) => `${side}.${seam}`));
    expect(all.length).toBeGreaterThanOrEqual(26);
    expect(all.filter((seam) => !covered.has(seam))).toEqual([]);
  });

  it('every known-bad variant replaces at least one seam (none is the honest table renamed)', () => {
    for (const [name, mutant] of MUTANTS) expect(replacedBy(mutant.drivers), name).not.toEqual([]);
  });

  it('every seam is reached through the table, and wrapping them changes no run', () => {
    const calls = new Map<string, number>();
    const counting = countingDrivers(calls);
    const arb = scenarioArb(
      withWeights({ persistent: 70, indirect: 70, largeRequests: 60, migrations: 60, flushes: 60 }),
    );
    const all = SIDES.flatMap((side) => seamsOf(side).map((seam) => `${side}.${seam}`));
    const unreached = () => all.filter((seam) => (calls.get(seam) ?? 0) === 0);
    // Scenarios in a fixed order until every seam was called (a held barrier is the rarest).
    let compared = 0;
    for (const scenario of fc.sample(arb, { numRuns: 300, seed: 1616 })) {
      if (compared >= 20 && unreached().length === 0) break;
      compared += 1;
      const run = (drivers: Drivers) =>
        runSchedule({
          config: scenario.config,
          drivers,
          chooser: new ChoiceListChooser(scenario.choices),
          stepsMax: 2_000,
          drainStepsMax: 20_000,
          record: true,
        });
      const honest = run(HONEST_DRIVERS);
      const wrapped = run(counting);
      expect(wrapped.violation).toEqual(honest.violation);
      expect(wrapped.records.map((r) => r.action)).toEqual(honest.records.map((r) => r.action));
    }
    expect(unreached()).toEqual([]);
  });
});
