// Hostile-peer scenarios: a small honest configuration, a workload that writes and reads back the
// same sectors (so a wrongly completed read shows in the data), a hostile plan for one side and a
// schedule. Attack specs shrink towards the first attack of the side, ring 0 and value 0; the
// budget towards 1, so a counterexample names the one attack that mattered.
import fc from 'fast-check';
import type {
  BackendConfig,
  FrontendConfig,
  WorkloadItem,
  WorldConfig,
} from '../../impl/world/config.ts';
import { attacksOf, type HostileAttack } from '../../impl/world/hostile/attacks.ts';
import type { AttackSpec, HostilePlan, HostileSide } from '../../impl/world/hostile/plan.ts';
import { assert } from '../../impl/assert.ts';
import type { Scenario } from '../catalog.ts';

export const HOSTILE_DISK_SECTORS = 2048;
const ATTACK_COUNT_MAX = 5;
const BUDGET_MAX = 4;

/** Values: mostly small (variant selectors, short jumps), sometimes anywhere in uint32. */
export const attackValueArb: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.nat(64), weight: 4 },
  { arbitrary: fc.nat(0xffff_ffff), weight: 1 },
);

export function attackSpecArb(
  side: HostileSide,
  attacks: readonly HostileAttack[] = attacksOf(side),
): fc.Arbitrary<AttackSpec> {
  return fc.record({ attack: fc.constantFrom(...attacks), ring: fc.nat(3), value: attackValueArb });
}

export function hostilePlanArb(
  side: HostileSide,
  attacks: readonly HostileAttack[] = attacksOf(side),
): fc.Arbitrary<HostilePlan> {
  return fc.record({
    side: fc.constant(side),
    attacks: fc.array(attackSpecArb(side, attacks), { minLength: 1, maxLength: ATTACK_COUNT_MAX }),
    budget: fc.integer({ min: 1, max: BUDGET_MAX }),
  });
}

const backendArb: fc.Arbitrary<BackendConfig> = fc.record({
  queueCountMax: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 3 }),
  ringPageOrderMax: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined, freq: 3 }),
  indirectSegmentsMax: fc.option(fc.constantFrom(32, 64), { nil: undefined, freq: 3 }),
  persistent: fc.boolean(),
  persistentGrantsMax: fc.constantFrom(1056, 8),
  flush: fc.boolean(),
  barrier: fc.boolean(),
  discard: fc.boolean(),
});

const frontendArb: fc.Arbitrary<FrontendConfig> = fc.record({
  queueCountMax: fc.integer({ min: 1, max: 4 }),
  ringPageOrderMax: fc.integer({ min: 0, max: 2 }),
  indirectSegmentsMax: fc.constantFrom(0, 32),
  persistent: fc.boolean(),
});

/** Each vCPU writes a few extents and reads each back, with some flushes between. */
function workloadArb(vcpuCount: number): fc.Arbitrary<WorkloadItem[]> {
  const extent = fc.record({
    vcpu: fc.nat(vcpuCount - 1),
    // Room for the largest extent (160 sectors, 7 of offset) below the end of the disk.
    sector: fc.nat(HOSTILE_DISK_SECTORS / 8 - 24).map((n) => n * 8),
    // Mostly a few pages; sometimes more than 11 segments, so blkfront sends indirect requests.
    sectorCount: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 4 },
      { arbitrary: fc.integer({ min: 96, max: 160 }), weight: 1 },
    ),
    offsetSectors: fc.nat(7),
    flush: fc.boolean(),
  });
  return fc.array(extent, { minLength: 1, maxLength: 6 }).map((extents) =>
    extents.flatMap((e): WorkloadItem[] => {
      const base = {
        vcpu: e.vcpu,
        sector: e.sector,
        sectorCount: e.sectorCount,
        offsetSectors: e.offsetSectors,
      };
      const flush: WorkloadItem[] = e.flush
        ? [{ vcpu: e.vcpu, op: 'flush', sector: 0, sectorCount: 0, offsetSectors: 0 }]
        : [];
      return [{ ...base, op: 'write' }, ...flush, { ...base, op: 'read' }];
    }),
  );
}

