// Schedules: a list of naturals, each taken modulo the number of enabled actions, then the fair
// drain. enabled() lists the most ordinary next step first, and fast-check shrinks naturals
// towards 0, so a shrunk schedule is the ordinary one plus the few choices the bug needs.
import fc from 'fast-check';

/**
 * lcm(1..20): FROM_END - k is congruent to -k modulo every enabled count up to 20, so it picks
 * the k-th action from the end of the list whatever the list's length. The end of enabled() is
 * guest submissions, frontend dispatch and faults: a run of such choices starves the backend and
 * fills rings, which uniform choices almost never do.
 */
export const FROM_END = 232_792_560;

export interface ScheduleShape {
  /** Longest choice list; the fair drain finishes the run after it. */
  readonly choiceCountMax: number;
  /** Percent of choices that pick from the end of the enabled list (0: uniform only). */
  readonly fromEndPercent: number;
}

export function scheduleArb(shape: ScheduleShape): fc.Arbitrary<number[]> {
  const uniform = fc.nat();
  const choice =
    shape.fromEndPercent <= 0
      ? uniform
      : fc.oneof(
          { weight: 100 - shape.fromEndPercent, arbitrary: uniform },
          {
            weight: shape.fromEndPercent,
            arbitrary: fc.integer({ min: 1, max: 2 }).map((k) => FROM_END - k),
          },
        );
  return fc.array(choice, { maxLength: shape.choiceCountMax, size: 'max' });
}
