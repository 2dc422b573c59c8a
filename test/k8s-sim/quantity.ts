const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** True when the string is a valid `resource.Quantity`. */
export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/**
 * Parses a Kubernetes quantity (`10Gi`, `500M`, `1e3`, or a bare number) into a number of base
 * units (bytes for storage). Returns undefined for malformed input.
 */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const match = QUANTITY.exec(value.trim());
  if (!match) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  if (suffix in BINARY) return Math.ceil(number * (BINARY[suffix] ?? 1));
  if (suffix in DECIMAL) return Math.ceil(number * (DECIMAL[suffix] ?? 1));
  return Math.ceil(number * 10 ** Number(suffix.slice(1)));
}

/** Formats bytes the way `resource.NewQuantity(n, BinarySI)` serialises (`10Gi`, `1536Mi`, `1000`). */
export function formatBinaryQuantity(bytes: number): string {
  const units = ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'];
  for (const unit of units) {
    const size = BINARY[unit] ?? 1;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