export interface HostileScenarioOptions {
  readonly side: HostileSide;
  /** Restrict the attacks drawn (coverage and teeth tests); default: every attack of the side. */
  readonly attacks?: readonly HostileAttack[];
  readonly choiceCountMax?: number;
  /** Let the toolstack unplug the device (disconnect with a hostile peer). */
  readonly unplug?: boolean;
  /**
   * Percent of runs whose plan holds only state-node writes (the side's flapState): several in a
   * row take the honest driver through the reactions of its whole state table (blkback's connect
   * over Closing or Closed), which one flap among every other attack rarely does.
   */
  readonly flapPercent?: number;
  /**
   * Percent of runs that follow the side's paced script (backendScript, frontendScript): a paced
   * plan, each write once the honest driver has handled the last.
   */
  readonly pacedPercent?: number;
}

/**
 * The state flaps of each side, and the values they pick (indices of FLAP_VALUES, '1'..'9'):
 * a guest flaps Initialised, Connected, Closing, Closed under blkback; a backend flaps InitWait,
 * Connected, Closing, Closed under blkfront, and may lie about its queue count between two
 * talk_to_blkback runs (the first may fail on a small event-channel limit, the next succeed).
 */
interface Flaps {
  readonly attacks: HostileAttack[];
  /** Values of the 1st, 3rd, ... flap (a close) and of the 2nd, 4th, ... (a connect). */
  readonly close: readonly number[];
  readonly open: readonly number[];
}
const FLAPS: Record<HostileSide, Flaps> = {
  blkfront: { attacks: ['flapState'], close: [4, 5], open: [2, 3] },
  blkback: { attacks: ['flapBackendState', 'lyingQueueCountMax'], close: [4, 5], open: [1, 3, 3] },
};

/** The side's attacks, or, in flapPercent % of runs, only its state flaps (pacedPercent: scripted). */
export function hostileScenarioArb(options: HostileScenarioOptions): fc.Arbitrary<Scenario> {
  const flaps = options.flapPercent ?? 0;
  const paced = options.pacedPercent ?? 0;
  const ordinary = attackScenarioArb(options);
  if (flaps <= 0 && paced <= 0) return ordinary;
  const flapSet = FLAPS[options.side];
  const flapping = fc
    .tuple(attackScenarioArb({ ...options, attacks: flapSet.attacks }), fc.boolean())
    .map(([scenario, starved]): Scenario => {
      const config = connectAndClose(scenario.config, flapSet);
      return { ...scenario, config: starved ? starveChannels(config) : config };
    });
  const script = options.side === 'blkback' ? backendScript : frontendScript;
  const scripted = attackScenarioArb({ ...options, attacks: flapSet.attacks.slice(0, 1) }).map(
    (scenario): Scenario => ({ ...scenario, config: pacedBy(scenario.config, script) }),
  );
  // The ordinary branch first: fast-check's oneof prefers it when shrinking.
  return fc.oneof(
    { weight: 100 - flaps - paced, arbitrary: ordinary },
    ...(flaps > 0 ? [{ weight: flaps, arbitrary: flapping }] : []),
    ...(paced > 0 ? [{ weight: paced, arbitrary: scripted }] : []),
  );
}

/** The side's script in place of the drawn plan, paced; the first drawn value picks among its forms. */
function pacedBy(
  config: WorldConfig,
  script: (config: WorldConfig, choice: number) => { config: WorldConfig; attacks: AttackSpec[] },
): WorldConfig {
  const plan = config.hostile;
  if (plan === undefined) return config;
  const { config: shaped, attacks } = script(config, plan.attacks[0]!.value);
  assert(attacks.length > 0, 'a script writes something');
  return { ...shaped, hostile: { ...plan, attacks, budget: attacks.length, paced: true } };
}

const specOf = (attack: HostileAttack, value: number): AttackSpec => ({ attack, ring: 0, value });

/**
 * A paced backend's script: multi-queue-max-queues 4294967295 (or 0), a close (Closing or
 * Closed), Connected, multi-queue-max-queues 0, Connected. Under one usable channel blkfront
 * either closes before it talked (blkback's probe failed) or fails its first talk
 * (setup_blkring's ENOSPC); blkback_changed's Connected case then runs talk_to_blkback over
 * Closed or Closing, which fails again (xenbus_dev_fatal: Closed -> Closing), until the lie 0
 * makes negotiate_mq take one ring and the next talk succeeds (Closing or Closed ->
 * Initialised). Values index FLAP_VALUES ('5', '6', '4') and the lies ('4294967295', '0').
 * Bit 0 of `choice`: Closing or Closed; bit 1: the first lie is 0 (the talk over Closed
 * succeeds at once, Closed -> Initialised).
 */
