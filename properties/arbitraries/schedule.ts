// Schedules: a list of naturals, each taken modulo the number of enabled actions, then the fair
// drain. enabled() lists the most ordinary next step first, and fast-check shrinks naturals
// towards 0, so a shrunk schedule is the ordinary one plus the few choices the bug needs.
import fc from 'fast-check';

export interface ScheduleShape {
  /** Longest choice list; the fair drain finishes the run after it. */
  readonly choiceCountMax: number;
}

export function scheduleArb(shape: ScheduleShape): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(), { maxLength: shape.choiceCountMax, size: 'max' });
}
