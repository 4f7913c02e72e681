// Rates that can be compared within one bench run. Variants are measured in turns (A B C A B C
// ...) rather than one after the other, so that JIT warm-up, heap growth and other processes on
// the machine weigh on every variant alike; each variant's figure is the median of its rounds.
// Time is this process's CPU time (user + system), not wall time: other engineers' jobs share
// the cores, and a variant descheduled for a while must not look slow.

export interface Variant {
  readonly name: string;
  /** Does a bounded chunk of work and returns how many operations it performed. */
  readonly work: () => number;
}

export interface InterleaveOptions {
  /** Measured rounds (one warm-up round more is run and discarded). */
  readonly rounds: number;
  /** CPU seconds each variant runs per round. */
  readonly sliceSeconds: number;
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One slice of a variant: operations per CPU second. */
function slice(variant: Variant, seconds: number): number {
  const started = cpuSeconds();
  let ops = 0;
  let now = started;
  do {
    ops += variant.work();
    now = cpuSeconds();
  } while (now - started < seconds);
  if (ops <= 0) throw new Error(`bench variant ${variant.name} did no work`);
  return ops / (now - started);
}

/** Median operations per CPU second of each variant, by name. */
export function interleave(
  variants: readonly Variant[],
  options: InterleaveOptions,
): Map<string, number> {
  const rates = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round <= options.rounds; round++) {
    for (const variant of variants) {
      const rate = slice(variant, options.sliceSeconds);
      if (round > 0) rates.get(variant.name)!.push(rate);
    }
  }
  return new Map([...rates].map(([name, values]) => [name, median(values)]));
}

/** Median wall-clock milliseconds of `times` calls (start-up figures, where wall time is the point). */
export async function medianWallMs(times: number, call: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return median(samples);
}
