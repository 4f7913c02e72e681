// A campaign of R runs per property is cut into chunks of CHUNK_RUNS runs; chunk j runs under
// fast-check seed `seed + j`. `--shard i/n` takes a contiguous, disjoint range of chunks, so the
// shards of one campaign together run exactly the chunks (seeds) of the unsharded campaign, and
// a failure's seed and path reproduce it on any machine.
import { badValue } from '../errors.ts';

export const CHUNK_RUNS = 100;

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export const WHOLE: Shard = { index: 1, count: 1 };

/** The most shards a campaign splits into (a merge lists the missing ones: it must stay small). */
export const SHARD_COUNT_MAX = 10_000;

/** A shard as --shard accepts it: 1 <= index <= count <= SHARD_COUNT_MAX. */
export function isShard(index: unknown, count: unknown): boolean {
  return (
    Number.isInteger(count) &&
    Number.isInteger(index) &&
    (count as number) >= 1 &&
    (count as number) <= SHARD_COUNT_MAX &&
    (index as number) >= 1 &&
    (index as number) <= (count as number)
  );
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) throw badValue('shard', `expected i/n (e.g. 2/4), got "${text}"`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > SHARD_COUNT_MAX)
    throw badValue('shard', `the shard count must be in 1..${SHARD_COUNT_MAX}, got ${count}`);
  if (index < 1 || index > count)
    throw badValue('shard', `the shard index must be in 1..${count}, got ${index}`);
  return { index, count };
}

export interface Chunk {
  readonly seed: number;
  readonly runs: number;
}

/** The chunks (seed, runs) this shard runs for a property of `runs` runs. */
export function shardChunks(seed: number, runs: number, shard: Shard): Chunk[] {
  const chunkCount = Math.ceil(runs / CHUNK_RUNS);
  const first = Math.floor(((shard.index - 1) * chunkCount) / shard.count);
  const end = Math.floor((shard.index * chunkCount) / shard.count);
  const chunks: Chunk[] = [];
  for (let j = first; j < end; j++) {
    chunks.push({ seed: (seed + j) | 0, runs: Math.min(CHUNK_RUNS, runs - j * CHUNK_RUNS) });
  }
  return chunks;
}
