// PCT (Burckhardt et al., "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs",
// ASPLOS 2010): every thread gets a random priority, the highest-priority enabled thread always
// runs, and at d change points the running thread drops below all others. A bug needing d
// ordering constraints is found with probability at least 1/(n k^d). Threads here are an actor on
// a ring (blkback ring 2, blkfront ring 0, the guest's vCPU 1, xenstored...). The randomness is
// the scenario's choice list, so fast-check still generates, shrinks and replays it.
import type { Action } from '../../impl/world/action.ts';
import type { Chooser } from './chooser.ts';

/** Change points per run: the bug depth PCT aims at. */
export const PCT_DEPTH = 3;

function threadOf(action: Action): string {
  if ('ring' in action) return `${action.actor}:${action.ring}`;
  if ('vcpu' in action) return `guest:${action.vcpu}`;
  if ('connection' in action) return `${action.actor}:${action.connection}`;
  return action.actor;
}

export class PctChooser implements Chooser {
  private readonly priorities = new Map<string, number>();
  private readonly changeAt: readonly number[];
  private step = 0;
  private next = 0;
  private lowest = 0;

  /** `choices` supplies every random number; `steps` bounds the scheduled phase. */
  constructor(
    private readonly choices: readonly number[],
    steps: number,
  ) {
    this.changeAt = choices.slice(0, PCT_DEPTH).map((c) => c % Math.max(1, steps));
    this.next = PCT_DEPTH;
  }

  private random(): number {
    const value = this.choices[this.next % Math.max(1, this.choices.length)] ?? 0;
    this.next += 1;
    return value;
  }

  choose(enabledCount: number, actions?: readonly Action[]): number | 'drain' {
    if (this.next - PCT_DEPTH >= this.choices.length || actions === undefined) return 'drain';
    let best = 0;
    let bestPriority = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < enabledCount; i++) {
      const thread = threadOf(actions[i]!);
      let priority = this.priorities.get(thread);
      if (priority === undefined) {
        // New threads get a random priority above the demoted ones.
        priority = 1 + (this.random() % 1_000_000);
        this.priorities.set(thread, priority);
      }
      if (priority > bestPriority) {
        best = i;
        bestPriority = priority;
      }
    }
    if (this.changeAt.includes(this.step))
      this.priorities.set(threadOf(actions[best]!), --this.lowest);
    this.step += 1;
    this.next += 1;
    return best;
  }
}
