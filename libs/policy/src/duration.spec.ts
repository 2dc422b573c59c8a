import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['45s', 45_000],
    ['10m', 600_000],
    ['90m', 5_400_000],
    ['12h', 43_200_000],
    ['1h30m', 5_400_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1500ms', 1_500],
    [' 168h ', 604_800_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    '',
    '10',
    'h',
    '-5m',
    '1.5h',
    '30 d',
    '30D',
    '1m1h',
    '1h1h',
    '5y',
    '1h 30m',
    'abc',
    '99999999999999999999d',
  ])('rejects %j with a message naming the input', (text) => {
    expect(() => parseDuration(text)).toThrow(
      new RegExp(`invalid duration "${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1_500, '1s500ms'],
    [45_000, '45s'],
    [5_400_000, '1h30m'],
    [2_592_000_000, '30d'],
    [93_784_005, '1d2h3m4s5ms'],
  ])('formats %d ms as %j', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([0, 1, 999, 60_000, 86_399_999, 2_592_000_000, 1_234_567_890_123])(
    'round-trips %d ms through parseDuration',
    (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d', (ms) => {
    expect(() => formatDuration(ms)).toThrow(RangeError);
  });
});
