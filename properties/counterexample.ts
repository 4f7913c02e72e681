// Trace format v1: what a counterexample file holds. Produced here (the runs are here), parsed,
// validated, replayed and rendered in traces/. A trace replays by folding step() over the actions
// from initWorld(config, drivers); the observations are for people, never for replay.
import type { Action } from '../impl/world/action.ts';
import type { WorldConfig } from '../impl/world/config.ts';
import { guestPhase, type Observation, type World } from '../impl/world/world.ts';
import { reqEvent, reqProd, rspEvent, rspProd } from '../impl/xen/shared-ring.ts';
import type { Violation } from './invariants/violation.ts';
import type { RunResult } from './run.ts';

export const TRACE_VERSION = 1;

/** The key state of the world after a step, for the step table of a rendered trace. */
export interface WorldSummary {
  readonly frontendState: number;
  readonly backendState: number;
  readonly guestDomid: number;
  readonly phase: string;
  readonly rings: readonly {
    readonly ring: number;
    readonly reqProd: number;
    readonly reqEvent: number;
    readonly rspProd: number;
    readonly rspEvent: number;
    readonly inflight: number;
  }[];
  readonly granted: number;
  readonly mapped: number;
}

export interface TraceStep {
  readonly action: Action;
  readonly observations: readonly Observation[];
  readonly state: WorldSummary;
}

/** A variant loaded from a user's file (`blkif check --drivers ./my-driver.ts`). */
export interface DriversFile {
  /** As given on the command line: relative to the working directory, or absolute. */
  readonly path: string;
  /** sha256 (hex) of the file and the local modules it imports, when the trace was made. */
  readonly sha256: string;
}

export interface Trace {
  readonly version: typeof TRACE_VERSION;
  /** The property that produced it, when it came from one. */
  readonly property: string | undefined;
  readonly config: WorldConfig;
  /** 'honest' or a mutant's name (properties/mutants). */
  readonly drivers: string;
  /** Where that variant came from, when it is a user's file rather than a registered one. */
  readonly driversFile?: DriversFile;
  readonly seed: number | undefined;
  readonly path: string | undefined;
  readonly steps: readonly TraceStep[];
  /** The violation the replay must reproduce, at its step; undefined for a passing trace. */
  readonly violation: Violation | undefined;
}

export function summarizeWorld(world: World): WorldSummary {
  return {
    frontendState: world.front.cachedState,
    backendState: world.host.back.cachedState,
    guestDomid: world.guestDomid,
    phase: guestPhase(world),
    rings: world.front.device.rings.map((r) => ({
      ring: r.index,
      reqProd: reqProd(r.front.sring),
      reqEvent: reqEvent(r.front.sring),
      rspProd: rspProd(r.front.sring),
      rspEvent: rspEvent(r.front.sring),
      inflight: r.inflightCount,
    })),
    granted: world.guestGnttab.grantedCount(),
    mapped: world.guestGnttab.mappedCount(),
  };
}

export interface TraceMeta {
  readonly property: string | undefined;
  readonly seed: number | undefined;
  readonly path: string | undefined;
}

/** A trace of a recorded run (run with `record: true`). */
export function traceOf(
  run: RunResult,
  config: WorldConfig,
  drivers: string,
  meta: TraceMeta,
): Trace {
  return {
    version: TRACE_VERSION,
    property: meta.property,
    config,
    drivers,
    seed: meta.seed,
    path: meta.path,
    steps: run.records.map((r) => ({
      action: r.action,
      observations: r.observations,
      state: r.state,
    })),
    violation: run.violation,
  };
}

/** Stable JSON: same run, same bytes (undefined fields are dropped the same way every time). */
export function traceJson(trace: Trace): string {
  return `${JSON.stringify(trace, null, 1)}\n`;
}
