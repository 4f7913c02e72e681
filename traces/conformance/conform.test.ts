import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conformTrace, compareWithModel } from './conform.ts';
import { checkSession } from './check.ts';
import {
  cutAfter,
  editFrontendStateJump,
  editQueuesDespiteSingleQueueBackend,
  insertAfter,
  replaceLines,
  stateChangeLines,
} from './edit-trace.ts';
import { type DeviceSession, extractDevices } from './extract.ts';
import { type ConnectionWrites, replayLineage } from './model-replay.ts';
import { parseXsTrace } from './parse-xs-trace.ts';
import { lineagesOf, planOf } from './replay-plan.ts';
import { summarizeDevice } from './summarize-device.ts';
import { readScenario1, recordedScenarios } from './scenario-files.ts';

function verdicts(text: string, device?: string) {
  const result = conformTrace(text, device === undefined ? {} : { device });
  if (!result.ok) throw new Error(`line ${result.error.line}: ${result.error.message}`);
  return result.value;
}

function sessionsOf(text: string): DeviceSession[] {
  const parsed = parseXsTrace(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return extractDevices(parsed.value);
}

/** Replaces `find` by `replace` in the one line (starting with `prefix`) that contains it. */
function editLine(text: string, find: string, replace: string, prefix = ''): string {
  const lines = text.split('\n');
  const hits = lines.flatMap((line, index) =>
    line.startsWith(prefix) && line.includes(find) ? [index] : [],
  );
  if (hits.length !== 1) throw new Error(`${hits.length} lines contain ${find}`);
  lines[hits[0]!] = lines[hits[0]!]!.replace(find, replace);
  return lines.join('\n');
}

describe('conform: bad input', () => {
  it('an unparsable trace is an issue with its line number, not a verdict', () => {
    const result = conformTrace('CREATE connection 0xa\nthis is not a trace line\n', {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.line).toBe(2);
  });

  it('a trace without a vbd has no sessions', () => {
    expect(verdicts('CREATE connection 0xa\n')).toEqual([]);
  });
});

describe(`conform on scenario-1 (Xen 4.17 + Linux 6.1)`, () => {
  const text = readScenario1();

  it('the real run conforms: first boot, restore with one queue, second disk', () => {
    const found = verdicts(text);
    expect(found.map((v) => v.device)).toEqual(['vbd 1/51712', 'vbd 2/51712', 'vbd 2/51728']);
    expect(found.map((v) => v.divergence?.message)).toEqual([undefined, undefined, undefined]);
    // Every connection was compared: 9 frontend + 17 backend (its Closed after the save
    // included) + 3 toolstack changes, and so on.
    expect(found.map((v) => v.writesCompared)).toEqual([29, 26, 32]);
    expect(found.map((v) => v.backendThroughTeardown)).toEqual([true, true, false]);
  });

  it('the plan: backend limits as advertised, save as a migration, detach as unplug', () => {
    const [first, second] = lineagesOf(sessionsOf(text));
    expect(first!.sessions.map((s) => s.domid)).toEqual([1, 2]);
    const plan = planOf(first!);
    expect(plan.faults).toEqual(['save', 'destroy']);
    expect(plan.config.backend.queueCountMax).toBe(2);
    expect(plan.config.backend.ringPageOrderMax).toBe(4);
    expect(plan.config.faults.migrations.map((b) => b.queueCountMax)).toEqual([1]);
    expect(plan.config.frontend.queueCountMax).toBe(2);
    expect(plan.config.frontend.ringPageOrderMax).toBe(0);
    expect(plan.config.vcpuCount).toBe(2);
    expect(planOf(second!).faults).toEqual(['detach']);
    expect(planOf(second!).config.diskSectors).toBe(8192);
  });

  it('--device selects sessions by devid or domid/devid', () => {
    expect(verdicts(text, '51728').map((v) => v.device)).toEqual(['vbd 2/51728']);
    expect(verdicts(text, '2/51712').map((v) => v.device)).toEqual(['vbd 2/51712']);
    expect(verdicts(text, '9')).toEqual([]);
  });

  it('rejects queue-N keys written after reading multi-queue-max-queues 1', () => {
    const edited = editQueuesDespiteSingleQueueBackend(text);
    if (!edited.ok) throw new Error(edited.error);
    const found = verdicts(edited.value.text)[0]!.divergence!;
    expect(found.rule).toBe('queue-count');
    expect(found.device).toBe('vbd 1/51712');
    expect(found.line).toBe(2715);
    expect(found.message).not.toContain('\n');
    expect(found.message).toMatch(
      /^queue-count: .*multi-queue-num-queues 2 .*multi-queue-max-queues 1/,
    );
  });

  it('rejects a frontend state jump Initialising -> Connected', () => {
    const edited = editFrontendStateJump(text);
    if (!edited.ok) throw new Error(edited.error);
    const found = verdicts(edited.value.text)[0]!.divergence!;
    expect(found.rule).toBe('illegal-transition');
    expect(found.line).toBe(edited.value.lines[0]);
    expect(found.message).toContain('Initialising (1) → Connected (4)');
    expect(found.message).not.toContain('\n');
  });

  it('rejects a multi-page key name on a one-page ring (key layout)', () => {
    const edited = editLine(text, 'queue-1/ring-ref 9)', 'queue-1/ring-ref0 9)');
    const found = verdicts(edited)[0]!.divergence!;
    expect(found.rule).toBe('key-layout');
    expect(found.index).toBe(3);
    expect(found.expected).toBe('queue-1/ring-ref = <grant ref>');
  });

  it('rejects a ring-page-order above what the backend advertised', () => {
    const edited = editLine(
      text,
      'WRITE (device/vbd/51712/multi-queue-num-queues 2)',
      'WRITE (device/vbd/51712/ring-page-order 5)',
    );
    const found = verdicts(edited)[0]!.divergence!;
    expect(found.rule).toBe('ring-page-order');
    expect(found.expected).toBe('ring-page-order 0..4');
    expect(found.message).toContain('max-ring-page-order 4');
  });

  it("rejects blkback reading a ring's ring-ref before its event-channel", () => {
    // blkback's connection in scenario-1: the first one created.
    const blkback = 'IN 0x560ddcd95dc0 ';
    const path = '/local/domain/1/device/vbd/51712/queue-0/';
    let edited = editLine(text, `READ (${path}event-channel )`, `READ (${path}SWAP )`, blkback);
    edited = editLine(edited, `READ (${path}ring-ref )`, `READ (${path}event-channel )`, blkback);
    edited = editLine(edited, `READ (${path}SWAP )`, `READ (${path}ring-ref )`, blkback);
    const found = verdicts(edited)[0]!.divergence!;
    expect(found.rule).toBe('backend-reads');
    expect(found.connection).toBe("dom0's kernel (blkback)");
    expect(found.expected).toBe('a read of queue-0/event-channel');
  });

  it("rejects connect()'s keys in another order (backend writes)", () => {
    let edited = editLine(
      text,
      'WRITE (backend/vbd/1/51712/info 0)',
      'WRITE (backend/vbd/1/51712/SWAP 512)',
    );
    edited = editLine(
      edited,
      'WRITE (backend/vbd/1/51712/sector-size 512)',
      'WRITE (backend/vbd/1/51712/info 0)',
    );
    edited = editLine(
      edited,
      'WRITE (backend/vbd/1/51712/SWAP 512)',
      'WRITE (backend/vbd/1/51712/sector-size 512)',
    );
    const found = verdicts(edited)[0]!.divergence!;
    expect(found.rule).toBe('backend-writes');
    expect(found.index).toBe(8);
  });
});

describe(`model comparison teeth on scenario-1 (Xen 4.17 + Linux 6.1)`, () => {
  const sessions = sessionsOf(readScenario1());
  const lineage = lineagesOf(sessions)[0]!;
  const first = sessions[0]!;

  function tampered(edit: (model: ConnectionWrites) => void): ConnectionWrites {
    const model = replayLineage(planOf(lineage)).sessions[0]!;
    const copy: ConnectionWrites = {
      frontend: [...model.frontend],
      backend: [...model.backend],
      toolstack: [...model.toolstack],
      teardownGroup: model.teardownGroup,
    };
    edit(copy);
    return copy;
  }

  it('the untouched replay matches, structurally clean', () => {
    expect(checkSession(first)).toBeUndefined();
    expect(
      compareWithModel(
        first,
        tampered(() => {}),
        undefined,
      ).divergence,
    ).toBeUndefined();
  });

  it('a model backend writing two connect keys in swapped order is the first divergence', () => {
    const model = tampered((m) => {
      const at = m.backend.findIndex((w) => w.key === 'sectors');
      [m.backend[at], m.backend[at + 1]] = [m.backend[at + 1]!, m.backend[at]!];
    });
    const found = compareWithModel(first, model, undefined).divergence!;
    expect(found.rule).toBe('model-writes');
    expect(found.connection).toBe("dom0's kernel (blkback)");
    expect(found.index).toBe(11);
    expect(found.expected).toBe('a write of info = 0');
    expect(found.found).toBe('sectors = 16384');
  });

  it('a model frontend that stops early, or a toolstack writing another value, diverges', () => {
    const short = compareWithModel(
      first,
      tampered((m) => m.frontend.pop()),
      undefined,
    ).divergence!;
    expect(short.expected).toBe('no further write');
    expect(short.found).toBe('state = 4');
    const toolstack = tampered((m) => {
      m.toolstack = m.toolstack.map((w) => (w.key === 'online' ? { ...w, value: '0' } : w));
    });
    expect(compareWithModel(first, toolstack, undefined).divergence?.connection).toBe(
      'dom0 userspace (libxl, hotplug script)',
    );
  });

  it('a model configured unlike the run (single-queue backend) diverges at the first key', () => {
    const plan = planOf(lineage);
    const wrong = {
      ...plan,
      config: { ...plan.config, backend: { ...plan.config.backend, queueCountMax: 1 } },
    };
    const replay = replayLineage(wrong);
    const found = compareWithModel(first, replay.sessions[0], replay.failure).divergence!;
    expect(found.rule).toBe('model-writes');
    expect(found.connection).toBe("guest 1's kernel (blkfront)");
    expect(found.index).toBe(0);
    expect(found.expected).toBe('a write of ring-ref = <any>');
  });
});

describe('conform compares blkback past a save (teeth)', () => {
  it("a blkback that answers libxl's destroy with Connected instead of Closed diverges from the model", () => {
    const real = readScenario1();
    // Line 4827 is blkback's `state 6` after the save's teardown; 5 -> 4 is a legal backend edge,
    // so only the comparison with the model's own writes can catch it.
    const edited = replaceLines(
      real,
      new Map([[4827, (line: string) => line.replace('51712/state 6)', '51712/state 4)')]]),
    );
    expect(edited).not.toBe(real);
    const first = verdicts(edited)[0]!;
    expect(first.divergence?.rule).toBe('model-writes');
    expect(first.divergence?.message).toMatch(/state = 6.*state = 4|expected state = 6/);
  });
});

describe('prefix-closed: a real session that stops early is accepted, a foreign write is not', () => {
  const text = readScenario1();
  const first = sessionsOf(text)[0]!;
  // blkfront's connection in scenario-1 (guest 1's kernel) and the reply to its state-3 commit.
  const blkfront = '0x560ddcd9b8a0';
  const stamp = '20261122 23:03:34';

  it('cut just before and just after every state change of vbd 1/51712: every session ok', () => {
    const cuts = stateChangeLines(first).flatMap((line) => [line - 1, line]);
    expect(cuts.length).toBeGreaterThanOrEqual(16);
    const partial: string[] = [];
    for (const cut of cuts) {
      const found = verdicts(cutAfter(text, cut));
      expect(found.length, `cut at ${cut}`).toBeGreaterThan(0);
      for (const verdict of found) {
        expect(verdict.divergence?.message, `cut at line ${cut}`).toBeUndefined();
        if (verdict.partial !== undefined) partial.push(verdict.partial.states);
      }
    }
    // Cuts before the connection are partial; their states are the ones the cut left.
    expect(partial).toContain('frontend Initialising (1), backend InitWait (2)');
    expect(partial).toContain('frontend Initialised (3), backend InitWait (2)');
  });

  it('a guest whose blkfront never wrote: partial, naming the silence and the next write', () => {
    const initWait = summarizeDevice(first).backendStates.find((step) => step.state === 2)!;
    const verdict = verdicts(cutAfter(text, initWait.line))[0]!;
    expect(verdict.divergence).toBeUndefined();
    expect(verdict.partial?.states).toBe('frontend Initialising (1), backend InitWait (2)');
    expect(verdict.partial?.why).toContain("guest 1's kernel never wrote to it");
    expect(verdict.partial?.next).toBe("guest 1's kernel (blkfront) would write ring-ref = <any>");
  });

  it('one write the model would not make, inserted in the cut copy, is rejected naming it', () => {
    const committed = 2800; // blkfront's TRANSACTION_END reply for state 3 (Initialised)
    expect(text.split('\n')[committed - 1]).toBe(`OUT ${blkfront} ${stamp} TRANSACTION_END (OK )`);
    const cut = cutAfter(text, committed + 10);
    expect(verdicts(cut)[0]!.partial).toBeDefined();
    const bad = insertAfter(cut, committed, [
      // A blkfront announcing Initialised twice: a legal non-change, but not what it does.
      `IN ${blkfront} ${stamp} WRITE (device/vbd/51712/state 3)`,
      `OUT ${blkfront} ${stamp} WRITE (OK )`,
    ]);
    const found = verdicts(bad)[0]!.divergence!;
    expect(found.rule).toBe('model-writes');
    expect(found.connection).toBe("guest 1's kernel (blkfront)");
    expect(found.line).toBe(committed + 1);
    expect(found.found).toBe('state = 3');
    expect(found.expected).toBe('a write of state = 4');
  });

  it('a blkback write the model would not make, in the full trace, is rejected naming it', () => {
    const blkback = '0x560ddcd95dc0';
    const lines = text.split('\n');
    const connected = lines.findIndex(
      (l) => l.startsWith(`IN ${blkback}`) && l.includes('51712/state 4)'),
    );
    // After the commit of connect()'s state 4: a plain write, outside any transaction.
    const commit = lines.findIndex(
      (l, i) => i > connected && l.startsWith(`OUT ${blkback} ${stamp} TRANSACTION_END`),
    );
    const bad = insertAfter(text, commit + 1, [
      `IN ${blkback} ${stamp} WRITE (backend/vbd/1/51712/feature-barrier 1)`,
      `OUT ${blkback} ${stamp} WRITE (OK )`,
    ]);
    const found = verdicts(bad)[0]!.divergence!;
    expect(found.rule).toBe('model-writes');
    expect(found.line).toBe(commit + 2);
    expect(found.expected).toBe('a write of state = 6');
    expect(found.connection).toBe("dom0's kernel (blkback)");
    expect(found.found).toBe('feature-barrier = 1');
  });
});

describe('conform compares blkback past xl destroy (teeth of the toolstack destroy)', () => {
  it('a blkback that answers xl destroy with Connected instead of Closed diverges from the model', () => {
    const real = readScenario1();
    // Line 11546 is blkback's state 6 after libxl's forced destroy of domain 2.
    const edited = replaceLines(
      real,
      new Map([[11546, (line: string) => line.replace('51712/state 6)', '51712/state 4)')]]),
    );
    expect(edited).not.toBe(real);
    const destroyed = verdicts(edited).find((v) => v.device === 'vbd 2/51712')!;
    expect(destroyed.divergence?.rule).toBe('model-writes');
    expect(destroyed.divergence?.message).toContain('expected a write of state = 6');
  });
});

describe('prefix-closed on every committed recording', () => {
  // Every state change of every session of every recording, cut just after it: no divergence.
  it.each(recordedScenarios().map((s) => [s.name, s.trace] as const))('%s', (_name, path) => {
    const text = readFileSync(path, 'utf8');
    const cuts = [...new Set(sessionsOf(text).flatMap(stateChangeLines))].sort((a, b) => a - b);
    expect(cuts.length).toBeGreaterThan(2);
    for (const cut of cuts) {
      for (const verdict of verdicts(cutAfter(text, cut))) {
        expect(
          verdict.divergence?.message,
          `${verdict.device}, cut at line ${cut}`,
        ).toBeUndefined();
      }
    }
  });
});
