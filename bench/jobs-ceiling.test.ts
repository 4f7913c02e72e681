import { describe, expect, it } from 'vitest';
import { compileMs } from './jobs-ceiling.ts';

describe('jobs-ceiling: the compile time a --trace-opt log reports', () => {
  it('sums the compile phase (the middle figure) of every completed compile', () => {
    const log = [
      '[compiling method 0x1 <JSFunction step (sfi = 0x2)> (target TURBOFAN), mode: ConcurrencyMode::kConcurrent]',
      '[completed compiling 0x1 <JSFunction step (sfi = 0x2)> (target TURBOFAN) - took 0.021, 4.436, 0.046 ms]',
      '[completed optimizing 0x1 <JSFunction step (sfi = 0x2)> (target TURBOFAN)]',
      '[completed compiling 0x3 <JSFunction enabled (sfi = 0x4)> (target TURBOFAN) - took 0.025, 5.991, 0.014 ms]',
      'blkif check: 9 properties passed',
    ].join('\n');
    expect(compileMs(log)).toBeCloseTo(10.427, 6);
  });

  it('says it found none rather than zero when the log has no compiles', () => {
    expect(compileMs('blkif check: 9 properties passed\n')).toBeUndefined();
    expect(
      compileMs('[completed optimizing 0x1 <JSFunction step (sfi = 0x2)> (target TURBOFAN)]'),
    ).toBeUndefined();
  });
});
