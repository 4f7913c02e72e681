// README.md's speed table is the bench's own output: drawn from bench/results.json (written by
// `npm run bench -- --readme` together with the table) by the same function, byte for byte.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BENCH_MODULES,
  type BenchResults,
  speedTable,
  TABLE_BEGIN,
  TABLE_END,
  withSpeedTable,
} from './figures.ts';

const read = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');

describe("README.md's speed table", () => {
  const results = JSON.parse(read('./results.json')) as BenchResults;
  const readme = read('../README.md');

  it('is the table of the last `npm run bench -- --readme`, unedited', () => {
    expect(withSpeedTable(readme, results)).toBe(readme);
    expect(readme).toContain(speedTable(results));
  });

  it('holds bench modules only, in the order the bench runs them', () => {
    const order = BENCH_MODULES.map((m) => m.name);
    expect(results.modules.map((m) => m.name)).toEqual(
      order.filter((name) => results.modules.some((m) => m.name === name)),
    );
    for (const m of results.modules) expect(m.figures.length).toBeGreaterThan(0);
  });

  it('teeth: a figure changed by hand in the README is found', () => {
    const table = speedTable(results);
    const edited = table.replace(/\| ([\d,.]+) \|/, (_, v: string) => `| ${v}1 |`);
    expect(edited).not.toBe(table);
    expect(withSpeedTable(readme.replace(table, edited), results)).not.toBe(
      readme.replace(table, edited),
    );
    expect(withSpeedTable('no markers here', results)).toBeUndefined();
    expect(withSpeedTable(`${TABLE_BEGIN}\n${TABLE_END}\n${TABLE_BEGIN}`, results)).toBeUndefined();
  });
});
