// One job interleaves the properties by simulated actions (turns.ts) and writes their rows in
// the order they finish (report-order.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MUTANTS } from '../../properties/mutants/index.ts';
import { ReportOrder } from './report-order.ts';
import type { CheckSummary } from './summary.ts';
import { Turns } from './turns.ts';

describe('Turns', () => {
  it('the next turn goes to the task that spent fewest actions, ties to the earlier', async () => {
    // Task i spends costs[i][k] actions on its k-th turn.
    const costs = [[5, 5, 5], [1, 1, 1, 1, 1, 1, 1], [20]];
    const turns = new Turns(costs.length);
    const log: string[] = [];
    const tasks = costs.map(async (mine, i) => {
      await turns.first(i);
      for (const [k, cost] of mine.entries()) {
        log.push(`${i}.${k}`);
        await turns.pass(i, cost);
      }
      log.push(`${i} done`);
      turns.done(i);
    });
    turns.start();
    await Promise.all(tasks);
    expect(log).toEqual([
      // 0 and 1 tie at 5 actions after 1.4: the earlier task goes first.
      ...['0.0', '1.0', '2.0', '1.1', '1.2', '1.3', '1.4', '0.1', '1.5', '1.6'],
      ...['1 done', '0.2', '0 done', '2 done'],
    ]);
  });

  it('a task that is not waiting when the turn is handed on is a bug, not a hang', () => {
    const turns = new Turns(2);
    void turns.first(0);
    expect(() => turns.start()).toThrow(/task 1 is not waiting/);
  });
});

describe('ReportOrder', () => {
  it('a finished property waits for an unfinished one that may still finish before it', () => {
    const order = new ReportOrder(3);
    order.update(0, 50, false);
    order.update(1, 80, true);
    order.update(2, 10, true);
    expect(order.next()).toBe(2);
    order.markWritten(2);
    expect(order.next()).toBeUndefined();
    order.update(0, 90, false);
    expect(order.next()).toBe(1);
    order.markWritten(1);
    expect(order.unwritten()).toEqual([0]);
  });
});

const exec = promisify(execFile);

describe('one job interleaves the properties (a real process)', () => {
  it('a hostile-only bug fails while the property before it has not finished', async () => {
    const variant = 'blkfront-trusts-rsp-prod';
    expect(MUTANTS.has(variant)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'blkif-turns-'));
    try {
      const argv = [
        'cli/bin.mjs',
        'check',
        '--jobs',
        '1',
        '--seed',
        '1',
        '--bail',
        '--drivers',
        variant,
        '--property',
        'requests-complete-once,hostile-backend',
        '--out',
        join(dir, 'out'),
        '--summary-out',
        join(dir, 's.json'),
      ];
      await exec(process.execPath, argv).catch((e: { code: number }) => expect(e.code).toBe(1));
      const summary = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')) as CheckSummary;
      // Run one property after the other, requests-complete-once would have passed first.
      expect(summary.properties.map((p) => p.result)).toEqual(['skipped', 'safety']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
