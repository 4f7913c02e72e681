// Progress of a long check: on a terminal one line rewritten in place (at most ten times a
// second); in a log, a plain line every PLAIN_INTERVAL_MS so CI output stays short.
import type { CliIo } from '../command.ts';

const TTY_INTERVAL_MS = 100;
const PLAIN_INTERVAL_MS = 10_000;

export class Progress {
  private last: number;
  private shown = false;
  constructor(private readonly io: CliIo) {
    this.last = io.now();
  }

  update(
    property: string,
    runs: number,
    runsTotal: number,
    actions: number,
    startedMs: number,
  ): void {
    const now = this.io.now();
    const interval = this.io.stderrIsTty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS;
    if (now - this.last < interval) return;
    this.last = now;
    // Past the budget, fast-check is shrinking a failure: every further run is a shrink attempt.
    const count =
      runs <= runsTotal
        ? `${runs}/${runsTotal} runs`
        : `failed, shrinking (${runs - runsTotal} attempts)`;
    const text = `  ${property}: ${count}, ${actions.toLocaleString('en-US')} actions, ${((now - startedMs) / 1000).toFixed(1)}s`;
    if (this.io.stderrIsTty) {
      this.io.stderr(`\r\x1b[2K${text}`);
      this.shown = true;
    } else {
      this.io.stderr(`${text}\n`);
    }
  }

  /** Clears the rewritten line before ordinary output. */
  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}
