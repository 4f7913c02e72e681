// The property list: what `npm test` runs at its default budget and `blkif check` runs with more.
// One property per invariant family. Every run checks every invariant (a property never hides a
// finding outside its family); what differs is where each property's arbitrary spends its runs.
import type { PropertyDef } from './catalog.ts';
import { stateless } from './invariants/invariant.ts';
import type { ViolationCode } from './invariants/violation.ts';
import { scenarioArb, withWeights } from './arbitraries/scenario.ts';
import fc from 'fast-check';
import { hostileScenarioArb } from './arbitraries/hostile.ts';

/** Bounds per run: the schedule is at most `choiceCountMax` long; the drain finishes the rest. */
const STEPS_MAX = 2_000;
const DRAIN_STEPS_MAX = 20_000;

const bounds = { stepsMax: STEPS_MAX, drainStepsMax: DRAIN_STEPS_MAX } as const;

/**
 * Percent of runs drawn I/O-heavy (scenario.ts ioHeavyShape): most for the data-path families,
 * some for the control-plane ones, whose ordinary runs stress the xenbus side.
 */
const IO_HEAVY = 85;
const IO_HEAVY_CONTROL = 30;

export const requestsCompleteOnce: PropertyDef = {
  name: 'requests-complete-once',
  summary: 'every request the guest submits completes exactly once, across faults and migrations',
  codes: ['no-lost-request', 'no-duplicate-completion', 'protocol-error', 'answered'],
  scenario: scenarioArb({ ioHeavyPercent: IO_HEAVY }),
  defaultRuns: 300,
  ...bounds,
};

export const dataIntegrity: PropertyDef = {
  name: 'data-integrity',
  summary: 'reads return the last completed write (overlapping concurrent writes in any order)',
  codes: ['data-integrity'],
  // A small disk and many requests: reads and writes overlap.
  scenario: scenarioArb({
    ...withWeights({ discards: 20, unplug: 5, frontendClose: 5 }),
    diskSectors: fc.constantFrom(64, 128),
    itemCountMax: 24,
    ioHeavyPercent: IO_HEAVY,
  }),
  defaultRuns: 250,
  ...bounds,
};

export const grantAccounting: PropertyDef = {
  name: 'grant-accounting',
  summary:
    'every grant free in one ring list, held by one request or persistent in one ring, showing the backend nothing private; all ended after close',
  codes: [
    'grant-leak',
    'ring-isolation',
    'release-once',
    'grant-permission',
    'no-leak',
    'persistent-cache',
  ],
  // Shared pages: persistent grants and indirect pages, and half the runs with an untrusted
  // backend (no-leak's bounce), to check what the grants show as well as where they are.
  scenario: scenarioArb(
    withWeights(
      {
        persistent: 80,
        indirect: 70,
        largeRequests: 50,
        unplug: 35,
        frontendClose: 25,
        untrustedBackend: 50,
      },
      { ioHeavyPercent: IO_HEAVY },
    ),
  ),
  defaultRuns: 250,
  ...bounds,
};

export const queueLayout: PropertyDef = {
  name: 'queue-layout',
  summary:
    'queue count and xenstore key layout follow the negotiation; one flat queue without multi-queue, also after migration',
  codes: ['queue-layout', 'single-queue-fallback', 'feature-negotiation'],
  scenario: scenarioArb({
    ...withWeights({ multiQueue: 60, migrations: 70, transactionConflicts: 40 }),
    itemCountMax: 8,
    ioHeavyPercent: IO_HEAVY_CONTROL,
  }),
  defaultRuns: 250,
  ...bounds,
};

export const xenbusTransitions: PropertyDef = {
  name: 'xenbus-transitions',
  summary:
    'each side only takes the xenbus state edges the Linux drivers take, through every fault',
  codes: ['illegal-xenbus-transition', 'teardown-liveness'],
  scenario: scenarioArb({
    ...withWeights({
      migrations: 50,
      unplug: 45,
      frontendClose: 35,
      transactionConflicts: 60,
      guestUnbind: 50,
      backendProbeFailure: 15,
      channelLimit: 40,
    }),
    itemCountMax: 6,
    ioHeavyPercent: IO_HEAVY_CONTROL,
  }),
  defaultRuns: 250,
  ...bounds,
};

