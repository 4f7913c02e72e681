// What every sequence-style renderer draws, computed once: lanes grouped by domain (guest vCPUs,
// the frontend and its rings, xenstore and the toolstack, the hypervisor, the backend and its
// rings), one message per action plus the xenstore writes, notifications, state changes and
// driver reports its step observed, and runs of routine data-path steps collapsed so that a long
// trace still fits on a screen. Mermaid, the HTML page's SVG, the text view and ShiViz all read
// this, so they show the same story.
import { type Action, actionKey, describeAction } from '../../impl/world/action.ts';
import type { Observation } from '../../impl/world/world.ts';
import { xenbusStateName } from '../../model/xenbus-state.ts';
import { mustNotify } from '../../impl/xen/shared-ring.ts';
import type { RingIdx } from '../../impl/xen/ring-index.ts';
import { formatViolation } from '../../properties/invariants/violation.ts';
import type { Trace, TraceStep } from '../schema.ts';

export type BoxId = 'guest' | 'frontend' | 'xenstore' | 'hypervisor' | 'backend';

export interface Lane {
  /** Identifier usable in Mermaid and as a ShiViz host: letters and digits only. */
  readonly id: string;
  readonly label: string;
  readonly box: BoxId;
}

export interface Box {
  readonly id: BoxId;
  readonly label: string;
  /** A light fill for the domain, as rgb(): Mermaid's `box` accepts no hex colour. */
  readonly color: string;
  readonly lanes: readonly Lane[];
}

export type SceneItem =
  | {
      readonly kind: 'message';
      readonly step: number;
      readonly from: string;
      readonly to: string;
      readonly label: string;
      /** A push that sent no event: drawn dashed, apart from a notifying one. */
      readonly silent?: true;
    }
  | {
      readonly kind: 'note';
      readonly step: number;
      readonly lanes: readonly string[];
      readonly text: string;
      /** `lost`: the step where a wake-up was lost (a consumer sleeps with work on its ring). */
      readonly tone: 'state' | 'report' | 'lost';
    }
  | {
      readonly kind: 'collapsed';
      readonly first: number;
      readonly last: number;
      readonly text: string;
      /** Steps taken on each lane inside the run, so the band still shows every lane. */
      readonly perLane: ReadonlyMap<string, number>;
    }
  | {
      readonly kind: 'violation';
      readonly step: number;
      readonly lanes: readonly string[];
      readonly text: string;
    };

export interface Scene {
  readonly boxes: readonly Box[];
  readonly items: readonly SceneItem[];
}

const BOXES: readonly { id: BoxId; label: string; color: string }[] = [
  { id: 'guest', label: 'Guest vCPUs', color: 'rgb(232, 240, 254)' },
  { id: 'frontend', label: 'Guest: blkfront, rings', color: 'rgb(230, 244, 234)' },
  { id: 'xenstore', label: 'Dom0: xenstore, toolstack', color: 'rgb(254, 247, 224)' },
  { id: 'hypervisor', label: 'Hypervisor', color: 'rgb(243, 232, 253)' },
  { id: 'backend', label: 'Backend: rings, blkback', color: 'rgb(252, 232, 230)' },
];

export const LANE = {
  blkfront: 'blkfront',
  xenstored: 'xenstored',
  toolstack: 'toolstack',
  hypervisor: 'hypervisor',
  blkback: 'blkback',
} as const;
export const vcpuLane = (v: number): string => `vcpu${v}`;
export const frontRingLane = (r: number): string => `fring${r}`;
export const backRingLane = (r: number): string => `bring${r}`;

function laneOf(id: string): Lane {
  const match = /^(vcpu|fring|bring)(\d+)$/.exec(id);
  if (match?.[1] === 'vcpu') return { id, label: `vCPU ${match[2]}`, box: 'guest' };
  if (match?.[1] === 'fring') return { id, label: `front ring ${match[2]}`, box: 'frontend' };
  if (match?.[1] === 'bring') return { id, label: `back ring ${match[2]}`, box: 'backend' };
  const box: BoxId =
    id === LANE.blkfront
      ? 'frontend'
      : id === LANE.blkback
        ? 'backend'
        : id === LANE.hypervisor
          ? 'hypervisor'
          : 'xenstore';
  return { id, label: id, box };
}

