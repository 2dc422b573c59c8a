import { nextRuns } from '#lib/policy';
import { tickRepeatStrategy } from './tick-repeat-strategy.js';

const ms = (iso: string) => Date.parse(iso);

describe('tickRepeatStrategy', () => {
  it('is nextRuns: the first run strictly after the given instant', () => {
    const after = ms('2026-03-07T12:00:00Z');
    const next = tickRepeatStrategy(after, { pattern: '0 0 * * *', tz: 'America/Havana' });
    expect(next).toBe(nextRuns('0 0 * * *', 'America/Havana', new Date(after), 1)[0]?.getTime());
    expect(new Date(next ?? 0).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(tickRepeatStrategy(next ?? 0, { pattern: '0 0 * * *', tz: 'America/Havana' })).toBe(
      ms('2026-03-09T04:00:00Z'),
    );
  });

  it('defaults to UTC and counts a run at startDate itself', () => {
    const start = ms('2026-06-01T02:00:00Z');
    expect(
      tickRepeatStrategy(ms('2026-01-01T00:00:00Z'), { pattern: '0 2 * * *', startDate: start }),
    ).toBe(start);
  });

  it('keeps the fixed-interval rule for every', () => {
    expect(tickRepeatStrategy(10_500, { every: 1000 })).toBe(11_000);
    expect(tickRepeatStrategy(10_500, { every: 1000, immediately: true })).toBe(10_000);
  });
});
