import { countByDay, daysBetween, validateDailyRange } from './daily-counts.js';
import { InvalidQueryError } from './errors.js';

const at = (iso: string) => Date.parse(iso);

describe('daily run counts', () => {
  it('lists every day of the range, also days without runs', () => {
    const days = countByDay(
      [],
      new Date('2025-01-01T00:00Z'),
      new Date('2025-01-04T00:00Z'),
      'UTC',
    );
    expect(days.map((d) => d.day)).toEqual(['2025-01-01', '2025-01-02', '2025-01-03']);
    expect(days[0]).toEqual({
      day: '2025-01-01',
      succeeded: 0,
      failed: 0,
      partial: 0,
      missed: 0,
      skipped: 0,
    });
  });

  it('buckets by the calendar day in the time zone, not in UTC', () => {
    const ticks = [
      { timeMs: at('2025-01-01T23:30:00Z'), state: 'succeeded' as const },
      { timeMs: at('2025-01-01T22:30:00Z'), state: 'failed' as const },
      { timeMs: at('2025-01-01T12:00:00Z'), state: 'running' as const },
    ];
    const days = countByDay(
      ticks,
      new Date('2025-01-01T00:00Z'),
      new Date('2025-01-03T00:00Z'),
      'Europe/Berlin',
    );
    expect(days.find((d) => d.day === '2025-01-02')).toMatchObject({ succeeded: 1, failed: 0 });
    expect(days.find((d) => d.day === '2025-01-01')).toMatchObject({ succeeded: 0, failed: 1 });
  });

  it.each([
    [
      'spring forward',
      '2025-03-29T00:00:00+01:00',
      '2025-04-01T00:00:00+02:00',
      ['2025-03-29', '2025-03-30', '2025-03-31'],
    ],
    [
      'fall back',
      '2025-10-25T00:00:00+02:00',
      '2025-10-28T00:00:00+01:00',
      ['2025-10-25', '2025-10-26', '2025-10-27'],
    ],
  ])('keeps one entry per day across the DST change (%s)', (_name, since, until, expected) => {
    expect(daysBetween(new Date(since), new Date(until), 'Europe/Berlin')).toEqual(expected);
  });

  it('names the offending parameter', () => {
    const since = new Date('2025-01-01T00:00Z');
    expect(() => validateDailyRange(since, new Date('2025-02-01T00:00Z'), 'Mars/Olympus')).toThrow(
      expect.objectContaining({ field: 'timeZone' }) as Error,
    );
    expect(() => validateDailyRange(since, new Date('2031-01-01T00:00Z'), 'UTC')).toThrow(
      InvalidQueryError,
    );
  });
});
