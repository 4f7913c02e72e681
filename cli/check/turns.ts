// One job runs every property's chunks at once, interleaved run by run, so a bug that only one
// property reaches (the hostile peers) is found early instead of after every property before it.
// The properties take turns by simulated actions, a deterministic stand-in for CPU time: the
// next run goes to the property that has simulated the fewest actions so far (ties: the earlier
// property). Its runs and results are those of running it alone: only their order changes. The
// order in which properties finish, and so the order of the failure reports, is that of
// (actions, property index): report-order.ts writes the rows in it for one job and for --jobs N.

/** Hands the turn to one task at a time; every other task is waiting for its turn. */
export class Turns {
  private readonly waiting: ((() => void) | undefined)[];
  private readonly active: boolean[];
  private readonly spent: number[];

  constructor(count: number) {
    this.waiting = new Array<(() => void) | undefined>(count).fill(undefined);
    this.active = new Array<boolean>(count).fill(true);
    this.spent = new Array<number>(count).fill(0);
  }

  /** Task `i` waits for its first turn (called synchronously for every task before start()). */
  first(i: number): Promise<void> {
    return this.waitFor(i);
  }

  /** Gives the first turn, once every task waits for it. */
  start(): void {
    this.give();
  }

  /** Task `i` has spent `actions` more actions: it waits while a task that spent fewer runs. */
  pass(i: number, actions: number): Promise<void> {
    if (!(actions >= 0)) throw new Error(`turns: ${actions} actions`);
    this.spent[i]! += actions;
    const turn = this.waitFor(i);
    this.give();
    return turn;
  }

  /** Task `i` is done: the turn goes on to the others. */
  done(i: number): void {
    this.active[i] = false;
    this.give();
  }

  private waitFor(i: number): Promise<void> {
    if (this.waiting[i] !== undefined) throw new Error(`turns: task ${i} waits twice`);
    return new Promise((resolve) => {
      this.waiting[i] = resolve;
    });
  }

  /** Resumes the active task that spent least (every active task is waiting here). */
  private give(): void {
    let next = -1;
    for (let j = 0; j < this.active.length; j++) {
      if (!this.active[j]) continue;
      if (this.waiting[j] === undefined) throw new Error(`turns: task ${j} is not waiting`);
      if (next < 0 || this.spent[j]! < this.spent[next]!) next = j;
    }
    if (next < 0) return;
    const resolve = this.waiting[next]!;
    this.waiting[next] = undefined;
    resolve();
  }
}
