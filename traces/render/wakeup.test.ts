import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queueRequest } from '../../impl/blkfront/queue-request.ts';
import { envWith } from '../../impl/blkfront/device.ts';
import { HONEST_DRIVERS } from '../../impl/world/drivers.ts';
import type { Observation } from '../../impl/world/world.ts';
import { mustNotify } from '../../impl/xen/shared-ring.ts';
import type { RingIdx } from '../../impl/xen/ring-index.ts';
import { OK_VOID } from '../../impl/xen/result.ts';
import { checkProperty } from '../../properties/catalog.ts';
import { variantOf } from '../../properties/mutants/variant.ts';
import { backendSkipsFinalCheck } from '../../properties/mutants/backend-skips-final-check.ts';
import { frontendSkipsFinalCheck } from '../../properties/mutants/frontend-skips-final-check.ts';
import { lostWakeup } from '../../properties/properties.ts';
import { replayTrace } from '../replay.ts';
import { parseTrace, type Trace } from '../schema.ts';
import { mermaidSequenceProblems } from '../testing/mermaid-syntax.ts';
import { CORRUPTING_DRIVERS, DEAF_DRIVERS, FIXTURE_PROPERTY } from '../testing/fixtures.ts';
import { RENDERERS } from './index.ts';
import { pushText, segments } from './scene.ts';
import { FIT_WIDTH } from './svg-sequence.ts';

// The protocol facts of a lost wake-up, recorded in the trace and drawn: each push with the
// event index it was compared with and whether an event was actually sent, each final check
// with what it armed and left on the ring, and the step where the wake-up was lost.
type Push = Extract<Observation, { kind: 'push' }>;
type Check = Extract<Observation, { kind: 'finalCheck' }>;
const facts = (t: Trace) => t.steps.flatMap((s, i) => s.observations.map((o) => ({ n: i + 1, o })));
const pushes = (t: Trace) =>
  facts(t).flatMap(({ n, o }) => (o.kind === 'push' ? [{ n, o: o as Push }] : []));
const rule = (p: Push) => mustNotify(p.from as RingIdx, p.to as RingIdx, p.event as RingIdx);

function lostWakeupTrace(drivers = frontendSkipsFinalCheck, seed = 42): Trace {
  const failure = checkProperty(lostWakeup, { numRuns: 400, seed, drivers }).failure;
  expect(failure?.trace.violation?.code).toBe('lost-wakeup');
  return failure!.trace;
}

/** blkfront that publishes its requests but never sends the event ring.h asks for. */
const frontNeverNotifies = variantOf('test-front-never-notifies', {
  blkfront: {
    queueRequest(dev, rinfo, request, env) {
      const evtchn = Object.assign(Object.create(env.evtchn), { notify: () => OK_VOID });
      return queueRequest(dev, rinfo, request, envWith(env, { evtchn }));
    },
  },
});

describe('push and final-check facts in traces', () => {
  const trace = lostWakeupTrace();

  it('the frontend that skips its final check: a silent push, then a check that sleeps on work', () => {
    const v = trace.violation!;
    const checks = facts(trace).flatMap(({ n, o }) =>
      o.kind === 'finalCheck' && o.side === 'frontend' && !o.again && o.unconsumed > 0
        ? [{ n, o }]
        : [],
    );
    expect(checks.length).toBeGreaterThan(0);
    const { n: at, o: check } = checks[0]!;
    expect(check.ring).toBe(v.ring);
    expect(check.armed).toBe(
      trace.steps[at - 1]!.state.rings.find((r) => r.ring === v.ring)!.rspEvent,
    );
    const silent = pushes(trace).filter(
      ({ n, o }) => n < at && o.side === 'backend' && o.ring === v.ring && !o.notified,
    );
    expect(silent.length).toBeGreaterThan(0);
    expect(pushes(trace).some(({ o }) => o.notified)).toBe(true);
  });

  it('every push agrees with ring.h here: the event sent is the one the rule asks for', () => {
    for (const t of [trace, lostWakeupTrace(backendSkipsFinalCheck, 3)]) {
      expect(pushes(t).length).toBeGreaterThan(2);
      for (const { o } of pushes(t)) expect(o.notified, JSON.stringify(o)).toBe(rule(o));
    }
  });

  it('the backend that skips its final check: a push that finds it asleep is the lost wake-up', () => {
    const t = lostWakeupTrace(backendSkipsFinalCheck, 3);
    const v = t.violation!;
    const lost = pushes(t).filter(
      ({ n, o }) =>
        n <= v.step && o.ring === v.ring && o.side === 'frontend' && !o.notified && o.peerAsleep,
    );
    expect(lost.length).toBeGreaterThan(0);
    expect(RENDERERS.text.render(t)).toMatch(
      /~~~~ {2}wake-up lost: back ring \d+ sleeps and this push sent it no event/,
    );
  });

  it('teeth: "notified" is what the event channel saw, not what the rule says', () => {
    const t = lostWakeupTrace(frontNeverNotifies, 5);
    const against = pushes(t).filter(({ o }) => o.side === 'frontend' && rule(o) && !o.notified);
    expect(against.length).toBeGreaterThan(0);
    expect(RENDERERS.text.render(t)).toContain(': no event (ring.h: must notify)');
  });

  it('an honest data path loses no wake-up and draws none', () => {
    const honest = checkProperty(FIXTURE_PROPERTY, {
      numRuns: 50,
      seed: 7,
      drivers: CORRUPTING_DRIVERS,
    }).failure!.trace;
    expect(pushes(honest).length).toBeGreaterThan(2);
    for (const r of Object.values(RENDERERS)) expect(r.render(honest)).not.toMatch(/wake-up lost/);
  });

  it('traces without the facts (older ones) still replay, and the replay adds them', () => {
    const stripped: Trace = {
      ...trace,
      steps: trace.steps.map((s) => ({
        ...s,
        observations: s.observations.filter((o) => o.kind !== 'push' && o.kind !== 'finalCheck'),
      })),
    };
    const result = replayTrace(parseTrace(JSON.stringify(stripped)), {
      drivers: (n) =>
        n === frontendSkipsFinalCheck.name ? frontendSkipsFinalCheck : HONEST_DRIVERS,
    });
    expect(result.reproduced).toBe(true);
    expect(pushes(result.trace)).toEqual(pushes(trace));
  });
});

