// Regression traces of false alarms: runs of the honest drivers on which an earlier honest-side
// oracle demanded what no real driver could do. Each fixture is the trace that oracle wrote; the
// replay must now find nothing, and the situation the oracle misjudged must still be in the run
// (checked per fixture below), so the trace still exercises what it was kept for.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayTrace } from './replay.ts';
import { parseTrace, type Trace } from './schema.ts';

const DIR = join(import.meta.dirname, '../fixtures/false-alarms');

/** What each fixture's run must still contain: the attack the old oracle misjudged. */
const SITUATION: Record<string, { attack: string; oldMessage: string }> = {
  // A duplicate response forged for a free id; blkfront reused the id before reading it.
  'forged-duplicate-id-reused.json': {
    attack: 'duplicateResponse',
    oldMessage: 'blkfront read a forged response',
  },
  // Two rings on one page (badRingRef): the garbage was consumed by the other ring.
  'shared-ring-page-garbage.json': {
    attack: 'badRingRef',
    oldMessage: 'blkback consumed garbage request',
  },
  // rsp_prod pushed past the ring after the backend closed: no event can reach blkif_interrupt.
  'rsp-prod-overflow-after-backend-closed.json': {
    attack: 'rspProdBeyondRing',
    oldMessage: 'blkfront idles connected with rsp_prod',
  },
  // A forged response overwritten by the real one of an I/O that completed after the disconnect.
  'forged-response-overwritten-at-teardown.json': {
    attack: 'wrongOperation',
    oldMessage: 'wrongOperation: blkfront read a forged response',
  },
  // A still-mapped grant at blkif_free_ring: Linux defers the reference and gives the page up.
  'held-grant-freed-at-teardown.json': {
    attack: 'keepGrantMapped',
    oldMessage: 'blkfront freed guest frame',
  },
  // rsp_prod overflowed while blkif_interrupt held a copy: its loop goes on to the rp it read,
  // refuses a forged response there, and the refusal is not the overflow check's.
  'rsp-prod-overflow-mid-loop.json': {
    attack: 'rspProdBeyondRing',
    oldMessage: 'with response-id-out-of-range, not illegal-response-count',
  },
  // The honest backend's push moved rsp_prod back under a forged one (an overflow from blkfront's
  // view) while blkif_interrupt held a copy; blkback's own report came later in the step.
  'rsp-prod-backwards-mid-loop.json': {
    attack: 'wrongOperation',
    oldMessage: 'with response-not-waiting, not illegal-response-count',
  },
  // req_prod overflowed, then a disconnect's kthread_stop halted the ring before the worker ran.
  'overflowed-ring-stopped-by-disconnect.json': {
    attack: 'reqProdBeyondRing',
    oldMessage: 'with no report, not ring-overflow',
  },
};

function attacksOf(trace: Trace): string[] {
  const out: string[] = [];
  for (const s of trace.steps) if (s.action.actor === 'hostile') out.push(s.action.attack);
  return out;
}

describe('false alarms of the honest-side oracle stay fixed', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('every fixture names the situation it keeps', () => {
    expect(files.sort()).toEqual(Object.keys(SITUATION).sort());
  });

  for (const file of files) {
    it(`${file}: the honest drivers replay clean`, () => {
      const trace = parseTrace(readFileSync(join(DIR, file), 'utf8'));
      const situation = SITUATION[file]!;
      expect(trace.drivers).toBe('honest');
      expect(trace.violation?.code).toBe('honest-side');
      expect(trace.violation?.message).toContain(situation.oldMessage);
      expect(attacksOf(trace)).toContain(situation.attack);
      const result = replayTrace(trace);
      expect(result.actual).toBeUndefined();
      // The replay ran every recorded action (a trace the model no longer accepts throws).
      expect(result.trace.steps.length).toBeGreaterThanOrEqual(trace.steps.length);
    });
  }
});
