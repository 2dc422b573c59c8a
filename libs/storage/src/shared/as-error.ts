/**
 * `value` if it is an Error, else an Error describing it (for catch clauses and listeners).
 * Duck-typed, not `instanceof`: Node's own errors can come from another realm (jest's VM).
 */
export function asError(value: unknown): Error {
  if (isErrorLike(value)) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}

export function isErrorLike(value: unknown): value is Error {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string' &&
    typeof (value as { name?: unknown }).name === 'string'
  );
}
