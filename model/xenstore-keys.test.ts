import { describe, expect, it } from 'vitest';
import { fillKeyLayout, keyLayout, queueDir, readUnsigned } from './xenstore-keys.ts';

const paths = (queueCount: number, order: number) =>
  keyLayout(queueCount, order).map((k) => k.path);

describe('keyLayout (talk_to_blkback write order)', () => {
  it('1 queue, 1 page: flat keys, no multi-queue-num-queues, no ring-page-order', () => {
    expect(paths(1, 0)).toEqual(['ring-ref', 'event-channel', 'protocol', 'feature-persistent']);
  });

  it('2 queues, 1 page: the order of the real trace', () => {
    expect(paths(2, 0)).toEqual([
      'multi-queue-num-queues',
      'queue-0/ring-ref',
      'queue-0/event-channel',
      'queue-1/ring-ref',
      'queue-1/event-channel',
      'protocol',
      'feature-persistent',
    ]);
  });

  it('1 queue, 4 pages: ring-page-order first, ring-ref0..3', () => {
    expect(paths(1, 2)).toEqual([
      'ring-page-order',
      'ring-ref0',
      'ring-ref1',
      'ring-ref2',
      'ring-ref3',
      'event-channel',
      'protocol',
      'feature-persistent',
    ]);
  });

  it('2 queues, 2 pages: ring-page-order, num-queues, per-queue ring-refN', () => {
    expect(paths(2, 1)).toEqual([
      'ring-page-order',
      'multi-queue-num-queues',
      'queue-0/ring-ref0',
      'queue-0/ring-ref1',
      'queue-0/event-channel',
      'queue-1/ring-ref0',
      'queue-1/ring-ref1',
      'queue-1/event-channel',
      'protocol',
      'feature-persistent',
    ]);
  });

  it('n queues have exactly n queue directories', () => {
    for (const n of [2, 3, 8, 16]) {
      const dirs = new Set(
        paths(n, 0)
          .filter((p) => p.includes('/'))
          .map((p) => p.split('/')[0]),
      );
      expect([...dirs]).toEqual(Array.from({ length: n }, (_, i) => queueDir(i)));
    }
  });

  it('fills the placeholders with the values of the conformance trace', () => {
    const writes = fillKeyLayout(keyLayout(2, 0), {
      ringRefs: [[8], [9]],
      eventChannels: [15, 16],
      protocol: 'x86_64-abi',
      persistent: true,
    });
    expect(writes).toEqual([
      ['multi-queue-num-queues', '2'],
      ['queue-0/ring-ref', '8'],
      ['queue-0/event-channel', '15'],
      ['queue-1/ring-ref', '9'],
      ['queue-1/event-channel', '16'],
      ['protocol', 'x86_64-abi'],
      ['feature-persistent', '1'],
    ]);
  });
});

describe('readUnsigned (xenbus_scanf "%u")', () => {
  const table: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['abc', undefined],
    ['-1', undefined],
    ['+2', undefined],
    ['0', 0],
    ['4', 4],
    [' 7', 7],
    ['12abc', 12],
    ['4294967297', 1],
  ];
  it.each(table)('%j → %j', (text, value) => {
    expect(readUnsigned(text)).toBe(value);
  });
});
