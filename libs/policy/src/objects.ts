/**
 * A copy of `value` without its `undefined` members: what a JSON document (a spec, a status
 * patch) carries anyway, so that comparisons and merge patches see exactly the fields given.
 */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
