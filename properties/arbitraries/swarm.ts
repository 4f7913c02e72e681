// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each run first draws which features
// it uses at all, then draws everything else within them. A run without discards or without
// migrations explores the rest more deeply than a run where every feature dilutes every other.
import fc from 'fast-check';

/**
 * A boolean that is true with `percent` % probability and shrinks to false: a feature switched
 * off is the simpler counterexample.
 */
export function sometimes(percent: number): fc.Arbitrary<boolean> {
  return fc.integer({ min: 0, max: 99 }).map((n) => n >= 100 - percent);
}

/** How often each feature is on in a run (percent); 0 turns it off, 100 forces it. */
export interface SwarmWeights {
  readonly multiQueue: number;
  readonly bigRings: number;
  readonly persistent: number;
  readonly indirect: number;
  readonly flushes: number;
  readonly discards: number;
  readonly largeRequests: number;
  readonly migrations: number;
  readonly unplug: number;
  readonly frontendClose: number;
  readonly transactionConflicts: number;
  readonly backendRestart: number;
  readonly hotplugFailure: number;
  readonly channelLimit: number;
  /** Migrations wait until the guest submitted some requests (in flight across the save). */
  readonly saveUnderLoad: number;
  readonly x86_32: number;
  /** The guest unbinds blkfront (xenbus_dev_remove) at some state of the device. */
  readonly guestUnbind: number;
  /** blkback's probe on the first host fails (xen_blkbk_probe's xenbus_dev_fatal). */
  readonly backendProbeFailure: number;
  /** libxl marks the backend untrusted (trusted = 0): blkfront must bounce (XSA-403). */
  readonly untrustedBackend: number;
}

/** Features drawn after the schedule (scenario.ts lateFaultsArb), not with the rest. */
type LateFeature = 'guestUnbind' | 'backendProbeFailure' | 'untrustedBackend';
export type Swarm = { readonly [K in Exclude<keyof SwarmWeights, LateFeature>]: boolean };

export const DEFAULT_WEIGHTS: SwarmWeights = {
  multiQueue: 75,
  bigRings: 40,
  persistent: 50,
  indirect: 50,
  flushes: 40,
  discards: 30,
  largeRequests: 35,
  migrations: 35,
  unplug: 15,
  frontendClose: 10,
  transactionConflicts: 30,
  // Only where it is survivable: the crash comes between requests (faults.ts backendRestartIdle);
  // one with requests consumed and unanswered is suites/backend-restart.test.ts's.
  backendRestart: 10,
  hotplugFailure: 8,
  channelLimit: 8,
  saveUnderLoad: 0,
  x86_32: 20,
  guestUnbind: 15,
  backendProbeFailure: 3,
  untrustedBackend: 25,
};

export function swarmArb(weights: SwarmWeights): fc.Arbitrary<Swarm> {
  return fc.record({
    multiQueue: sometimes(weights.multiQueue),
    bigRings: sometimes(weights.bigRings),
    persistent: sometimes(weights.persistent),
    indirect: sometimes(weights.indirect),
    flushes: sometimes(weights.flushes),
    discards: sometimes(weights.discards),
    largeRequests: sometimes(weights.largeRequests),
    migrations: sometimes(weights.migrations),
    unplug: sometimes(weights.unplug),
    frontendClose: sometimes(weights.frontendClose),
    transactionConflicts: sometimes(weights.transactionConflicts),
    backendRestart: sometimes(weights.backendRestart),
    hotplugFailure: sometimes(weights.hotplugFailure),
    channelLimit: sometimes(weights.channelLimit),
    saveUnderLoad: sometimes(weights.saveUnderLoad),
    x86_32: sometimes(weights.x86_32),
  });
}
