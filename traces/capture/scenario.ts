// A capture scenario: what to boot and what to do in dom0, as a small declarative JSON file
// (capture/scenarios/*.json). Parsed and checked here, with one-line errors naming the field, so a
// typo is reported before a minute of booting is spent.
//
// {
//   "description": "4 vCPUs, 4 queues, restored onto max_queues 1 and back",
//   "guest": { "type": "pv", "vcpus": 4, "memory": 192, "blkfront": { "max_queues": 4 },
//              "io": "none" },
//   "dom0": { "vcpus": 2, "blkback": { "max_queues": 4 } },
//   "disks": [ { "vdev": "xvda", "size_mb": 16 }, { "vdev": "xvdb", "attach": "later" } ],
//   "steps": [ "create", "wait-connected", { "do": "set-blkback", "param": "max_queues",
//              "value": 1 }, "save", "restore", "wait-connected", "destroy" ]
// }

export type GuestType = 'pv' | 'pvh';

/** What the guest does with its disks once they appear (its init runs it in the background). */
export type GuestIo = 'none' | 'once' | 'loop';

export interface DiskSpec {
  /** Guest device name, xvda..xvdz; its device id is 51712 + 16 * index. */
  readonly vdev: string;
  readonly sizeMb: number;
  /** 'boot': in the guest config from `create`; 'later': attached by an `attach` step. */
  readonly attach: 'boot' | 'later';
}

/** Where a xenstore-write goes: a path with {domid}, {devid}, {backend}, {frontend} expanded. */
export type Step =
  | { readonly do: 'create'; readonly paused: boolean; readonly timeout: number }
  | { readonly do: 'unpause'; readonly timeout: number }
  | { readonly do: 'wait-connected'; readonly vdev: string; readonly timeout: number }
  | {
      readonly do: 'wait-state';
      readonly vdev: string;
      readonly end: 'frontend' | 'backend';
      readonly state: number;
      readonly timeout: number;
    }
  | {
      readonly do: 'set-blkback';
      readonly param: string;
      readonly value: string;
      readonly timeout: number;
    }
  | { readonly do: 'save'; readonly timeout: number }
  | { readonly do: 'restore'; readonly timeout: number }
  | { readonly do: 'attach'; readonly vdev: string; readonly timeout: number }
  | { readonly do: 'detach'; readonly vdev: string; readonly timeout: number }
  | { readonly do: 'destroy'; readonly timeout: number }
  | { readonly do: 'sleep'; readonly seconds: number; readonly timeout: number }
  | { readonly do: 'snapshot'; readonly name: string; readonly timeout: number }
  | {
      readonly do: 'xenstore-write';
      readonly vdev: string;
      readonly path: string;
      readonly value: string;
      readonly timeout: number;
    }
  | {
      readonly do: 'xenstore-rm';
      readonly vdev: string;
      readonly path: string;
      readonly timeout: number;
    };

export type StepKind = Step['do'];

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly guest: {
    readonly type: GuestType;
    readonly vcpus: number;
    readonly memoryMb: number;
    readonly blkfront: Readonly<Record<string, string>>;
    readonly io: GuestIo;
  };
  readonly dom0: { readonly vcpus: number; readonly blkback: Readonly<Record<string, string>> };
  readonly disks: readonly DiskSpec[];
  readonly steps: readonly Step[];
}

/** Seconds each step may take under TCG before the capture gives up (the step's `timeout`). */
export const DEFAULT_TIMEOUTS: Readonly<Record<StepKind, number>> = {
  create: 180,
  unpause: 30,
  // The guest boots Linux under TCG on a shared machine before its blkfront connects.
  'wait-connected': 360,
  'wait-state': 360,
  'set-blkback': 10,
  save: 180,
  restore: 180,
  attach: 60,
  detach: 60,
  destroy: 60,
  sleep: 600,
  // xenstore-ls -fp makes hundreds of requests, each traced: over a minute on a loaded host.
  snapshot: 180,
  'xenstore-write': 30,
  'xenstore-rm': 30,
};

/** blkfront's and blkback's module parameters (Linux 6.1), the only ones a scenario may set. */
export const BLKFRONT_PARAMS: ReadonlySet<string> = new Set([
  'max_queues',
  'max_ring_page_order',
  'max_indirect_segments',
  'feature_persistent',
  'trusted',
]);
export const BLKBACK_PARAMS: ReadonlySet<string> = new Set([
  'max_queues',
  'max_ring_page_order',
  'max_persistent_grants',
  'max_buffer_pages',
  'feature_persistent',
  'persistent_grant_unused_seconds',
  'buffer_squeeze_duration_ms',
]);

/** xvda is 51712 (major 202, minor 0), each next letter 16 minors on (xen-vbd-interface.txt). */
export function deviceIdOf(vdev: string): number {
  return 202 * 256 + (vdev.charCodeAt(3) - 'a'.charCodeAt(0)) * 16;
}

