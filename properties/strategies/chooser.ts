// A chooser decides which enabled action runs next; the world never decides. `drain` ends the
// scheduled phase and hands over to the fair drain.
import type { Action } from '../../impl/world/action.ts';

export interface Chooser {
  /** `actions` is the enabled list itself, for strategies that pick by thread (PCT). */
  choose(enabledCount: number, actions?: readonly Action[]): number | 'drain';
}

/** fast-check's schedules: a list of naturals, each taken modulo the enabled count. */
export class ChoiceListChooser implements Chooser {
  private next = 0;
  constructor(private readonly choices: readonly number[]) {}
  choose(enabledCount: number): number | 'drain' {
    const choice = this.choices[this.next];
    if (choice === undefined) return 'drain';
    this.next += 1;
    return choice % enabledCount;
  }
  get used(): number {
    return this.next;
  }
}

/** A seeded chooser for long campaigns and benchmarks (xorshift32; deterministic by seed). */
export class SeededChooser implements Chooser {
  private state: number;
  private left: number;
  constructor(seed: number, steps: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
    this.left = steps;
  }
  choose(enabledCount: number): number | 'drain' {
    if (this.left <= 0) return 'drain';
    this.left -= 1;
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state % enabledCount;
  }
}
