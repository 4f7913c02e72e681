// Trace v1 on disk: loading validates every field a replay or a renderer reads, so a hand-edited,
// truncated or newer file is refused in one line instead of crashing a renderer halfway (zod's
// parse / safeParse pair, without the dependency). The type itself lives with the runs that
// produce it (properties/counterexample.ts); traces/ imports properties/, never the reverse.
import { KINDS } from '../impl/world/actors/index.ts';
import { validateConfig, type WorldConfig } from '../impl/world/config.ts';
import type { Trace } from '../properties/counterexample.ts';
import { TRACE_VERSION } from '../properties/counterexample.ts';
import type { ViolationCode } from '../properties/invariants/violation.ts';
import { BINARY } from './binary.ts';

export type { Trace, TraceStep, WorldSummary } from '../properties/counterexample.ts';
export { TRACE_VERSION, traceJson } from '../properties/counterexample.ts';

export interface TraceIssue {
  /** JSON path of the offending field, e.g. `steps[3].action.kind`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

export type TraceParse = { ok: true; trace: Trace } | { ok: false; issues: readonly TraceIssue[] };

/** Thrown by parseTrace; `message` is one line naming the first issue. */
export class TraceError extends Error {
  constructor(readonly issues: readonly TraceIssue[]) {
    super(oneLine(issues));
    this.name = 'TraceError';
  }
}

function oneLine(issues: readonly TraceIssue[]): string {
  const first = issues[0];
  if (first === undefined) return 'invalid trace';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${first.path === '' ? '' : `${first.path}: `}${first.message}${more}`;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

class Checker {
  readonly issues: TraceIssue[] = [];
  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  object(v: unknown, path: string): Json | undefined {
    if (isObject(v)) return v;
    this.fail(path, `expected an object, got ${describe(v)}`);
    return undefined;
  }
  array(v: unknown, path: string): readonly unknown[] | undefined {
    if (Array.isArray(v)) return v;
    this.fail(path, `expected an array, got ${describe(v)}`);
    return undefined;
  }
  type(
    o: Json,
    key: string,
    path: string,
    type: 'string' | 'number' | 'boolean',
    optional = false,
  ): void {
    const v = o[key];
    if (v === undefined && optional) return;
    if (typeof v !== type || (type === 'number' && !Number.isFinite(v))) {
      this.fail(
        `${path}${key}`,
        v === undefined ? `missing ${type}` : `expected a ${type}, got ${describe(v)}`,
      );
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const text = JSON.stringify(v);
  return typeof v === 'object' ? 'an object' : text.length > 24 ? `${text.slice(0, 24)}…` : text;
}

type FieldType = 'string' | 'number' | 'boolean' | 'count' | 'number?' | 'boolean?';

/**
 * Every field of a WorldConfig part the world reads, by type. validateConfig checks ranges and
 * relations (vCPU in 0..vcpuCount-1, an extent on the disk); it assumes these shapes. `count`: a
 * non-negative integer (a sector, a number of conflicts), the ones validateConfig does not range.
 */
const FRONTEND_FIELDS: Readonly<Record<string, FieldType>> = {
  queueCountMax: 'number',
  ringPageOrderMax: 'number',
  indirectSegmentsMax: 'number',
  persistent: 'boolean',
};
const BACKEND_FIELDS: Readonly<Record<string, FieldType>> = {
  queueCountMax: 'number?',
  ringPageOrderMax: 'number?',
  indirectSegmentsMax: 'number?',
  persistent: 'boolean',
  persistentGrantsMax: 'number',
  flush: 'boolean',
  barrier: 'boolean',
  discard: 'boolean',
};
const WORKLOAD_FIELDS: Readonly<Record<string, FieldType>> = {
  vcpu: 'number',
  op: 'string',
  sector: 'count',
  sectorCount: 'number',
  offsetSectors: 'number',
};
const FAULT_FIELDS: Readonly<Record<string, FieldType>> = {
  unplug: 'boolean',
  frontendClose: 'boolean',
  transactionConflicts: 'count',
  backendRestart: 'boolean?',
  backendRestartIdle: 'boolean?',
  destroy: 'boolean?',
  hotplugFailure: 'boolean?',
  detachEarly: 'boolean?',
  eventChannelsMax: 'number?',
  faultsAfterRequests: 'number?',
  faultsWithInFlight: 'number?',
  guestUnbindAfterWrites: 'number?',
  guestKexec: 'boolean?',
  backendProbeFailure: 'boolean?',
  backendUntrusted: 'boolean?',
};
const DOM0_WRITE_FIELDS: Readonly<Record<string, FieldType>> = {
  dir: 'string',
  key: 'string',
  value: 'string',
};
const HOSTILE_FIELDS: Readonly<Record<string, FieldType>> = {
  side: 'string',
  budget: 'number',
  paced: 'boolean?',
};
const ATTACK_FIELDS: Readonly<Record<string, FieldType>> = {
  attack: 'string',
  ring: 'number',
  value: 'number',
};
const WORKLOAD_OPS: readonly string[] = ['read', 'write', 'flush', 'discard'];
/** Bound on a count (a sector is bounded again by the disk, conflicts by nothing else). */
const CONFLICTS_MAX = 1 << 30;

function checkFields(
  c: Checker,
  v: unknown,
  path: string,
  fields: Readonly<Record<string, FieldType>>,
): Json | undefined {
  const o = c.object(v, path);
  if (o === undefined) return undefined;
  for (const [key, type] of Object.entries(fields)) {
    const optional = type.endsWith('?');
    const base = type.replace('?', '');
    if (base === 'count') {
      const n = o[key];
      if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > CONFLICTS_MAX)
        c.fail(
          `${path}.${key}`,
          `must be an integer from 0 (at most ${CONFLICTS_MAX}), got ${describe(n)}`,
        );
      continue;
    }
    c.type(o, key, `${path}.`, base as 'string' | 'number' | 'boolean', optional);
  }
  return o;
}

function checkWorkload(c: Checker, v: unknown): void {
  c.array(v, 'config.workload')?.forEach((w, i) => {
    const path = `config.workload[${i}]`;
    const item = checkFields(c, w, path, WORKLOAD_FIELDS);
    if (item !== undefined && typeof item.op === 'string' && !WORKLOAD_OPS.includes(item.op))
      c.fail(`${path}.op`, `must be one of ${WORKLOAD_OPS.join(', ')}, got ${describe(item.op)}`);
  });
}

function checkHostile(c: Checker, v: unknown): void {
  if (v === undefined) return;
  const hostile = checkFields(c, v, 'config.hostile', HOSTILE_FIELDS);
  if (hostile === undefined) return;
  c.array(hostile.attacks, 'config.hostile.attacks')?.forEach((a, i) => {
    checkFields(c, a, `config.hostile.attacks[${i}]`, ATTACK_FIELDS);
  });
}

/** The shape validateConfig assumes (it checks ranges, not that objects exist). */
function checkConfigShape(c: Checker, v: unknown): WorldConfig | undefined {
  const config = c.object(v, 'config');
  if (config === undefined) return undefined;
  const before = c.issues.length;
  c.type(config, 'vcpuCount', 'config.', 'number');
  c.type(config, 'abi', 'config.', 'string');
  c.type(config, 'diskSectors', 'config.', 'number');
  checkFields(c, config.frontend, 'config.frontend', FRONTEND_FIELDS);
  checkFields(c, config.backend, 'config.backend', BACKEND_FIELDS);
  checkWorkload(c, config.workload);
  const faults = checkFields(c, config.faults, 'config.faults', FAULT_FIELDS);
  if (faults !== undefined) {
    c.array(faults.migrations, 'config.faults.migrations')?.forEach((m, i) => {
      checkFields(c, m, `config.faults.migrations[${i}]`, BACKEND_FIELDS);
    });
    if (faults.dom0Writes !== undefined) {
      c.array(faults.dom0Writes, 'config.faults.dom0Writes')?.forEach((w, i) => {
        checkFields(c, w, `config.faults.dom0Writes[${i}]`, DOM0_WRITE_FIELDS);
      });
    }
  }
  checkHostile(c, config.hostile);
  return c.issues.length === before ? (config as unknown as WorldConfig) : undefined;
}

/** The replay looks every recorded action up in the actors' tables: an unknown one is no step. */
function checkActionKind(c: Checker, action: Json, path: string): void {
  const { actor, kind } = action;
  if (typeof actor !== 'string' || typeof kind !== 'string') return;
  if (!Object.hasOwn(KINDS, actor)) {
    c.fail(
      `${path}.actor`,
      `unknown actor ${describe(actor)} (actors: ${Object.keys(KINDS).join(', ')})`,
    );
    return;
  }
  const kinds = KINDS[actor as keyof typeof KINDS];
  if (!Object.hasOwn(kinds, kind))
    c.fail(
      `${path}.kind`,
      `${describe(kind)} is no action kind of ${actor} (kinds: ${Object.keys(kinds).join(', ')})`,
    );
}

function checkStep(c: Checker, v: unknown, path: string): void {
  const step = c.object(v, path);
  if (step === undefined) return;
  const action = c.object(step.action, `${path}.action`);
  if (action !== undefined) {
    c.type(action, 'actor', `${path}.action.`, 'string');
    c.type(action, 'kind', `${path}.action.`, 'string');
    checkActionKind(c, action, `${path}.action`);
  }
  c.array(step.observations, `${path}.observations`)?.forEach((o, j) => {
    const note = c.object(o, `${path}.observations[${j}]`);
    if (note !== undefined) c.type(note, 'kind', `${path}.observations[${j}].`, 'string');
  });
  const state = c.object(step.state, `${path}.state`);
  if (state === undefined) return;
  for (const key of ['frontendState', 'backendState', 'guestDomid', 'granted', 'mapped']) {
    c.type(state, key, `${path}.state.`, 'number');
  }
  c.type(state, 'phase', `${path}.state.`, 'string');
  c.array(state.rings, `${path}.state.rings`)?.forEach((r, k) => {
    const ring = c.object(r, `${path}.state.rings[${k}]`);
    if (ring === undefined) return;
    for (const key of ['ring', 'reqProd', 'reqEvent', 'rspProd', 'rspEvent', 'inflight']) {
      c.type(ring, key, `${path}.state.rings[${k}].`, 'number');
    }
  });
}

function checkHeader(c: Checker, root: Json): boolean {
  const version = root.version;
  if (typeof version !== 'number') {
    c.fail(
      'version',
      version === undefined
        ? 'missing trace format version'
        : `expected a number, got ${describe(version)}`,
    );
    return false;
  }
  if (version > TRACE_VERSION) {
    c.fail(
      'version',
      `trace format version ${version} is newer than this blkif (reads version ${TRACE_VERSION}); update blkif-model`,
    );
    return false;
  }
  if (version !== TRACE_VERSION) {
    c.fail(
      'version',
      `unknown trace format version ${version} (this blkif reads version ${TRACE_VERSION})`,
    );
    return false;
  }
  c.type(root, 'drivers', '', 'string');
  if (root.driversFile !== undefined) {
    const file = c.object(root.driversFile, 'driversFile');
    if (file !== undefined) {
      c.type(file, 'path', 'driversFile.', 'string');
      c.type(file, 'sha256', 'driversFile.', 'string');
    }
  }
  c.type(root, 'property', '', 'string', true);
  if (root.seed !== undefined && !Number.isInteger(root.seed))
    c.fail('seed', `expected an integer seed, got ${describe(root.seed)}`);
  c.type(root, 'path', '', 'string', true);
  if (typeof root.path === 'string' && !/^(\d+(:\d+)*)?$/.test(root.path))
    c.fail('path', `expected fast-check's path like 12:0:3, got ${describe(root.path)}`);
  return true;
}

/** Every violation code, checked complete against the union by the compiler. */
const VIOLATION_CODES = {
  'no-lost-request': true,
  'no-duplicate-completion': true,
  'grant-leak': true,
  'ring-bounds': true,
  'illegal-xenbus-transition': true,
  'queue-layout': true,
  'single-queue-fallback': true,
  'lost-wakeup': true,
  'data-integrity': true,
  'protocol-error': true,
  'driver-crash': true,
  'honest-side': true,
  'teardown-liveness': true,
  'ring-isolation': true,
  'feature-negotiation': true,
  'read-once': true,
  'release-once': true,
  'grant-permission': true,
  'no-leak': true,
  'persistent-cache': true,
  answered: true,
  canary: true,
} as const satisfies Record<ViolationCode, true>;

function checkViolation(c: Checker, v: unknown): void {
  if (v === undefined) return;
  const violation = c.object(v, 'violation');
  if (violation === undefined) return;
  const code = violation.code;
  if (typeof code !== 'string' || !Object.hasOwn(VIOLATION_CODES, code)) {
    const known = Object.keys(VIOLATION_CODES).join(', ');
    c.fail('violation.code', `expected a violation code (${known}), got ${describe(code)}`);
  }
  const step = violation.step;
  if (!Number.isInteger(step) || (step as number) < 0)
    c.fail('violation.step', `must be a step number (an integer from 0), got ${describe(step)}`);
  c.type(violation, 'message', 'violation.', 'string');
  for (const key of ['ring', 'requestId', 'gref'])
    c.type(violation, key, 'violation.', 'number', true);
  c.type(violation, 'key', 'violation.', 'string', true);
}

/** Validates a decoded JSON value as a v1 trace. */
export function safeParseTraceValue(value: unknown): TraceParse {
  const c = new Checker();
  const root = c.object(value, '');
  if (root === undefined || !checkHeader(c, root)) return { ok: false, issues: c.issues };
  const config = checkConfigShape(c, root.config);
  if (config !== undefined) {
    const valid = validateConfig(config);
    if (!valid.ok) {
      for (const issue of valid.error) c.fail(`config.${issue.path}`, issue.message);
    }
  }
  c.array(root.steps, 'steps')?.forEach((s, i) => {
    checkStep(c, s, `steps[${i}]`);
  });
  checkViolation(c, root.violation);
  if (c.issues.length > 0) return { ok: false, issues: c.issues };
  return { ok: true, trace: root as unknown as Trace };
}

/** Decodes and validates the text of a trace file; never throws. */
export function safeParseTrace(raw: string): TraceParse {
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
  // Quoting binary bytes in a message would put them on the terminal.
  if (BINARY.test(text))
    return { ok: false, issues: [{ path: '', message: 'not a trace: binary data' }] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ path: '', message: `not JSON: ${reason}` }] };
  }
  return safeParseTraceValue(value);
}

/** Decodes and validates a trace file; throws a TraceError with a one-line message. */
export function parseTrace(text: string): Trace {
  const parsed = safeParseTrace(text);
  if (!parsed.ok) throw new TraceError(parsed.issues);
  return parsed.trace;
}