export const ringBounds: PropertyDef = {
  name: 'ring-bounds',
  summary: 'never more outstanding than the ring holds; consumers never pass producers',
  codes: ['ring-bounds', 'read-once'],
  // One-page rings, few vCPUs, many large requests split by the block layer, and schedules that
  // often pick from the end of the enabled list (the guest and blkfront): rings fill up.
  scenario: scenarioArb({
    ...withWeights({
      bigRings: 10,
      indirect: 20,
      largeRequests: 90,
      migrations: 15,
      unplug: 5,
      frontendClose: 5,
    }),
    vcpuCount: fc.integer({ min: 1, max: 2 }),
    itemCountMin: 16,
    itemCountMax: 40,
    choiceCountMax: 240,
    fromEndPercent: 80,
    ioHeavyPercent: IO_HEAVY,
  }),
  defaultRuns: 250,
  ...bounds,
};

export const lostWakeup: PropertyDef = {
  name: 'lost-wakeup',
  summary: 'at quiescence no ring holds an unconsumed request or response',
  codes: ['lost-wakeup'],
  scenario: scenarioArb({
    ...withWeights({ migrations: 20, unplug: 5, frontendClose: 5 }),
    choiceCountMax: 240,
    ioHeavyPercent: IO_HEAVY,
  }),
  defaultRuns: 250,
  ...bounds,
};

/** Percent of the hostile runs whose plans hold only state flaps (arbitraries/hostile.ts). */
const FLAP_PERCENT = 30;
/**
 * Percent of the hostile runs that follow the side's paced script (arbitraries/hostile.ts):
 * blkfront's talk_to_blkback over Closed and over Closing, failing and then succeeding; blkback's
 * connect over Closing and over Closed.
 */
const PACED_PERCENT = 15;

/**
 * A hostile peer: the honest side reports, refuses and keeps its own accounting; it never
 * crashes or completes the wrong request. Checked with the invariants whose `when` admits a
 * hostile run (properties/invariants/runs.ts, honest-side.ts); properties/suites/hostile.prop.test.ts runs them in
 * `npm test`, with every attack reached and teeth of their own.
 */
function hostileProperty(side: 'blkfront' | 'blkback'): PropertyDef {
  return {
    name: side === 'blkback' ? 'hostile-backend' : 'hostile-frontend',
    summary:
      side === 'blkback'
        ? 'against a hostile backend, blkfront reports and disables the device, never completes a wrong request'
        : 'against a hostile frontend, blkback answers, refuses or halts, and keeps its mappings accounted',
    codes: ['honest-side', 'driver-crash'],
    scenario: hostileScenarioArb({
      side,
      unplug: side === 'blkfront',
      // Each driver's reactions to every state of its peer, Closed and Closing included; half
      // of the flap runs follow the side's paced script.
      flapPercent: FLAP_PERCENT - PACED_PERCENT,
      pacedPercent: PACED_PERCENT,
    }),
    defaultRuns: 250,
    stepsMax: 400,
    drainStepsMax: DRAIN_STEPS_MAX,
  };
}

export const hostileBackend: PropertyDef = hostileProperty('blkback');
export const hostileFrontend: PropertyDef = hostileProperty('blkfront');

/** Every property `npm test` and `blkif check` run, in report order. */
export const PROPERTIES: readonly PropertyDef[] = [
  requestsCompleteOnce,
  dataIntegrity,
  grantAccounting,
  queueLayout,
  xenbusTransitions,
  ringBounds,
  lostWakeup,
  hostileBackend,
  hostileFrontend,
];

export function propertyByName(name: string): PropertyDef | undefined {
  return PROPERTIES.find((p) => p.name === name);
}

/** The property that must find a known-bad variant: its own, or the first that judges its code. */
export function propertyOfMutant(mutant: {
  readonly property?: string;
  readonly caughtBy: ViolationCode;
}): PropertyDef | undefined {
  if (mutant.property !== undefined) return propertyByName(mutant.property);
  return PROPERTIES.find((p) => p.codes.includes(mutant.caughtBy));
}

/** Fires as soon as the guest sees its first completion: every scenario reaches one. */
const canaryInvariant = stateless({
  code: 'canary',
  phase: 'step',
  summary: 'always fails once a request completes (proves failures are found, shrunk and reported)',
  check(world, ledger) {
    for (const entry of ledger.entries.values()) {
      if (entry.completedAt !== undefined) {
        return [
          {
            code: 'canary',
            step: world.stepCount,
            message: `guest request ${entry.request.tag} completed (the canary always fails)`,
          },
        ];
      }
    }
    return [];
  },
});

/**
 * The canary: must fail on every run of the honest drivers, and shrink to one request and an
 * empty schedule. Kept out of PROPERTIES (a `blkif check` must be able to pass).
 */
export const CANARY: PropertyDef = {
  name: 'canary',
  summary:
    'a property that must always fail: proves the harness finds, shrinks and reports failures',
  codes: ['canary'],
  scenario: scenarioArb(),
  defaultRuns: 20,
  ...bounds,
  stepInvariants: [canaryInvariant],
};
