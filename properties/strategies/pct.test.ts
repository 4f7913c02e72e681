import { describe, expect, it } from 'vitest';
import type { Action } from '../../impl/world/action.ts';
import { checkProperty } from '../catalog.ts';
import { MUTANTS } from '../mutants/index.ts';
import { lostWakeup } from '../properties.ts';
import { PctChooser } from './pct.ts';

const consume = (ring: number): Action => ({ actor: 'blkback', kind: 'consumeRequest', ring });
const submit = (vcpu: number): Action => ({ actor: 'guest', kind: 'submit', vcpu });

describe('PctChooser', () => {
  it('always runs the highest-priority thread, whatever the order of the enabled list', () => {
    const pct = new PctChooser([500, 600, 700, 5, 900, 7], 1000);
    const first = pct.choose(3, [consume(0), submit(0), consume(1)]);
    // Priorities drawn: blkback:0 = 6, guest:0 = 901, blkback:1 = 8 -> the guest runs.
    expect(first).toBe(1);
    expect(pct.choose(2, [consume(1), submit(0)])).toBe(1);
  });

  it('demotes the running thread at a change point', () => {
    const pct = new PctChooser([0, 1000, 1000, 10, 20, 30, 40], 1000);
    expect(pct.choose(2, [consume(0), consume(1)])).toBe(1); // 11 < 21
    expect(pct.choose(2, [consume(0), consume(1)])).toBe(0); // ring 1 demoted at step 0
  });

  it('drains once its random numbers are used up, and is deterministic', () => {
    const run = () => {
      const pct = new PctChooser([3, 4, 5, 6], 10);
      const picks: (number | 'drain')[] = [];
      for (let i = 0; i < 4; i++) picks.push(pct.choose(2, [consume(0), consume(1)]));
      return picks;
    };
    expect(run()).toEqual(run());
    expect(run()).toContain('drain');
  });

  it('finds a known-bad variant through checkProperty (teeth)', () => {
    const mutant = MUTANTS.get('frontend-skips-final-check')!;
    const outcome = checkProperty(lostWakeup, {
      numRuns: 300,
      seed: 9,
      drivers: mutant.drivers,
      strategy: 'pct',
    });
    expect(outcome.failure?.firstLine).toMatch(/^lost-wakeup at step \d+/);
  });
});