/** Lane order inside a box: controller first on the guest side, rings facing each other. */
function laneRank(id: string): number {
  const match = /(\d+)$/.exec(id);
  const n = match === null ? 0 : Number(match[1]);
  if (id === LANE.blkfront || id === LANE.xenstored) return -1;
  if (id === LANE.blkback) return 10_000;
  return n;
}

export interface Arrow {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

const self = (lane: string, label: string): Arrow => ({ from: lane, to: lane, label });
const arrow = (from: string, to: string, label: string): Arrow => ({ from, to, label });
const sideLaneOf = (actor: string): string => (actor === 'blkfront' ? LANE.blkfront : LANE.blkback);

/** Ring traffic: between a ring's two ends, or the hypervisor delivering its event. */
function dataArrow(a: Action): Arrow | undefined {
  switch (a.kind) {
    case 'queueRequest':
      return arrow(frontRingLane(a.ring), backRingLane(a.ring), 'blkif_queue_rq');
    case 'processResponses':
      return self(frontRingLane(a.ring), 'blkif_interrupt');
    case 'finalCheck':
      return self(
        a.actor === 'blkfront' ? frontRingLane(a.ring) : backRingLane(a.ring),
        'final check',
      );
    case 'consumeRequest':
      return self(backRingLane(a.ring), 'consume a request');
    case 'submitBarrier':
      return self(backRingLane(a.ring), 'submit the barrier');
    case 'completeIo':
      return arrow(backRingLane(a.ring), frontRingLane(a.ring), `response id ${a.id}`);
    case 'deliverEvent': {
      const lane = a.side === 'blkfront' ? frontRingLane(a.ring) : backRingLane(a.ring);
      return arrow(LANE.hypervisor, lane, 'deliver event');
    }
    case 'attack': {
      const label = `hostile: ${a.attack} (${a.value})`;
      return a.side === 'blkback'
        ? arrow(backRingLane(a.ring), frontRingLane(a.ring), label)
        : arrow(frontRingLane(a.ring), backRingLane(a.ring), label);
    }
    default:
      return undefined;
  }
}

/** The arrow of one action: from its actor's lane to the lane it acts on. */
export function actionArrow(a: Action): Arrow {
  const data = dataArrow(a);
  if (data !== undefined) return data;
  switch (a.kind) {
    case 'submit':
      return arrow(vcpuLane(a.vcpu), LANE.blkfront, 'submit a request');
    case 'resume':
    case 'close':
      return arrow(vcpuLane(0), LANE.blkfront, a.kind);
    case 'probe':
      return arrow(sideLaneOf(a.actor), LANE.xenstored, 'probe');
    case 'commitTransaction':
      return arrow(sideLaneOf(a.actor), LANE.xenstored, 'commit transaction');
    case 'fireWatch':
      return arrow(
        LANE.xenstored,
        a.connection === 'frontend' ? LANE.blkfront : LANE.blkback,
        'watch fires',
      );
    case 'coalesceWatch':
      return arrow(LANE.xenstored, LANE.blkback, 'watch fires (coalesced)');
    case 'conflict':
      return self(LANE.xenstored, `conflicting write (${a.connection})`);
    case 'hotplug':
    case 'unplug':
    case 'removeDevice':
      return arrow(LANE.toolstack, LANE.xenstored, a.kind);
    case 'suspend':
    case 'migrate':
      return arrow(LANE.toolstack, LANE.hypervisor, a.kind);
    default:
      return self(LANE.toolstack, describeAction(a));
  }
}

/** "/local/domain/1/device/vbd/51712/queue-0/ring-ref0" -> "queue-0/ring-ref0". */
export function shortKey(path: string): string {
  const parts = path.split('/');
  const device = parts.findIndex((p) => /^\d{3,}$/.test(p));
  return device >= 0 && device < parts.length - 1 ? parts.slice(device + 1).join('/') : path;
}

export function stateText(state: number): string {
  return `${xenbusStateName(state) ?? 'invalid'} (${state})`;
}

type PushFact = Extract<Observation, { kind: 'push' }>;
type FinalCheckFact = Extract<Observation, { kind: 'finalCheck' }>;

/** The producer index a side pushes and the peer's event index it compares with. */
export function pushNames(side: 'frontend' | 'backend'): { prod: string; event: string } {
  return side === 'frontend'
    ? { prod: 'req_prod', event: 'req_event' }
    : { prod: 'rsp_prod', event: 'rsp_event' };
}

/** Whether an event was sent where ring.h's rule says one must be (a variant may disagree). */
function ruleSays(p: PushFact): boolean {
  return mustNotify(p.from as RingIdx, p.to as RingIdx, p.event as RingIdx);
}

/** "rsp_prod 1 → 2, rsp_event 1 not in (1, 2]: no event". */
export function pushText(p: PushFact): string {
  const n = pushNames(p.side);
  const rule = ruleSays(p);
  const where = `${n.event} ${p.event} ${rule ? 'in' : 'not in'} (${p.from}, ${p.to}]`;
  const verdict = p.notified ? 'event sent' : 'no event';
  const against = p.notified === rule ? '' : ` (ring.h: ${rule ? 'must notify' : 'no event due'})`;
  return `${n.prod} ${p.from} → ${p.to}, ${where}: ${verdict}${against}`;
}

const WORK: Readonly<Record<'frontend' | 'backend', string>> = {
  frontend: 'unprocessed responses',
  backend: 'unconsumed requests',
};

/** "armed rsp_event 2, 1 unprocessed responses on the ring: sleeps". */
export function finalCheckText(c: FinalCheckFact): string {
  const armed = c.side === 'frontend' ? 'rsp_event' : 'req_event';
  const next = c.again ? 'goes round again' : 'sleeps';
  return `armed ${armed} ${c.armed}, ${c.unconsumed} ${WORK[c.side]} on the ring: ${next}`;
}

/**
 * Where a wake-up is lost: a final check that goes to sleep with work on its ring, or a push
 * that sends no event while its consumer sleeps with none pending. Nothing wakes it for that work.
 */
export function losesWakeup(o: Observation): o is FinalCheckFact | PushFact {
  if (o.kind === 'push') return !o.notified && o.peerAsleep;
  return o.kind === 'finalCheck' && !o.again && o.unconsumed > 0;
}

const sleeperOf = (o: FinalCheckFact | PushFact): 'frontend' | 'backend' =>
  o.kind === 'finalCheck' ? o.side : o.side === 'frontend' ? 'backend' : 'frontend';

/**
 * Whether the loss at step `n` is the first since its sleeper last ran on that ring: later
 * silent pushes to a consumer already asleep on lost work are consequences, not new losses.
 */
export function firstLoss(trace: Trace, n: number, o: FinalCheckFact | PushFact): boolean {
  const sleeper = sleeperOf(o);
  const actor = sleeper === 'frontend' ? 'blkfront' : 'blkback';
  for (let k = n - 1; k >= 1; k--) {
    const step = trace.steps[k - 1]!;
    const a = step.action;
    if (a.actor === actor && 'ring' in a && a.ring === o.ring) return true;
    const earlier = step.observations.some(
      (x) => losesWakeup(x) && x.ring === o.ring && sleeperOf(x) === sleeper,
    );
    if (earlier) return false;
  }
  return true;
}

/** The peer's last push on that ring before step `n` that sent no event, if any. */
function silentPushBefore(trace: Trace, n: number, c: FinalCheckFact): number | undefined {
  for (let k = n - 1; k >= 1; k--) {
    const silent = trace.steps[k - 1]!.observations.some(
      (o) => o.kind === 'push' && o.ring === c.ring && o.side !== c.side && !o.notified,
    );
    if (silent) return k;
  }
  return undefined;
}

/** "wake-up lost: front ring 0 sleeps with 1 unprocessed responses ... (the push at step 27 sent none)". */
export function lostWakeupText(trace: Trace, n: number, c: FinalCheckFact | PushFact): string {
  if (c.kind === 'push') {
    const sleeper = c.side === 'frontend' ? 'back' : 'front';
    return `wake-up lost: ${sleeper} ring ${c.ring} sleeps and this push sent it no event (${pushText(c)})`;
  }
  const lane = c.side === 'frontend' ? 'front' : 'back';
  const push = silentPushBefore(trace, n, c);
  const peer = c.side === 'frontend' ? 'backend' : 'frontend';
  const cause = push === undefined ? '' : ` (the ${peer}'s push at step ${push} sent none)`;
  return `wake-up lost: ${lane} ring ${c.ring} sleeps with ${c.unconsumed} ${WORK[c.side]} and no event coming${cause}`;
}

/** A routine fact: a push that followed ring.h's rule, a final check that lost nothing. */
function routineFact(o: Observation): boolean {
  if (o.kind === 'request' || o.kind === 'notify') return true;
  if (o.kind === 'push') return o.notified === ruleSays(o) && !losesWakeup(o);
  return o.kind === 'finalCheck' && !losesWakeup(o);
}

/** Driver routines on the data path that change no control state: safe to collapse. */
export function isRoutine(step: TraceStep): boolean {
  const a = step.action;
  if (a.actor === 'toolstack' || a.actor === 'xenstored' || a.actor === 'hostile') return false;
  if (
    a.kind === 'probe' ||
    a.kind === 'commitTransaction' ||
    a.kind === 'resume' ||
    a.kind === 'close'
  )
    return false;
  return step.observations.every(routineFact);
}

/** A run shorter than this is drawn in full; a longer one keeps its first and last two steps. */
export const COLLAPSE_RUN_MIN = 8;
const RUN_EDGE = 2;
/** Steps just before the violation are always drawn. */
const VIOLATION_CONTEXT = 8;

export type Segment =
  | { readonly kind: 'step'; readonly index: number }
  | { readonly kind: 'collapsed'; readonly first: number; readonly last: number };

/** The steps to draw (0-based indices) and the ranges to collapse. */
export function segments(trace: Trace): Segment[] {
  const out: Segment[] = [];
  const keepFrom =
    trace.violation === undefined
      ? trace.steps.length
      : trace.violation.step - 1 - VIOLATION_CONTEXT;
  let i = 0;
  while (i < trace.steps.length) {
    let end = i;
    while (end < trace.steps.length && end < keepFrom && isRoutine(trace.steps[end]!)) end++;
    if (end - i >= COLLAPSE_RUN_MIN) {
      for (let k = i; k < i + RUN_EDGE; k++) out.push({ kind: 'step', index: k });
      out.push({ kind: 'collapsed', first: i + RUN_EDGE, last: end - RUN_EDGE - 1 });
      for (let k = end - RUN_EDGE; k < end; k++) out.push({ kind: 'step', index: k });
      i = end;
    } else {
      out.push({ kind: 'step', index: i });
      i++;
    }
  }
  return out;
}

const SHORT_KIND: Readonly<Record<string, string>> = {
  'guest.submit': 'submit',
  'blkfront.queueRequest': 'queue_rq',
  'blkfront.processResponses': 'interrupt',
  'blkfront.finalCheck': 'front final check',
  'blkback.consumeRequest': 'consume',
  'blkback.completeIo': 'I/O done',
  'blkback.finalCheck': 'back final check',
  'hypervisor.deliverEvent': 'event',
  'blkback.submitBarrier': 'barrier',
};

/** How many of the steps first..last (0-based) each lane took (the lane its arrow starts on). */
export function collapsedLanes(trace: Trace, first: number, last: number): Map<string, number> {
  const perLane = new Map<string, number>();
  for (let k = first; k <= last; k++) {
    const lane = actionArrow(trace.steps[k]!.action).from;
    perLane.set(lane, (perLane.get(lane) ?? 0) + 1);
  }
  return perLane;
}

/** "26 routine data-path steps: submit ×8, queue_rq ×8, consume ×6, I/O done ×4". */
export function collapsedText(trace: Trace, first: number, last: number): string {
  const counts = new Map<string, number>();
  for (let k = first; k <= last; k++) {
    const key = actionKey(trace.steps[k]!.action);
    const name = SHORT_KIND[key] ?? key;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const parts = [...counts].map(([name, n]) => `${name} ×${n}`).join(', ');
  return `steps ${first + 1}–${last + 1}: ${last - first + 1} routine data-path steps (${parts})`;
}

function writerLane(step: TraceStep, dom: number): string {
  if (step.action.actor === 'toolstack') return LANE.toolstack;
  return dom === step.state.guestDomid ? LANE.blkfront : LANE.blkback;
}

function sideLane(side: 'frontend' | 'backend' | 'blkfront' | 'blkback'): string {
  return side === 'frontend' || side === 'blkfront' ? LANE.blkfront : LANE.blkback;
}

function xenstoreText(writes: readonly { path: string; value: string }[]): string {
  const shown = writes.slice(0, 3).map((w) => `${shortKey(w.path)}=${w.value}`);
  const more = writes.length > 3 ? ` +${writes.length - 3} more` : '';
  return `write ${shown.join(', ')}${more}`;
}

const ringLane = (side: 'frontend' | 'backend', ring: number): string =>
  side === 'frontend' ? frontRingLane(ring) : backRingLane(ring);
const peerOf = (side: 'frontend' | 'backend'): 'frontend' | 'backend' =>
  side === 'frontend' ? 'backend' : 'frontend';

/**
 * The action's arrow, carrying the push it made when it runs between that ring's ends (a
 * silent push dashed), then any other push as its own arrow and each event sent to the
 * hypervisor; a final check says what it armed and found, and a lost wake-up gets its note.
 */
function ringItems(trace: Trace, step: TraceStep, n: number, out: SceneItem[]): void {
  const arrow = actionArrow(step.action);
  const requests = step.observations.filter((o) => o.kind === 'request').map((o) => o.what);
  let label = requests.length > 0 ? `${arrow.label}: ${requests.join(', ')}` : arrow.label;
  const pushes = step.observations.filter((o): o is PushFact => o.kind === 'push');
  const own = pushes.find(
    (p) => arrow.from === ringLane(p.side, p.ring) && arrow.to === ringLane(peerOf(p.side), p.ring),
  );
  if (own !== undefined) label = `${label} · ${pushText(own)}`;
  const check = step.observations.find((o): o is FinalCheckFact => o.kind === 'finalCheck');
  if (check !== undefined) label = `${label}: ${finalCheckText(check)}`;
  const silent = own !== undefined && !own.notified ? { silent: true as const } : {};
  out.push({ kind: 'message', step: n, from: arrow.from, to: arrow.to, label, ...silent });
  for (const p of pushes) {
    const from = ringLane(p.side, p.ring);
    if (p !== own)
      out.push({
        kind: 'message',
        step: n,
        from,
        to: ringLane(peerOf(p.side), p.ring),
        label: `push ${pushText(p)}`,
        ...(p.notified ? {} : { silent: true as const }),
      });
    if (p.notified)
      out.push({ kind: 'message', step: n, from, to: LANE.hypervisor, label: 'notify' });
  }
  for (const o of step.observations) {
    if (!losesWakeup(o) || !firstLoss(trace, n, o)) continue;
    const lanes = [frontRingLane(o.ring), backRingLane(o.ring)];
    out.push({ kind: 'note', step: n, lanes, text: lostWakeupText(trace, n, o), tone: 'lost' });
  }
}

/** The message for the action and what its step observed, in the order a reader needs them. */
function stepItems(trace: Trace, step: TraceStep, n: number, out: SceneItem[]): void {
  ringItems(trace, step, n, out);
  const writes = new Map<string, { path: string; value: string }[]>();
  for (const o of step.observations) {
    if (o.kind !== 'xenstoreWrite') continue;
    const lane = writerLane(step, o.dom);
    writes.set(lane, [...(writes.get(lane) ?? []), o]);
  }
  for (const [lane, list] of writes)
    out.push({
      kind: 'message',
      step: n,
      from: lane,
      to: LANE.xenstored,
      label: xenstoreText(list),
    });
  for (const o of step.observations) noteOf(o, n, out);
}

function noteOf(o: Observation, n: number, out: SceneItem[]): void {
  if (o.kind === 'notify') {
    const lane = o.side === 'frontend' ? frontRingLane(o.ring) : backRingLane(o.ring);
    out.push({ kind: 'message', step: n, from: lane, to: LANE.hypervisor, label: 'notify' });
  } else if (o.kind === 'state') {
    out.push({
      kind: 'note',
      step: n,
      lanes: [sideLane(o.side)],
      text: `${o.side} → ${stateText(o.state)}`,
      tone: 'state',
    });
  } else if (o.kind === 'report') {
    const r = o.report;
    const lane =
      r.ring === undefined
        ? sideLane(r.side)
        : r.side === 'blkfront'
          ? frontRingLane(r.ring)
          : backRingLane(r.ring);
    out.push({
      kind: 'note',
      step: n,
      lanes: [lane],
      text: `${r.side} reports ${r.code}: ${r.message}`,
      tone: 'report',
    });
  }
}

function violationLanes(trace: Trace, lanes: ReadonlySet<string>): string[] {
  const ring = trace.violation?.ring;
  if (ring !== undefined && lanes.has(frontRingLane(ring)) && lanes.has(backRingLane(ring))) {
    return [frontRingLane(ring), backRingLane(ring)];
  }
  return [LANE.blkfront, LANE.blkback];
}

export interface SceneOptions {
  /** Collapse runs of routine steps (default true). */
  readonly collapse?: boolean;
}

export function buildScene(trace: Trace, options: SceneOptions = {}): Scene {
  const items: SceneItem[] = [];
  const all: Segment[] = trace.steps.map((_, index) => ({ kind: 'step', index }));
  for (const segment of options.collapse === false ? all : segments(trace)) {
    if (segment.kind === 'collapsed') {
      items.push({
        kind: 'collapsed',
        first: segment.first + 1,
        last: segment.last + 1,
        text: collapsedText(trace, segment.first, segment.last),
        perLane: collapsedLanes(trace, segment.first, segment.last),
      });
    } else {
      stepItems(trace, trace.steps[segment.index]!, segment.index + 1, items);
    }
  }
  const used = new Set<string>([LANE.blkfront, LANE.xenstored, LANE.hypervisor, LANE.blkback]);
  for (const item of items) {
    if (item.kind === 'message') used.add(item.from).add(item.to);
    if (item.kind === 'note') for (const lane of item.lanes) used.add(lane);
  }
  for (const step of trace.steps) {
    const arrow = actionArrow(step.action);
    used.add(arrow.from).add(arrow.to);
    for (const r of step.state.rings) used.add(frontRingLane(r.ring)).add(backRingLane(r.ring));
  }
  if (trace.violation !== undefined) {
    items.push({
      kind: 'violation',
      step: trace.violation.step,
      lanes: violationLanes(trace, used),
      text: formatViolation(trace.violation),
    });
  }
  const boxes = BOXES.map((b) => ({
    ...b,
    lanes: [...used]
      .map(laneOf)
      .filter((l) => l.box === b.id)
      .sort((x, y) => laneRank(x.id) - laneRank(y.id)),
  })).filter((b) => b.lanes.length > 0);
  return { boxes, items };
}

/** Lanes left to right. */
export function sceneLanes(scene: Scene): Lane[] {
  return scene.boxes.flatMap((b) => b.lanes);
}

/** One line per trace header field, shared by the text and HTML views. */
export function headerLines(trace: Trace): string[] {
  const c = trace.config;
  const backQueues =
    c.backend.queueCountMax === undefined ? 'absent' : String(c.backend.queueCountMax);
  return [
    `property: ${trace.property ?? '(none)'}   drivers: ${trace.drivers}`,
    `seed: ${trace.seed ?? '(none)'}   path: ${trace.path === undefined || trace.path === '' ? '(none)' : trace.path}`,
    `config: ${c.vcpuCount} vCPUs, ${c.abi}, frontend max queues ${c.frontend.queueCountMax}, ` +
      `backend multi-queue-max-queues ${backQueues}, ${c.workload.length} workload items, ` +
      `${c.faults.migrations.length} migrations${c.faults.unplug ? ', unplug' : ''}`,
    `steps: ${trace.steps.length}`,
  ];
}