describe('the renders show them', () => {
  const trace = lostWakeupTrace();

  /** The pushes of the steps the collapsing views draw (not folded into a routine band). */
  const drawn = () => {
    const shown = new Set(segments(trace).flatMap((g) => (g.kind === 'step' ? [g.index + 1] : [])));
    return pushes(trace).filter(({ n }) => shown.has(n));
  };

  it('text: every drawn push, final checks, event indices and the lost wake-up', () => {
    const text = RENDERERS.text.render(trace);
    expect(drawn().some(({ o }) => !o.notified)).toBe(true);
    for (const { o } of drawn())
      expect(text).toContain(`${o.side} ring ${o.ring} pushes ${pushText(o)}`);
    expect(text).toMatch(
      /frontend ring \d final check: armed rsp_event \d+, \d+ unprocessed responses on the ring: sleeps/,
    );
    expect(text).toMatch(
      /ring \d req_prod \d+ req_event \d+ rsp_prod \d+ rsp_event \d+ inflight \d+/,
    );
    expect(text).toMatch(
      /~~~~ {2}wake-up lost: front ring \d sleeps with \d+ unprocessed responses and no event coming \(the backend's push at step \d+ sent none\)\n/,
    );
  });

  it('mermaid: a silent push dotted, a notifying one solid with its notify, the loss in a red band', () => {
    const mmd = RENDERERS.mermaid.render(trace);
    expect(mermaidSequenceProblems(mmd)).toEqual([]);
    const lines = mmd.split('\n');
    for (const { n, o } of drawn()) {
      const mine = lines.filter(
        (l) => l.includes('->>') && l.includes(`: ${n}. `) && l.includes(pushText(o)),
      );
      expect(mine.length, `step ${n}`).toBe(1);
      expect(mine[0]!.includes('-->>'), mine[0]).toBe(!o.notified);
      expect(lines.some((l) => l.endsWith(`->>hypervisor: ${n}. notify`))).toBe(o.notified);
    }
    expect(mmd).toMatch(
      / {2}rect rgb\(255, 218, 214\)\n {2}Note over fring\d,bring\d: \d+\. wake-up lost: .*\n {2}end/,
    );
  });

  it('svg: silent pushes dashed, the loss marked, no links', () => {
    const svg = RENDERERS.svg.render(trace);
    expect(svg).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/,
    );
    expect(svg).toContain('class="msg silent"');
    expect(svg).toMatch(/class="lost"\/><text [^>]*class="note-text lost-text">\d+\. wake-up lost/);
    expect(svg).not.toMatch(/<a |href=/);
    expect(svg.match(/<svg /g)?.length).toBe(svg.match(/<\/svg>/g)?.length);
    expect(RENDERERS.html.render(trace)).toContain('— wake-up lost</b>');
  });

  it('the HTML diagram of an 8-ring trace fits a 1400 px window: its lanes compress', () => {
    const rings = (n: number) =>
      Array.from({ length: n }, (_, ring) => ({ ...trace.steps[0]!.state.rings[0]!, ring }));
    const wide: Trace = {
      ...trace,
      steps: trace.steps.map((s) => ({ ...s, state: { ...s.state, rings: rings(8) } })),
    };
    const html = RENDERERS.html.render(wide);
    const width = Number(/<div style="width:(\d+)px">/.exec(html)![1]);
    const lanes = html.match(/class="participant"/g)!.length;
    expect(lanes).toBeGreaterThanOrEqual(21);
    expect(lanes * 110).toBeGreaterThan(FIT_WIDTH);
    expect(width).toBeLessThanOrEqual(FIT_WIDTH);
  });

  it("a collapsed band keeps every lifeline and counts each lane's steps", () => {
    const long = checkProperty(FIXTURE_PROPERTY, { numRuns: 50, seed: 3, drivers: DEAF_DRIVERS })
      .failure!.trace;
    const svg = RENDERERS.svg.render(long);
    const lanes = svg.match(/class="participant"/g)!.length;
    const bands = svg.match(/class="collapsed"/g)?.length ?? 0;
    expect(bands).toBeGreaterThan(0);
    expect(svg.match(/class="through"/g)?.length).toBe(lanes * bands);
    expect(svg).toMatch(/class="lane-count">×\d+</);
  });

  it('the committed example shows the same facts', () => {
    const file = join(
      import.meta.dirname,
      '..',
      '..',
      'docs',
      'examples',
      'lost-wakeup-frontend-skips-final-check.json',
    );
    const example = parseTrace(readFileSync(file, 'utf8'));
    expect(RENDERERS.text.render(example)).toContain('~~~~  wake-up lost: front ring');
  });
});
