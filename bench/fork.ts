// Fork and fingerprint cost on the reference scenario: forking the world at step 200 against
// replaying those 200 steps from a fresh world (what an explorer would do without a fork), and
// the fingerprint of that world. Interleaved, medians of rounds (interleave.ts).
import { HONEST_DRIVERS } from '../impl/world/drivers.ts';
import { enabled } from '../impl/world/enabled.ts';
import { fingerprint, forkWorld } from '../impl/world/fork.ts';
import { initWorld } from '../impl/world/init.ts';
import { step } from '../impl/world/step.ts';
import type { World } from '../impl/world/world.ts';
import { Ledger } from '../properties/ledger.ts';
import { SeededChooser } from '../properties/strategies/chooser.ts';
import { interleave } from './interleave.ts';
import type { BenchFigure } from './main.ts';
import { REFERENCE_CONFIG } from './steps-per-second.ts';

const CUT = 200;
const TARGET = 0.1;

function replay(steps: number): World {
  const world = initWorld(REFERENCE_CONFIG, HONEST_DRIVERS, new Ledger());
  const chooser = new SeededChooser(1, 1_000_000);
  for (let n = 0; n < steps; n++) {
    const actions = enabled(world);
    if (actions.length === 0) throw new Error('bench: the reference scenario ended early');
    const choice = chooser.choose(actions.length);
    step(world, actions[choice === 'drain' ? 0 : choice]!);
  }
  return world;
}

/** One operation; its result is checked so the work cannot be optimised away. */
function once(op: () => unknown): number {
  if (op() === undefined) throw new Error('bench: an operation returned nothing');
  return 1;
}

export function run(): BenchFigure[] {
  const at = replay(CUT);
  const rates = interleave(
    [
      { name: 'replay', work: () => once(() => replay(CUT)) },
      { name: 'fork', work: () => once(() => forkWorld(at)) },
      { name: 'fingerprint', work: () => once(() => fingerprint(at)) },
    ],
    { rounds: 5, sliceSeconds: 0.2 },
  );
  const us = (name: string): number => 1e6 / rates.get(name)!;
  const ratio = us('fork') / us('replay');
  return [
    { label: `fork: replay of ${CUT} steps (reference scenario)`, value: us('replay'), unit: 'µs' },
    { label: `fork: forkWorld at step ${CUT}`, value: us('fork'), unit: 'µs' },
    { label: `fork: fingerprint at step ${CUT}`, value: us('fingerprint'), unit: 'µs' },
    {
      label: `ratio: fork / replay of ${CUT} steps`,
      value: ratio,
      unit: `(target <= ${TARGET}${ratio <= TARGET ? ', met' : ', NOT met'})`,
      digits: 3,
    },
  ];
}
