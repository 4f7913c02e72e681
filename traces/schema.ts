// Trace v1 on disk: loading validates every field a replay or a renderer reads, so a hand-edited,
// truncated or newer file is refused in one line instead of crashing a renderer halfway (zod's
// parse / safeParse pair, without the dependency). The type itself lives with the runs that
// produce it (properties/counterexample.ts); traces/ imports properties/, never the reverse.
import { validateConfig, type WorldConfig } from '../impl/world/config.ts';
import type { Trace } from '../properties/counterexample.ts';
import { TRACE_VERSION } from '../properties/counterexample.ts';

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

const BACKEND_FIELDS = ['persistent', 'flush', 'barrier', 'discard'] as const;

/** The shape validateConfig assumes (it checks ranges, not that objects exist). */
function checkConfigShape(c: Checker, v: unknown): WorldConfig | undefined {
  const config = c.object(v, 'config');
  if (config === undefined) return undefined;
  const before = c.issues.length;
  c.type(config, 'vcpuCount', 'config.', 'number');
  c.type(config, 'abi', 'config.', 'string');
  c.type(config, 'diskSectors', 'config.', 'number');
  const frontend = c.object(config.frontend, 'config.frontend');
  if (frontend !== undefined) c.type(frontend, 'persistent', 'config.frontend.', 'boolean');
  const checkBackend = (b: unknown, path: string) => {
    const backend = c.object(b, path);
    if (backend === undefined) return;
    for (const key of BACKEND_FIELDS) c.type(backend, key, `${path}.`, 'boolean');
  };
  checkBackend(config.backend, 'config.backend');
  const faults = c.object(config.faults, 'config.faults');
  const migrations =
    faults === undefined ? undefined : c.array(faults.migrations, 'config.faults.migrations');
  migrations?.forEach((m, i) => {
    checkBackend(m, `config.faults.migrations[${i}]`);
  });
  const workload = c.array(config.workload, 'config.workload');
  workload?.forEach((w, i) => {
    const item = c.object(w, `config.workload[${i}]`);
    if (item !== undefined) c.type(item, 'op', `config.workload[${i}].`, 'string');
  });
  return c.issues.length === before ? (config as unknown as WorldConfig) : undefined;
}

function checkStep(c: Checker, v: unknown, path: string): void {
  const step = c.object(v, path);
  if (step === undefined) return;
  const action = c.object(step.action, `${path}.action`);
  if (action !== undefined) {
    c.type(action, 'actor', `${path}.action.`, 'string');
    c.type(action, 'kind', `${path}.action.`, 'string');
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
  c.type(root, 'property', '', 'string', true);
  c.type(root, 'seed', '', 'number', true);
  c.type(root, 'path', '', 'string', true);
  return true;
}

function checkViolation(c: Checker, v: unknown): void {
  if (v === undefined) return;
  const violation = c.object(v, 'violation');
  if (violation === undefined) return;
  c.type(violation, 'code', 'violation.', 'string');
  c.type(violation, 'step', 'violation.', 'number');
  c.type(violation, 'message', 'violation.', 'string');
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
export function safeParseTrace(text: string): TraceParse {
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
