import { quoteValue } from './field-errors.js';

const UNIT_MS = {
  w: 7 * 24 * 3_600_000,
  d: 24 * 3_600_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
} as const;

type Unit = keyof typeof UNIT_MS;

/** Units in the only order a duration may list them: largest first, each at most once. */
const UNIT_ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];
const FORMAT_UNITS: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d+)(ms|w|d|h|m|s)/y;

/**
 * Parses a duration such as `30d`, `12h`, `90m`, `45s`, `1h30m`, `1500ms` or `0` into
 * milliseconds.
 *
 * Invariant: the result is a non-negative safe integer; units appear largest first
 * (`w d h m s ms`), each at most once. Anything else throws an `Error` naming the input.
 */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '0') return 0;
  if (input === '') throw new Error('invalid duration "": expected e.g. 30d, 12h, 1h30m or 0');
  let total = 0;
  let lastRank = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < input.length) {
    const match = PART.exec(input);
    if (!match) throw durationError(text, 'expected <number><unit> with units w, d, h, m, s, ms');
    const unit = match[2] as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) throw durationError(text, 'units must be listed largest first, once');
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  if (!Number.isSafeInteger(total)) throw durationError(text, 'too large');
  return total;
}

/**
 * Formats milliseconds as the shortest duration `parseDuration` reads back to the same value
 * (`90061000` → `1d1h1m1s`, `0` → `0s`). Throws a `RangeError` for negative or non-finite input;
 * fractions of a millisecond are rounded.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`invalid duration: ${ms} ms`);
  let rest = Math.round(ms);
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of FORMAT_UNITS) {
    const count = Math.floor(rest / UNIT_MS[unit]);
    rest -= count * UNIT_MS[unit];
    if (count > 0) out += `${count}${unit}`;
  }
  return out;
}

function durationError(text: string, why: string): Error {
  return new Error(`invalid duration ${quoteValue(text)}: ${why} (e.g. 30d, 12h, 1h30m, 0)`);
}