export class ScenarioError extends Error {}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function fail(where: string, message: string): never {
  throw new ScenarioError(`${where}: ${message}`);
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: Json | undefined, where: string, keys: readonly string[]): JsonObject {
  if (value === undefined) return {};
  if (!isObject(value)) fail(where, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) fail(where, `unknown field "${key}" (known: ${keys.join(', ')})`);
  }
  return value;
}

function integer(value: Json | undefined, where: string, min: number, max: number, dflt: number) {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(where, `must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function choice<T extends string>(value: Json | undefined, where: string, of: readonly T[], d: T) {
  if (value === undefined) return d;
  if (typeof value !== 'string' || !(of as readonly string[]).includes(value)) {
    fail(where, `must be one of ${of.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

function params(value: Json | undefined, where: string, known: ReadonlySet<string>) {
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(object(value, where, [...known]))) {
    if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') {
      fail(`${where}.${key}`, 'must be a number, a string or a boolean');
    }
    const text = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    if (!/^[A-Za-z0-9_.-]+$/.test(text)) fail(`${where}.${key}`, `bad value ${JSON.stringify(v)}`);
    out[key] = text;
  }
  return out;
}

function disksOf(value: Json | undefined): DiskSpec[] {
  const list = value ?? [{ vdev: 'xvda' }];
  if (!Array.isArray(list) || list.length === 0) fail('disks', 'must be a non-empty array');
  const disks = list.map((item, index): DiskSpec => {
    const where = `disks[${index}]`;
    const disk = object(item, where, ['vdev', 'size_mb', 'attach']);
    const vdev = disk.vdev;
    if (typeof vdev !== 'string' || !/^xvd[a-z]$/.test(vdev)) {
      fail(`${where}.vdev`, `must be xvda..xvdz, got ${JSON.stringify(vdev)}`);
    }
    return {
      vdev,
      sizeMb: integer(disk.size_mb, `${where}.size_mb`, 1, 1024, 16),
      attach: choice(disk.attach, `${where}.attach`, ['boot', 'later'] as const, 'boot'),
    };
  });
  const names = disks.map((d) => d.vdev);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) fail('disks', `${twice} is listed twice`);
  if (!disks.some((d) => d.attach === 'boot')) fail('disks', 'at least one disk must be "boot"');
  return disks;
}

const STEP_FIELDS: Readonly<Record<StepKind, readonly string[]>> = {
  create: ['paused'],
  unpause: [],
  'wait-connected': ['vdev'],
  'wait-state': ['vdev', 'end', 'state'],
  'set-blkback': ['param', 'value'],
  save: [],
  restore: [],
  attach: ['vdev'],
  detach: ['vdev'],
  destroy: [],
  sleep: ['seconds'],
  snapshot: ['name'],
  'xenstore-write': ['vdev', 'path', 'value'],
  'xenstore-rm': ['vdev', 'path'],
};

function text(value: Json | undefined, where: string, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' && typeof value !== 'number') fail(where, `needs ${what}`);
  const s = String(value);
  if (!pattern.test(s)) fail(where, `must be ${what}, got ${JSON.stringify(value)}`);
  return s;
}

const XS_PATH = /^(\{backend\}|\{frontend\}|\/local\/domain\/)[A-Za-z0-9_/{}.-]*$/;

function stepOf(item: Json, index: number, disks: readonly DiskSpec[]): Step {
  const where = `steps[${index}]`;
  const raw: JsonObject = typeof item === 'string' ? { do: item } : isObject(item) ? item : {};
  const kind = raw.do;
  if (typeof kind !== 'string' || !(kind in STEP_FIELDS)) {
    fail(where, `"do" must be one of ${Object.keys(STEP_FIELDS).join(', ')}`);
  }
  const k = kind as StepKind;
  object(raw, where, ['do', 'timeout', ...STEP_FIELDS[k]]);
  const timeout = integer(raw.timeout, `${where}.timeout`, 1, 3600, DEFAULT_TIMEOUTS[k]);
  const vdev = (): string => {
    const name = raw.vdev ?? disks[0]!.vdev;
    if (typeof name !== 'string' || !disks.some((d) => d.vdev === name)) {
      fail(`${where}.vdev`, `names no disk of "disks": ${JSON.stringify(name)}`);
    }
    return name;
  };
  return stepFields(k, raw, where, timeout, vdev);
}

