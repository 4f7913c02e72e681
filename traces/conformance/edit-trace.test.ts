import { describe, expect, it } from 'vitest';
import {
  editFrontendStateJump,
  editQueuesDespiteSingleQueueBackend,
  withReadValue,
  withWriteValue,
} from './edit-trace.ts';
import { extractDevices } from './extract.ts';
import { parseXsTrace } from './parse-xs-trace.ts';
import { readScenario1 } from './scenario-files.ts';
import { lastRead, summarizeDevice } from './summarize-device.ts';

function summariesOf(text: string) {
  const parsed = parseXsTrace(text);
  if (!parsed.ok) throw new Error(`line ${parsed.error.line}: ${parsed.error.message}`);
  return extractDevices(parsed.value).map(summarizeDevice);
}

describe('line edits', () => {
  it('replace a READ answer and a WRITE value, keeping the path', () => {
    expect(withReadValue('OUT 0x1 20261122 23:03:34 READ (2)', '1')).toBe(
      'OUT 0x1 20261122 23:03:34 READ (1)',
    );
    expect(withWriteValue('IN 0x1 20261122 23:03:34 WRITE (device/vbd/51712/state 3)', '4')).toBe(
      'IN 0x1 20261122 23:03:34 WRITE (device/vbd/51712/state 4)',
    );
  });

  it('report a trace without the pattern instead of returning it unchanged', () => {
    const text = 'CREATE connection 0xa\n';
    expect(editFrontendStateJump(text).ok).toBe(false);
    expect(editQueuesDespiteSingleQueueBackend(text).ok).toBe(false);
  });
});

describe(`edited copies of scenario-1 (Xen 4.17 + Linux 6.1)`, () => {
  const text = readScenario1();

  it('queue-N keys after max-queues 1: frontend reads 1 and still writes two queues', () => {
    const edited = editQueuesDespiteSingleQueueBackend(text);
    if (!edited.ok) throw new Error(edited.error);
    expect(edited.value.lines).toHaveLength(2);
    expect(edited.value.description).toContain('vbd 1/51712');
    const [before, after] = [summariesOf(text)[0]!, summariesOf(edited.value.text)[0]!];
    const readBefore = lastRead(before.frontend.rounds[0]!.readsBefore, 'multi-queue-max-queues');
    const readAfter = lastRead(after.frontend.rounds[0]!.readsBefore, 'multi-queue-max-queues');
    expect(readBefore).toEqual({ kind: 'value', value: '2' });
    expect(readAfter).toEqual({ kind: 'value', value: '1' });
    expect(after.backend.writes.find((w) => w.key === 'multi-queue-max-queues')!.value).toBe('1');
    const keys = after.frontend.rounds[0]!.writes.map((w) => w.key);
    expect(keys).toContain('multi-queue-num-queues');
    expect(keys).toContain('queue-1/ring-ref');
    // Nothing else moved: same line count, every other line identical.
    const [a, b] = [text.split('\n'), edited.value.text.split('\n')];
    expect(b).toHaveLength(a.length);
    expect(a.filter((line, i) => line !== b[i])).toHaveLength(2);
  });

  it('state jump 1 -> 4: the frontend goes from the toolstack 1 straight to 4', () => {
    const edited = editFrontendStateJump(text);
    if (!edited.ok) throw new Error(edited.error);
    expect(edited.value.lines).toHaveLength(1);
    const before = summariesOf(text)[0]!.frontendStates.map((s) => s.state);
    const after = summariesOf(edited.value.text)[0]!.frontendStates.map((s) => s.state);
    expect(before).toEqual([1, 3, 4]);
    expect(after.slice(0, 2)).toEqual([1, 4]);
  });
});
