// Assertions are for states our own code must never reach (TigerStyle's programmer errors).
// Anything a peer controls (shared pages, grants, xenstore values) is validated and reported as
// an operating error instead; never assert on it.
//
// They sit on the data path, so a passing assertion must cost a comparison and nothing else: the
// message is a constant string, and the values a reader needs are passed beside it and only
// formatted into its `%s` places when the assertion fails. Never build the message with a
// template literal (tools/assertion-density.test.ts refuses one): that allocates on every call.

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** A value named in an assertion's message; formatted only on failure. */
export type AssertDetail = string | number | bigint | boolean | null | undefined;

/**
 * Throws AssertionError unless `condition` holds. Each `%s` of `message` is replaced, in order,
 * by `a` and `b` when it fails: `assert(id < size, 'ring %s: id %s out of range', ring, id)`.
 */
export function assert(
  condition: boolean,
  message?: string,
  a?: AssertDetail,
  b?: AssertDetail,
): asserts condition {
  if (!condition) throw new AssertionError(formatAssertMessage(message, a, b));
}

/** Documents a branch that must be reachable both ways; costs nothing. */
export function maybe(_condition: boolean): void {}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}

/** The failed assertion's text: `%s` places filled with `a`, then `b`; extra places stay. */
export function formatAssertMessage(
  message: string | undefined,
  a?: AssertDetail,
  b?: AssertDetail,
): string {
  if (message === undefined) return 'assertion failed';
  const details = [a, b];
  let next = 0;
  return message.replace(/%s/g, (place) => (next < 2 ? String(details[next++]) : place));
}