function stepFields(
  k: StepKind,
  raw: JsonObject,
  where: string,
  timeout: number,
  vdev: () => string,
): Step {
  switch (k) {
    case 'create':
      return { do: k, paused: raw.paused === true, timeout };
    case 'wait-connected':
    case 'attach':
    case 'detach':
      return { do: k, vdev: vdev(), timeout };
    case 'wait-state':
      return {
        do: k,
        vdev: vdev(),
        end: choice(raw.end, `${where}.end`, ['frontend', 'backend'] as const, 'backend'),
        state: integer(raw.state, `${where}.state`, 0, 7, 4),
        timeout,
      };
    case 'set-blkback': {
      const param = text(raw.param, `${where}.param`, /^[a-z_]+$/, 'a blkback parameter');
      if (!BLKBACK_PARAMS.has(param)) fail(`${where}.param`, `blkback has no parameter ${param}`);
      const value = text(raw.value, `${where}.value`, /^[A-Za-z0-9]+$/, 'a value');
      return { do: k, param, value, timeout };
    }
    case 'sleep':
      return { do: k, seconds: integer(raw.seconds, `${where}.seconds`, 1, 600, 5), timeout };
    case 'snapshot':
      return { do: k, name: text(raw.name, `${where}.name`, /^[a-z0-9-]+$/, 'a name'), timeout };
    case 'xenstore-write':
    case 'xenstore-rm': {
      const path = text(
        raw.path,
        `${where}.path`,
        XS_PATH,
        '{backend}/…, {frontend}/… or /local/domain/…',
      );
      if (k === 'xenstore-rm') return { do: k, vdev: vdev(), path, timeout };
      const value = text(raw.value, `${where}.value`, /^[A-Za-z0-9_.:/-]*$/, 'a plain value');
      return { do: k, vdev: vdev(), path, value, timeout };
    }
    default:
      return { do: k, timeout };
  }
}

/** Steps that need a running guest, and the ones that end it, checked in order. */
function checkOrder(steps: readonly Step[], disks: readonly DiskSpec[]): void {
  let guest: 'none' | 'paused' | 'running' | 'saved' = 'none';
  const attached = new Set(disks.filter((d) => d.attach === 'boot').map((d) => d.vdev));
  steps.forEach((step, index) => {
    const where = `steps[${index}] (${step.do})`;
    const needs = (ok: boolean, why: string) => {
      if (!ok) fail(where, why);
    };
    if (step.do === 'create') {
      needs(guest === 'none', 'the guest already exists');
      guest = step.paused ? 'paused' : 'running';
    } else if (step.do === 'unpause') {
      needs(guest === 'paused', 'needs a guest created with "paused": true');
      guest = 'running';
    } else if (step.do === 'restore') {
      needs(guest === 'saved', 'needs a saved guest');
      guest = 'running';
    } else if (step.do === 'save' || step.do === 'destroy') {
      needs(guest === 'running' || guest === 'paused', 'needs a guest');
      guest = step.do === 'save' ? 'saved' : 'none';
    } else if (step.do === 'attach' || step.do === 'detach') {
      needs(guest === 'running', 'needs a running guest');
      needs(
        attached.has(step.vdev) === (step.do === 'detach'),
        `${step.vdev} is ${attached.has(step.vdev) ? 'already attached' : 'not attached'}`,
      );
      if (step.do === 'attach') attached.add(step.vdev);
      else attached.delete(step.vdev);
    } else if (
      ['wait-connected', 'wait-state', 'xenstore-write', 'xenstore-rm'].includes(step.do)
    ) {
      needs(guest === 'running' || guest === 'paused', 'needs a guest');
    }
  });
}

/** Parse a scenario file's text; throws ScenarioError with one line naming the bad field. */
export function parseScenario(source: string, name: string): Scenario {
  let json: Json;
  try {
    json = JSON.parse(source) as Json;
  } catch (error) {
    fail(name, `not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const top = object(json, name, ['description', 'guest', 'dom0', 'disks', 'steps']);
  const guest = object(top.guest, 'guest', ['type', 'vcpus', 'memory', 'blkfront', 'io']);
  const dom0 = object(top.dom0, 'dom0', ['vcpus', 'blkback']);
  const disks = disksOf(top.disks);
  if (!Array.isArray(top.steps) || top.steps.length === 0) {
    fail('steps', 'must be a non-empty array');
  }
  const steps = top.steps.map((item, index) => stepOf(item, index, disks));
  checkOrder(steps, disks);
  return {
    name,
    description: typeof top.description === 'string' ? top.description : '',
    guest: {
      type: choice(guest.type, 'guest.type', ['pv', 'pvh'] as const, 'pv'),
      vcpus: integer(guest.vcpus, 'guest.vcpus', 1, 8, 2),
      memoryMb: integer(guest.memory, 'guest.memory', 64, 1024, 192),
      blkfront: params(guest.blkfront, 'guest.blkfront', BLKFRONT_PARAMS),
      io: choice(guest.io, 'guest.io', ['none', 'once', 'loop'] as const, 'none'),
    },
    dom0: {
      vcpus: integer(dom0.vcpus, 'dom0.vcpus', 1, 2, 2),
      blkback: params(dom0.blkback, 'dom0.blkback', BLKBACK_PARAMS),
    },
    disks,
    steps,
  };
}
