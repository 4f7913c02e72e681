// Assertions are for states our own code must never reach (TigerStyle's programmer errors).
// Anything a peer controls (shared pages, grants, xenstore values) is validated and reported as
// an operating error instead; never assert on it.

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: boolean, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Documents a branch that must be reachable both ways; costs nothing. */
export function maybe(_condition: boolean): void {}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
