// The order in which a campaign's rows are written (a failure printed, its trace kept): that of
// one job's interleaved properties finishing (turns.ts), by (actions, property index), where a
// property's actions are those of every run it made, shrinking included. One job writes each
// row as its property finishes; --jobs N writes a finished property once no unfinished one can
// come before it: an unfinished property's actions are at least those of its chunks already in.
// So the reports, their order and which trace a repeated violation keeps are the same.
export class ReportOrder {
  private readonly actions: number[];
  private readonly finished: boolean[];
  private readonly written: boolean[];

  constructor(count: number) {
    this.actions = new Array<number>(count).fill(0);
    this.finished = new Array<boolean>(count).fill(false);
    this.written = new Array<boolean>(count).fill(false);
  }

  /** Property `i` has made at least `actions` actions (its final count once `finished`). */
  update(i: number, actions: number, finished: boolean): void {
    if (this.finished[i] && actions !== this.actions[i])
      throw new Error(`report order: property ${i} changed after it finished`);
    this.actions[i] = Math.max(this.actions[i]!, actions);
    this.finished[i] = finished;
  }

  /** The next row to write, if it is settled: the least unwritten property, finished. */
  next(): number | undefined {
    let least = -1;
    for (let i = 0; i < this.actions.length; i++) {
      if (this.written[i]) continue;
      if (least < 0 || this.actions[i]! < this.actions[least]!) least = i;
    }
    return least >= 0 && this.finished[least] ? least : undefined;
  }

  markWritten(i: number): void {
    this.written[i] = true;
  }

  /** Properties not written yet, in plan order. */
  unwritten(): number[] {
    return this.written.flatMap((w, i) => (w ? [] : [i]));
  }
}
