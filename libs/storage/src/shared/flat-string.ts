/**
 * `value` as one flat string, equal to it. V8 keeps a string built by concatenation (a template
 * literal, `crypto.randomUUID()`) as a tree of its parts until something reads it whole, and
 * keeps the tree once it has: a UUID from `randomUUID()` then holds about 490 bytes of heap
 * instead of 65. Strings a store keeps for as long as its objects live are flattened once on the
 * way in (a property key is stored flat, and read back as the same characters).
 */
export function flatString(value: string): string {
  return Object.keys({ [value]: 0 })[0] ?? value;
}
