const UNITS: Record<string, number> = {
  '': 1,
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

/**
 * Bytes of a Kubernetes quantity (`10Gi`, `500M`, `1e9`, `1024`), rounded up to a whole byte.
 * Throws a `RangeError` for anything else (schemas validate quantities before they get here).
 */
export function parseQuantity(text: string): number {
  const m = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$/.exec(
    text,
  );
  if (!m) throw new RangeError(`not a quantity: "${text}"`);
  const base = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : 1);
  const unit = m[3] ?? '';
  const factor = unit === 'm' ? 1e-3 : (UNITS[unit] ?? 1);
  return Math.ceil(base * factor);
}
