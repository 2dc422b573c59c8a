import { MAX_MISSED_TICKS, ticksBetween } from './missed-ticks.js';

describe('ticksBetween', () => {
  it('is empty between two consecutive ticks', () => {
    const after = new Date('2026-05-01T10:00:00Z');
    const before = new Date('2026-05-01T10:05:00Z');
    expect(ticksBetween('*/5 * * * *', 'UTC', after, before)).toEqual({
      ticks: [],
      truncated: false,
    });
  });

  it('lists the ticks strictly between, oldest first', () => {
    const after = new Date('2026-05-01T10:00:00Z');
    const before = new Date('2026-05-01T10:20:00Z');
    const { ticks } = ticksBetween('*/5 * * * *', 'UTC', after, before);
    expect(ticks.map((t) => t.toISOString())).toEqual([
      '2026-05-01T10:05:00.000Z',
      '2026-05-01T10:10:00.000Z',
      '2026-05-01T10:15:00.000Z',
    ]);
  });

  it('keeps one tick per day across a spring-forward night', () => {
    // 02:00 does not exist in Berlin on 2026-03-29: that day's tick runs shifted, once.
    const after = new Date('2026-03-27T01:00:00Z');
    const before = new Date('2026-04-01T01:00:00Z');
    const { ticks } = ticksBetween('0 2 * * *', 'Europe/Berlin', after, before);
    // Whatever time the gap day's tick is shifted to, each local day from 28 March to 1 April
    // has exactly one.
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' });
    expect(ticks.map((t) => day.format(t))).toEqual([
      '2026-03-28',
      '2026-03-29',
      '2026-03-30',
      '2026-03-31',
      '2026-04-01',
    ]);
  });

  it('keeps only the latest ticks of a long outage and says so', () => {
    const after = new Date('2026-05-01T00:00:00Z');
    const before = new Date('2026-05-02T00:00:00Z');
    const { ticks, truncated } = ticksBetween('* * * * * *', 'UTC', after, before);
    expect(truncated).toBe(true);
    expect(ticks).toHaveLength(MAX_MISSED_TICKS);
    expect(ticks.at(-1)?.toISOString()).toBe('2026-05-01T23:59:59.000Z');
    expect(ticks[0]?.toISOString()).toBe('2026-05-01T23:58:20.000Z');
  });
});
