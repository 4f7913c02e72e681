import { describe, expect, it } from 'vitest';
import { moduleStateOf, moduleStateOfTree } from './module-state.ts';

// The offenders still waiting for issue 11's restructure, each to be moved into the World or a
// per-run checker. This list only shrinks: a new entry is a regression, and an entry that no
// longer offends fails the test until it is deleted here.
const STILL_TO_MOVE: readonly string[] = [];

const keysOf = (text: string) =>
  moduleStateOf({ path: 'impl/x.ts', text }).map((s) => s.key.replace('impl/x.ts:', ''));

describe('module-level state: the rule', () => {
  it('finds let, var, weak collections, writable Maps and Sets, and non-readonly statics', () => {
    const text = `
      let count = 0;
      export var legacy = 1;
      const byWorld = new WeakMap<object, number>();
      const seen = new Set<string>();
      export class Cache { static hits = 0; static readonly rows = new Map<string, number>(); }
    `;
    expect(keysOf(text)).toEqual([
      'count',
      'legacy',
      'byWorld',
      'seen',
      'Cache.hits',
      'Cache.rows',
    ]);
  });

  it('finds arrays and objects that the file mutates, and mutated imports', () => {
    const text = `
      import { TABLE } from './table.ts';
      const memo: number[][] = [];
      const stats = { runs: 0 };
      const scratch = new Uint8Array(8);
      export function f(i: number): void {
        (memo[i] ??= []).length;
        memo[i] = [i];
        stats.runs++;
        scratch.set([1], 0);
        TABLE.push(i);
      }
    `;
    expect(keysOf(text)).toEqual(['memo', 'stats', 'scratch', 'TABLE']);
  });

  it('passes immutable tables and locals that shadow a module name', () => {
    const text = `
      const KINDS: readonly string[] = ['a', 'b'];
      const SIZES = [1, 2, 4] as const;
      const BY_NAME: ReadonlyMap<string, number> = new Map([['a', 1]]);
      const FROZEN = Object.freeze({ a: 1 });
      export const LIMIT = 8;
      const rows: number[] = [];
      export function g(rows: number[]): void { rows.push(KINDS.length + SIZES[0] + LIMIT); }
      export function h(): number[] { const rows: number[] = []; rows.push(1); return rows; }
      export class Counter { static readonly ZERO = 0; n = 0; bump(): void { this.n++; } }
      export const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, BY_NAME.size);
      void rows; void FROZEN;
    `;
    expect(keysOf(text)).toEqual([]);
  });
});

describe('no module-level mutable state in impl/ or properties/', () => {
  const found = moduleStateOfTree();
  const report = found.map((s) => `${s.key} (line ${s.line}): ${s.why}`).join('\n');

  it('no offender outside the shrinking list', () => {
    const fresh = found.filter((s) => !STILL_TO_MOVE.includes(s.key));
    expect(
      fresh.map((s) => `${s.key} (line ${s.line}): ${s.why}`),
      report,
    ).toEqual([]);
  });

  it('every entry of the list still offends (delete the ones moved into the World)', () => {
    const keys = new Set(found.map((s) => s.key));
    expect(STILL_TO_MOVE.filter((k) => !keys.has(k))).toEqual([]);
  });
});
