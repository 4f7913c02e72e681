import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty } from '../../properties/catalog.ts';
import type { Trace } from '../schema.ts';
import { CORRUPTING_DRIVERS, DEAF_DRIVERS, FIXTURE_PROPERTY } from '../testing/fixtures.ts';
import { RENDERERS } from './index.ts';
import { COLLAPSE_RUN_MIN, isRoutine, type Segment, segments } from './scene.ts';
import { SHIVIZ_REGEX } from './shiviz.ts';
import { mermaidSequenceProblems } from '../testing/mermaid-syntax.ts';

function failing(drivers = CORRUPTING_DRIVERS, seed = 7): Trace {
  return checkProperty(FIXTURE_PROPERTY, { numRuns: 50, seed, drivers }).failure!.trace;
}

const TRACE = failing();
/** A long trace: the deaf frontend's drain runs the whole workload through the backend. */
const LONG: Trace = failing(DEAF_DRIVERS, 3);

describe('mermaid', () => {
  const text = RENDERERS.mermaid.render(TRACE);
  it('declares boxed participants by domain and uses only declared ones', () => {
    expect(text.startsWith('sequenceDiagram\n')).toBe(true);
    const boxes = [...text.matchAll(/^ {2}box rgb\([^)]*\) (.*)$/gm)].map((m) => m[1]);
    expect(boxes).toEqual([
      'Guest vCPUs',
      'Guest: blkfront, rings',
      'Dom0: xenstore, toolstack',
      'Hypervisor',
      'Backend: rings, blkback',
    ]);
    const declared = new Set([...text.matchAll(/participant (\w+) as/g)].map((m) => m[1]));
    for (const m of text.matchAll(/^ {2}(\w+)->>(\w+): /gm)) {
      expect(declared.has(m[1])).toBe(true);
      expect(declared.has(m[2])).toBe(true);
    }
    for (const m of text.matchAll(/Note over ([\w,]+):/g))
      for (const id of m[1]!.split(',')) expect(declared.has(id)).toBe(true);
  });

  it("follows Mermaid's sequenceDiagram grammar (short and collapsed traces)", () => {
    expect(mermaidSequenceProblems(text)).toEqual([]);
    expect(mermaidSequenceProblems(RENDERERS.mermaid.render(LONG))).toEqual([]);
  });

  // Mermaid draws notes over the lifelines they span and a rect behind them: a collapsed band is
  // a translucent rect whose notes sit beside lifelines (left of / right of), never over one, and
  // whose per-lane counts add up to the run it stands for.
  const bandProblems = (source: string): string[] => {
    const problems: string[] = [];
    const lines = source.split('\n').map((l) => l.trim());
    lines.forEach((line, i) => {
      const run = /^Note [^:]+: … steps \d+–\d+: (\d+) routine/.exec(line);
      if (run === null) return;
      if (!/^rect rgba\([^)]*, 0\.\d+\)$/.test(lines[i - 1] ?? '')) problems.push(`${i}: no band`);
      let total = 0;
      for (let k = i; k < lines.length && lines[k] !== 'end'; k++) {
        if (/^Note over /.test(lines[k]!)) problems.push(`${k}: a note over a lifeline`);
        total += Number(/^Note right of \w+: ×(\d+)$/.exec(lines[k]!)?.[1] ?? 0);
      }
      if (total !== Number(run[1])) problems.push(`${i}: lanes count ${total} of ${run[1]} steps`);
    });
    return problems;
  };

  it('a collapsed band keeps one line per lane: no note covers a lifeline', () => {
    const long = RENDERERS.mermaid.render(LONG);
    expect(long).toMatch(/… steps \d+–\d+: \d+ routine/);
    expect(bandProblems(long)).toEqual([]);
  });

  it('teeth: a band drawn as one note across the diagram is caught', () => {
    const across = RENDERERS.mermaid
      .render(LONG)
      .replace(
        / {2}rect rgba[^\n]*\n {2}Note left of (\w+): (… steps[^\n]*)\n/g,
        '  Note over $1,blkback: $2\n',
      )
      .replace(/ {2}Note right of \w+: ×\d+\n {2}end\n/g, '');
    expect(across).not.toBe(RENDERERS.mermaid.render(LONG));
    expect(bandProblems(across).length).toBeGreaterThan(0);
  });

  it('ends with the violation as a note, and message text has no statement separators', () => {
    expect(text).toMatch(/Note over [\w,]+: VIOLATION data-integrity at step \d+/);
    for (const line of text.split('\n').filter((l) => l.includes('->>')))
      expect(line.slice(line.indexOf(':'))).not.toMatch(/[;]/);
  });
});

