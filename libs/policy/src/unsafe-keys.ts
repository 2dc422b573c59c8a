import { formatFieldPath, type FieldError } from './field-errors.js';

/**
 * Errors for every own `__proto__` key in a parsed document (YAML and JSON parsers keep it as an
 * own property). Schemas silently drop such a key, so `matchLabels: {__proto__: x}` would become
 * `{}`, a selector matching every volume: documents are refused instead. Iterative, so a deeply
 * nested document cannot exhaust the stack.
 */
export function unsafeKeyErrors(input: unknown, root: readonly PropertyKey[] = []): FieldError[] {
  const errors: FieldError[] = [];
  const pending: { value: unknown; path: readonly PropertyKey[] }[] = [
    { value: input, path: root },
  ];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      value.forEach((item: unknown, i) => pending.push({ value: item, path: [...path, i] }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__') {
        errors.push({ field: formatFieldPath([...path, key]), message: 'key not allowed' });
        continue;
      }
      pending.push({ value: (value as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return errors;
}
