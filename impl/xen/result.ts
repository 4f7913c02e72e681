// Typed operating errors (zod's safeParse shape): anything a peer controls is reported as a value
// with a stable code, never thrown. Shared by every hypervisor service in impl/xen/.

export type Result<T, E> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });

export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** One shared success for `Result<void, E>`: hot paths (grant unmap, notify) allocate nothing. */
export const OK_VOID: Result<void, never> = Object.freeze({ ok: true, value: undefined });
