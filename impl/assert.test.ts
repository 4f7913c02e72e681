import { describe, expect, it } from 'vitest';
import { AssertionError, assert, formatAssertMessage, unreachable } from './assert.ts';

describe('assert', () => {
  it('passes silently when the condition holds', () => {
    expect(() => assert(true, 'ring %s: id %s', 1, 2)).not.toThrow();
  });

  it('fills the %s places only when it fails', () => {
    expect(() => assert(false, 'ring %s: shadow %s not waiting', 2, 17)).toThrow(
      new AssertionError('ring 2: shadow 17 not waiting'),
    );
    expect(() => assert(false)).toThrow(new AssertionError('assertion failed'));
  });

  it('leaves places beyond the two details, and messages without places, as written', () => {
    expect(formatAssertMessage('%s %s %s', 'a', 'b')).toBe('a b %s');
    expect(formatAssertMessage('no places', 1, 2)).toBe('no places');
    expect(formatAssertMessage('gref %s', undefined)).toBe('gref undefined');
  });

  it('unreachable names the value it got', () => {
    expect(() => unreachable('x' as never, 'action')).toThrow(new AssertionError('action: "x"'));
  });
});