describe('collapsing', () => {
  const covers = (segs: readonly Segment[], n: number) => {
    const seen: number[] = [];
    for (const s of segs) {
      if (s.kind === 'step') seen.push(s.index);
      else for (let k = s.first; k <= s.last; k++) seen.push(k);
    }
    return seen.length === n && seen.every((v, i) => v === i);
  };
  // Any prefix of a real trace: every step drawn or collapsed exactly once, in order; a collapsed
  // range holds only routine steps; nothing near the violation is collapsed.
  const sound = (segmentsOf: (t: Trace) => Segment[]) =>
    fc.property(fc.nat(LONG.steps.length), (cut) => {
      const trace: Trace = { ...LONG, steps: LONG.steps.slice(0, cut), violation: undefined };
      const segs = segmentsOf(trace);
      if (!covers(segs, cut)) return false;
      return segs.every(
        (s) => s.kind === 'step' || LONG.steps.slice(s.first, s.last + 1).every(isRoutine),
      );
    });

  it('covers every step once and collapses only routine steps', () => {
    fc.assert(sound(segments), { numRuns: 100, seed: 5 });
    expect(segments(LONG).some((s) => s.kind === 'collapsed')).toBe(true);
    const v = LONG.violation!;
    for (const s of segments(LONG))
      if (s.kind === 'collapsed') expect(s.last + 1).toBeLessThan(v.step - 1);
  });

  it('teeth: a collapser that drops the edges of a run is caught', () => {
    const lossy = (t: Trace): Segment[] =>
      segments(t).filter((s, i, all) => !(s.kind === 'step' && all[i + 1]?.kind === 'collapsed'));
    expect(fc.check(sound(lossy), { numRuns: 100, seed: 5 }).failed).toBe(true);
    expect(COLLAPSE_RUN_MIN).toBeGreaterThan(2);
  });
});

describe('shiviz', () => {
  const parse = (log: string) => {
    const [regex, delimiter, ...lines] = log.trimEnd().split('\n');
    expect(regex).toBe(SHIVIZ_REGEX);
    expect(delimiter).toBe('');
    const re = new RegExp(`^${SHIVIZ_REGEX}$`);
    return lines.map((line) => {
      const m = re.exec(line);
      expect(m, line).not.toBeNull();
      return {
        host: m!.groups!.host!,
        clock: JSON.parse(m!.groups!.clock!) as Record<string, number>,
      };
    });
  };
  // ShiViz's own rule: each host's entry for itself counts its events 1, 2, 3...; clocks never go back.
  const consistent = (events: { host: string; clock: Record<string, number> }[]) => {
    const last = new Map<string, Record<string, number>>();
    return events.every(({ host, clock }) => {
      const before = last.get(host) ?? {};
      last.set(host, clock);
      return (
        clock[host] === (before[host] ?? 0) + 1 &&
        Object.entries(before).every(([h, t]) => (clock[h] ?? 0) >= t)
      );
    });
  };

  it('every line parses with the header regex and clocks are consistent', () => {
    for (const trace of [TRACE, LONG])
      expect(consistent(parse(RENDERERS.shiviz.render(trace)))).toBe(true);
  });

  it('teeth: a log whose receives forget the sender is not consistent', () => {
    const events = parse(RENDERERS.shiviz.render(TRACE));
    const broken = events.map((e) => ({
      host: e.host,
      clock: { [e.host]: e.clock[e.host]! + (e.host === 'xenstored' ? 1 : 0) },
    }));
    expect(consistent(broken)).toBe(false);
  });
});

describe('html and text', () => {
  it('html is one self-contained page with a row per step and the violation highlighted', () => {
    const html = RENDERERS.html.render(LONG);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|src=|href="http|@import/);
    for (let n = 1; n <= LONG.steps.length; n++) expect(html).toContain(`<tr id="step-${n}"`);
    expect(html).toContain(`<tr id="step-${LONG.violation!.step}" class="violation">`);
    expect(html.match(/<svg /g)?.length).toBe(2);
    expect(html).toContain('routine data-path steps');
  });

  it('text marks the violation and ends with the world state', () => {
    const text = RENDERERS.text.render(TRACE);
    expect(text).toMatch(/^blkif trace v1: data-integrity at step \d+/);
    expect(text).toMatch(/\n {2}>>>> {2}VIOLATION data-integrity at step/);
    expect(text).toMatch(/after step \d+:\n {2}frontend Connected \(4\), backend Connected \(4\)/);
  });
});