function backendScript(config: WorldConfig, choice: number) {
  const flap = (value: number) => specOf('flapBackendState', value);
  const lie = (value: number) => specOf('lyingQueueCountMax', value);
  const attacks = [lie(choice & 2 ? 0 : 1), flap(choice & 1 ? 5 : 4), flap(3), lie(0), flap(3)];
  // blkback's probe may fail (xen_blkbk_probe's xenbus_dev_fatal): Closing before blkfront talked.
  const faults = { ...config.faults, backendProbeFailure: true };
  return { config: starveChannels({ ...config, faults }), attacks };
}

/**
 * A paced guest's script: Closing, Initialised, Closed, Initialised (or Closed first; bit 0 of
 * `choice`). Each close walks blkback's frontend_changed to Closing or through
 * xen_blkif_disconnect to Closed (online stays 1), and each Initialised after it reconnects
 * over the keys blkfront left (connect_ring, connect: Closing -> Connected, Closed ->
 * Connected). Values index FLAP_VALUES ('5', '6', '3').
 */
function frontendScript(config: WorldConfig, choice: number) {
  const flap = (value: number) => specOf('flapState', value);
  const [first, second] = choice & 1 ? [5, 4] : [4, 5];
  return { config, attacks: [flap(first), flap(2), flap(second), flap(2)] };
}

/**
 * One usable event channel under two or more queues: setup_blkring's xenbus_alloc_evtchn fails
 * and talk_to_blkback goes to Closing, until the backend's multi-queue-max-queues reads 0 (the
 * lie's first value), which negotiate_mq makes one ring, and a second talk succeeds.
 */
function starveChannels(config: WorldConfig): WorldConfig {
  const vcpuCount = Math.max(2, config.vcpuCount);
  return {
    ...config,
    vcpuCount,
    frontend: { ...config.frontend, queueCountMax: Math.max(2, config.frontend.queueCountMax) },
    backend: { ...config.backend, queueCountMax: Math.max(2, config.backend.queueCountMax ?? 2) },
    faults: { ...config.faults, eventChannelsMax: 2 },
  };
}

/** The flaps alternate a close and a connect (in plan order), each spec within the budget. */
function connectAndClose(config: WorldConfig, flaps: Flaps): WorldConfig {
  const plan = config.hostile;
  if (plan === undefined) return config;
  let n = 0;
  const attacks = plan.attacks.map((a) => {
    if (a.attack === 'lyingQueueCountMax') return { ...a, value: 0 };
    if (!a.attack.startsWith('flap')) return a;
    const values = n++ % 2 === 0 ? flaps.close : flaps.open;
    return { ...a, value: values[a.value % values.length]! };
  });
  return { ...config, hostile: { ...plan, attacks, budget: attacks.length } };
}

function attackScenarioArb(options: HostileScenarioOptions): fc.Arbitrary<Scenario> {
  const vcpuCount = fc.integer({ min: 1, max: 4 });
  return vcpuCount.chain((vcpus) =>
    fc
      .record({
        backend: backendArb,
        frontend: frontendArb,
        workload: workloadArb(vcpus),
        hostile: hostilePlanArb(options.side, options.attacks),
        unplug: options.unplug === true ? fc.boolean() : fc.constant(false),
        choices: fc.array(fc.nat(1 << 16), {
          maxLength: options.choiceCountMax ?? 300,
          size: 'max',
        }),
      })
      .map(({ backend, frontend, workload, hostile, unplug, choices }): Scenario => {
        const config: WorldConfig = {
          // x86_64 only: the frontend machine advertises x86_64-abi whatever the guest's ABI is.
          vcpuCount: vcpus,
          abi: 'x86_64-abi',
          diskSectors: HOSTILE_DISK_SECTORS,
          frontend,
          backend,
          workload,
          faults: { migrations: [], unplug, frontendClose: false, transactionConflicts: 0 },
          hostile,
        };
        return { config, choices };
      }),
  );
}
