import { describe, expect, it } from 'vitest';
import {
  frontendQueueCountMax,
  frontendRingPageOrderMax,
  negotiateIndirectSegments,
  negotiatePersistent,
  negotiateQueues,
  negotiateRingPageOrder,
  validateFrontendKeys,
} from './negotiate.ts';

describe('negotiateQueues (negotiate_mq)', () => {
  // [frontend max, backend max | absent, rings]
  const table: [number, number | undefined, number][] = [
    [1, undefined, 1],
    [2, undefined, 1],
    [4, undefined, 1],
    [8, undefined, 1],
    [16, undefined, 1],
    [1, 4, 1],
    [2, 4, 2],
    [4, 4, 4],
    [8, 4, 4],
    [16, 4, 4],
    [1, 16, 1],
    [2, 16, 2],
    [4, 16, 4],
    [8, 16, 8],
    [16, 16, 16],
    [4, 1, 1],
    [4, 2, 2],
    [0, 4, 1],
    [0, undefined, 1],
    [4, 0, 1],
  ];
  it.each(table)('frontend %i, backend %s → %i rings', (fe, be, rings) => {
    expect(negotiateQueues(fe, be)).toBe(rings);
  });

  it('caps the frontend parameter at the vCPUs, 0 stays 0 (then 1 ring)', () => {
    expect(frontendQueueCountMax(4, 2)).toBe(2);
    expect(frontendQueueCountMax(1, 8)).toBe(1);
    expect(frontendQueueCountMax(0, 8)).toBe(0);
    expect(negotiateQueues(frontendQueueCountMax(4, 2), 8)).toBe(2);
  });
});

describe('negotiateRingPageOrder (talk_to_blkback)', () => {
  const table: [number, number | undefined, number][] = [
    [0, undefined, 0],
    [4, undefined, 0],
    [0, 4, 0],
    [2, 4, 2],
    [4, 4, 4],
    [4, 1, 1],
    [3, 0, 0],
  ];
  it.each(table)('frontend %i, backend %s → order %i', (fe, be, order) => {
    expect(negotiateRingPageOrder(fe, be)).toBe(order);
  });
  it('clamps the frontend parameter to XENBUS_MAX_RING_GRANT_ORDER', () => {
    expect(frontendRingPageOrderMax(9)).toBe(4);
    expect(frontendRingPageOrderMax(2)).toBe(2);
  });
});

describe('negotiateIndirectSegments and negotiatePersistent', () => {
  const table: [number, number | undefined, number][] = [
    [32, undefined, 0],
    [32, 256, 32],
    [32, 11, 0],
    [32, 12, 12],
    [11, 256, 0],
    [512, 256, 256],
  ];
  it.each(table)('frontend max %i, backend %s → %i segments', (fe, be, segments) => {
    expect(negotiateIndirectSegments(fe, be)).toBe(segments);
  });
  it('needs both the own parameter and the peer flag', () => {
    expect(negotiatePersistent(true, 1)).toBe(true);
    expect(negotiatePersistent(true, undefined)).toBe(false);
    expect(negotiatePersistent(true, 0)).toBe(false);
    expect(negotiatePersistent(false, 1)).toBe(false);
  });
});

describe('validateFrontendKeys (connect_ring, read_per_ring_refs)', () => {
  const limits = { queueCountMax: 2, ringPageOrderMax: 4, persistent: true };
  const FE = '/local/domain/1/device/vbd/51712';
  const reader = (keys: Record<string, string>) => (path: string) => keys[path];
  const twoQueues = {
    protocol: 'x86_64-abi',
    'feature-persistent': '1',
    'multi-queue-num-queues': '2',
    'queue-0/ring-ref': '8',
    'queue-0/event-channel': '15',
    'queue-1/ring-ref': '9',
    'queue-1/event-channel': '16',
  };

  it('accepts the two-queue layout of the conformance trace', () => {
    expect(validateFrontendKeys(reader(twoQueues), limits, FE)).toEqual({
      ok: true,
      queueCount: 2,
      ringPageOrder: 0,
      protocol: 'x86_64-abi',
      persistent: true,
      rings: [
        { eventChannel: 15, ringRefs: [8] },
        { eventChannel: 16, ringRefs: [9] },
      ],
    });
  });

  it('accepts a flat single ring with multi-page refs, and defaults an absent protocol', () => {
    const keys = {
      'ring-page-order': '1',
      'ring-ref0': '3',
      'ring-ref1': '4',
      'event-channel': '7',
    };
    expect(validateFrontendKeys(reader(keys), limits, FE)).toEqual({
      ok: true,
      queueCount: 1,
      ringPageOrder: 1,
      protocol: 'x86_32-abi',
      persistent: false,
      rings: [{ eventChannel: 7, ringRefs: [3, 4] }],
    });
  });

  // [change to the two-queue keys, error number, message]
  const errors: [string, Record<string, string | undefined>, number, string][] = [
    [
      'num-queues above max',
      { 'multi-queue-num-queues': '3' },
      -1,
      'guest requested 3 queues, exceeding the maximum of 2.',
    ],
    [
      'num-queues 0',
      { 'multi-queue-num-queues': '0' },
      -1,
      'guest requested 0 queues, exceeding the maximum of 2.',
    ],
    [
      'num-queues above max, protocol absent',
      { 'multi-queue-num-queues': '9', protocol: undefined },
      2,
      'guest requested 9 queues, exceeding the maximum of 2.',
    ],
    // Linux reads a non-numeric count as the default 1, then misses the flat keys.
    [
      'num-queues non-numeric',
      { 'multi-queue-num-queues': 'two' },
      22,
      `reading ${FE}/event-channel`,
    ],
    [
      'ring-page-order above max',
      { 'ring-page-order': '5' },
      22,
      'requested ring page order 5 exceed max:4',
    ],
    [
      'ring-page-order present but ring-refN missing',
      { 'ring-page-order': '0' },
      22,
      `reading ${FE}/queue-0/ring-ref0`,
    ],
    [
      'event-channel missing on queue 1',
      { 'queue-1/event-channel': undefined },
      22,
      `reading ${FE}/queue-1/event-channel`,
    ],
    [
      'ring-ref missing on queue 0',
      { 'queue-0/ring-ref': undefined },
      22,
      `reading ${FE}/queue-0/ring-ref`,
    ],
    [
      'negative event channel',
      { 'queue-0/event-channel': '-1' },
      22,
      `reading ${FE}/queue-0/event-channel`,
    ],
    ['unknown protocol', { protocol: 'sparc-abi' }, -1, 'unknown fe protocol sparc-abi'],
  ];
  it.each(errors)('%s → fatal', (_name, change, errorNumber, message) => {
    const keys: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...twoQueues, ...change })) {
      if (value !== undefined) keys[key] = value;
    }
    expect(validateFrontendKeys(reader(keys), limits, FE)).toEqual({
      ok: false,
      errorNumber,
      message,
    });
  });

  it('validates against the limits it is given, not what was advertised', () => {
    const lowered = { ...limits, queueCountMax: 1 };
    const result = validateFrontendKeys(reader(twoQueues), lowered, FE);
    expect(result.ok).toBe(false);
  });
});
