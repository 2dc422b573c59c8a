/** `value` if it is an Error, else an Error describing it (for catch clauses and listeners). */
export function asError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
