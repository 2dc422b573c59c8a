const FACTORS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$/;

/**
 * Bytes of a Kubernetes quantity (`10Gi`, `500M`, `1e9`, `1024`), rounded up to a whole byte.
 * Throws a `RangeError` for anything else (schemas validate quantities before they get here).
 */
export function parseQuantity(text: string): number {
  const m = QUANTITY.exec(text.trim());
  if (!m) throw new RangeError(`not a quantity: "${text}"`);
  const base = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : 1);
  return Math.ceil(base * (FACTORS[m[3] ?? ''] ?? 1));
}

/**
 * {@link parseQuantity}, lenient: undefined for anything that is not a quantity (the API
 * server validates them, so on an object read back that means "absent").
 */
export function quantityBytes(text: string | undefined): number | undefined {
  if (text === undefined || !QUANTITY.test(text.trim())) return undefined;
  return parseQuantity(text);
}
