import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty } from '../properties/catalog.ts';
import {
  parseTrace,
  safeParseTrace,
  safeParseTraceValue,
  TraceError,
  traceJson,
} from './schema.ts';
import { CORRUPTING_DRIVERS, FIXTURE_PROPERTY } from './testing/fixtures.ts';

const outcome = checkProperty(FIXTURE_PROPERTY, {
  numRuns: 50,
  seed: 7,
  drivers: CORRUPTING_DRIVERS,
});
const TRACE = outcome.failure!.trace;
const TEXT = traceJson(TRACE);

function edited(edit: (t: Record<string, unknown>) => void): string {
  const copy = JSON.parse(TEXT) as Record<string, unknown>;
  edit(copy);
  return JSON.stringify(copy);
}

function firstIssue(text: string): string {
  const parsed = safeParseTrace(text);
  expect(parsed.ok).toBe(false);
  return parsed.ok ? '' : `${parsed.issues[0]!.path}: ${parsed.issues[0]!.message}`;
}

describe('trace schema v1', () => {
  it('round-trips a recorded trace byte for byte', () => {
    expect(traceJson(parseTrace(TEXT))).toBe(TEXT);
  });

  it('refuses malformed, newer and incomplete files with one line each', () => {
    expect(firstIssue('{"version": 1,')).toMatch(/^: not JSON/);
    expect(
      firstIssue(
        edited((t) => {
          t.version = 2;
        }),
      ),
    ).toMatch(/version: .*newer than this blkif/);
    expect(
      firstIssue(
        edited((t) => {
          delete t.version;
        }),
      ),
    ).toMatch(/missing trace format version/);
    expect(
      firstIssue(
        edited((t) => {
          delete t.steps;
        }),
      ),
    ).toBe('steps: expected an array, got nothing');
    expect(
      firstIssue(
        edited((t) => {
          (t.config as Record<string, unknown>).vcpuCount = 0;
        }),
      ),
    ).toMatch(/^config\.vcpuCount: must be an integer in 1\.\.64/);
    expect(
      firstIssue(
        edited((t) => {
          delete (t.config as Record<string, unknown>).faults;
        }),
      ),
    ).toBe('config.faults: expected an object, got nothing');
    expect(
      firstIssue(
        edited((t) => {
          (t.steps as { action: unknown }[])[0]!.action = 3;
        }),
      ),
    ).toBe('steps[0].action: expected an object, got 3');
    expect(firstIssue('[]')).toBe(': expected an object, got an array');
    for (const text of [
      'nope',
      edited((t) => {
        t.version = 9;
      }),
    ]) {
      expect(() => parseTrace(text)).toThrow(TraceError);
      try {
        parseTrace(text);
      } catch (error) {
        expect(String((error as Error).message)).not.toContain('\n');
      }
    }
  });

  // Any edit of a valid trace (a field replaced by arbitrary JSON) is parsed or refused, never thrown.
  const neverThrows = (parse: (v: unknown) => unknown) =>
    fc.property(fc.nat(200), fc.jsonValue(), (pick, junk) => {
      const copy = JSON.parse(TEXT) as Record<string, unknown>;
      const paths = fieldPaths(copy);
      const path = paths[pick % paths.length]!;
      setAt(copy, path, junk);
      parse(copy);
    });

  it('never throws on an edited trace', () => {
    fc.assert(neverThrows(safeParseTraceValue), { numRuns: 200, seed: 11 });
  });

  it('teeth: a parser that trusts the shape throws on edited traces', () => {
    const trusting = (v: unknown) => {
      const t = v as { steps: { action: { kind: string } }[]; config: { workload: unknown[] } };
      return t.steps.map((s) => s.action.kind.length) && t.config.workload.length;
    };
    expect(fc.check(neverThrows(trusting), { numRuns: 200, seed: 11 }).failed).toBe(true);
  });
});

type Path = readonly (string | number)[];

function fieldPaths(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (out.length > 400 || typeof value !== 'object' || value === null) return out;
  for (const [key, child] of Object.entries(value)) {
    const path = [...prefix, Array.isArray(value) ? Number(key) : key];
    out.push(path);
    fieldPaths(child, path, out);
  }
  return out;
}

function setAt(root: Record<string, unknown>, path: Path, junk: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = junk;
}
