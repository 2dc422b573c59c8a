import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { IANAZone } from 'luxon';
import {
  intervalMs,
  nextRuns,
  normalizeSchedule,
  previousRun,
  shortestIntervalMs,
  validateSchedule,
} from './schedule.js';

const at = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('normalizeSchedule', () => {
  it.each([
    ['@hourly', '0 * * * *'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@weekly', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
    ['@DAILY', '0 0 * * *'],
    ['0 2 * * *', '0 2 * * *'],
    ['  30   2 * *  mon-fri ', '30 2 * * mon-fri'],
    ['*/10 * * * * *', '*/10 * * * * *'],
    ['0 0 * * thu', '0 0 * * thu'],
  ])('turns %j into %j', (input, cron) => {
    expect(normalizeSchedule(input)).toBe(cron);
  });

  it.each([
    ['', /0 fields/],
    ['* * * *', /4 fields: expected 5/],
    ['0 0 1 1 * 2027 x', /7 fields/],
    ['@reboot', /unknown schedule macro "@reboot"/],
    ['@every 5m', /unknown schedule macro/],
    ['H 2 * * *', /hashed field/],
    ['0 H(0-3) * * *', /hashed field/],
  ])('rejects %j', (input, message) => {
    expect(() => normalizeSchedule(input)).toThrow(message);
  });
});

describe('validateSchedule', () => {
  it.each([
    '0 2 * * *',
    '@daily',
    '*/15 * * * *',
    '0 0 29 2 *',
    '5 4 * * sun',
    '0 0 L * *',
    '*/5 * * * * *',
  ])('accepts %j', (schedule) => {
    expect(validateSchedule(schedule)).toBeUndefined();
  });

  it.each([
    ['61 * * * *', /invalid schedule "61 \* \* \* \*": .*59/],
    ['0 25 * * *', /invalid schedule/],
    ['0 0 31 2 *', /invalid schedule/],
    ['0 0 * * 8', /invalid schedule/],
    ['a b c d e', /invalid schedule/],
    ['* * * *', /4 fields/],
    ['@reboot', /unknown schedule macro/],
  ])('explains what is wrong with %j', (schedule, message) => {
    expect(validateSchedule(schedule)).toMatch(message);
  });
});

describe('nextRuns', () => {
  it.each([
    // Berlin spring forward, 2026-03-29: 02:30 does not exist, the run shifts to 03:30 CEST.
    [
      '30 2 * * *',
      'Europe/Berlin',
      '2026-03-27T12:00:00Z',
      ['2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z'],
    ],
    // Berlin fall back, 2026-10-25: 02:30 exists twice, the run fires once, at the first (CEST).
    [
      '30 2 * * *',
      'Europe/Berlin',
      '2026-10-23T12:00:00Z',
      ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
    ],
    // New York spring forward, 2026-03-08 02:00 EST -> 03:00 EDT.
    [
      '30 2 * * *',
      'America/New_York',
      '2026-03-07T12:00:00Z',
      ['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z'],
    ],
    // New York fall back, 2026-11-01: 01:30 exists twice, the first (EDT) fires.
    [
      '30 1 * * *',
      'America/New_York',
      '2026-10-31T12:00:00Z',
      ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z', '2026-11-03T06:30:00.000Z'],
    ],
    // Hourly in New York over the fall-back night: one run per real hour.
    [
      '0 * * * *',
      'America/New_York',
      '2026-11-01T03:30:00Z',
      ['2026-11-01T04:00:00.000Z', '2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z'],
    ],
    // Havana's midnight gap, 2026-03-08 00:00 CST -> 01:00 CDT: midnight runs at 01:00 CDT.
    [
      '0 0 * * *',
      'America/Havana',
      '2026-03-07T12:00:00Z',
      ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', '2026-03-10T04:00:00.000Z'],
    ],
    // Lord Howe's 30-minute gap, 2026-10-04 02:00 -> 02:30: 02:15 runs at 02:45.
    [
      '15 2 * * *',
      'Australia/Lord_Howe',
      '2026-10-02T12:00:00Z',
      ['2026-10-02T15:45:00.000Z', '2026-10-03T15:45:00.000Z', '2026-10-04T15:15:00.000Z'],
    ],
    // A fixed hour in the fold runs once per wall-clock time.
    [
      '*/30 1 * * *',
      'America/New_York',
      '2026-11-01T04:50:00Z',
      ['2026-11-01T05:00:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:00:00.000Z'],
    ],
    [
      '@daily',
      'Europe/Berlin',
      '2026-11-20T12:00:00Z',
      ['2026-11-20T23:00:00.000Z', '2026-11-21T23:00:00.000Z', '2026-11-22T23:00:00.000Z'],
    ],
    [
      '0 2 * * *',
      'UTC',
      '2026-11-21T02:00:00Z',
      ['2026-11-22T02:00:00.000Z', '2026-11-23T02:00:00.000Z', '2026-11-24T02:00:00.000Z'],
    ],
    [
      '*/20 * * * * *',
      'UTC',
      '2026-11-21T02:00:05Z',
      ['2026-11-21T02:00:20.000Z', '2026-11-21T02:00:40.000Z', '2026-11-21T02:01:00.000Z'],
    ],
  ])('%j in %s after %s', (schedule, zone, after, expected) => {
    expect(iso(nextRuns(schedule, zone, at(after), 3))).toEqual(expected);
  });

  it('returns nothing for count 0', () => {
    expect(nextRuns('@daily', 'UTC', at('2026-01-01T00:00:00Z'), 0)).toEqual([]);
  });

  it.each([
    ['61 * * * *', 'UTC', /invalid schedule/],
    ['@daily', 'Mars/Olympus', /unknown time zone "Mars\/Olympus"/],
  ])('throws for %j in %s', (schedule, zone, message) => {
    expect(() => nextRuns(schedule, zone, at('2026-01-01T00:00:00Z'), 1)).toThrow(message);
  });
});

describe('previousRun', () => {
  it.each([
    ['0 2 * * *', 'UTC', '2026-11-21T02:00:00.000Z', '2026-11-21T02:00:00.000Z'],
    ['0 2 * * *', 'UTC', '2026-11-21T01:59:59.999Z', '2026-11-20T02:00:00.000Z'],
    ['0 2 * * *', 'UTC', '2026-11-21T02:00:00.500Z', '2026-11-21T02:00:00.000Z'],
    // Same DST answers as nextRuns (cron-parser's own prev() would say 01:30Z for the fall-back day).
    ['30 2 * * *', 'Europe/Berlin', '2026-10-25T01:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['30 2 * * *', 'Europe/Berlin', '2026-10-25T02:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['30 2 * * *', 'Europe/Berlin', '2026-10-26T00:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['30 2 * * *', 'Europe/Berlin', '2026-03-29T01:45:00Z', '2026-03-29T01:30:00.000Z'],
    ['30 2 * * *', 'Europe/Berlin', '2026-03-29T01:15:00Z', '2026-03-28T01:30:00.000Z'],
    ['30 1 * * *', 'America/New_York', '2026-11-01T07:00:00Z', '2026-11-01T05:30:00.000Z'],
    ['@yearly', 'UTC', '2026-06-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
  ])('%j in %s at %s was %s', (schedule, zone, when, expected) => {
    expect(previousRun(schedule, zone, at(when))?.toISOString()).toBe(expected);
  });

  it('agrees with nextRuns: the previous run of every run is itself', () => {
    const runs = nextRuns('30 2 * * *', 'Europe/Berlin', at('2026-10-20T00:00:00Z'), 10);
    for (const run of runs) expect(previousRun('30 2 * * *', 'Europe/Berlin', run)).toEqual(run);
  });
});

describe('intervalMs', () => {
  const hour = 3_600_000;
  it.each([
    ['0 2 * * *', 'UTC', '2026-11-20T12:00:00Z', 24 * hour],
    ['*/15 * * * *', 'UTC', '2026-11-20T12:00:00Z', hour / 4],
    // Midnight to midnight over the spring-forward night is 23 real hours, over fall-back 25.
    ['0 0 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 23 * hour],
    ['0 0 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 25 * hour],
    ['0 0 * * 1-5', 'UTC', '2026-11-19T12:00:00Z', 72 * hour],
  ])('%j in %s after %s is %d ms', (schedule, zone, after, ms) => {
    expect(intervalMs(schedule, zone, at(after))).toBe(ms);
  });
});

describe('one clock, both directions', () => {
  const zones = [
    'America/Havana',
    'America/Santiago',
    'Africa/Cairo',
    'Asia/Beirut',
    'Australia/Lord_Howe',
    'America/New_York',
    'Europe/Berlin',
    'Asia/Kathmandu',
  ];
  const schedules = ['0 0 * * *', '15 2 * * *', '0 * * * *', '*/30 * * * *', '*/20 1 * * *'];

  it('runs strictly increase and previousRun of each run is that run', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom(...schedules),
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 31) }),
        (zone, schedule, from) => {
          const runs = nextRuns(schedule, zone, new Date(from), 4);
          let last = from;
          for (const run of runs) {
            expect(run.getTime()).toBeGreaterThan(last);
            expect(previousRun(schedule, zone, run)).toEqual(run);
            expect(
              previousRun(schedule, zone, new Date(run.getTime() - 1))?.getTime() ?? 0,
            ).toBeLessThan(run.getTime());
            last = run.getTime();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
  it('answers from remembered spans what a fresh clock answers, whatever the order of asking', () => {
    // A schedule padded past the memo's key length gets a fresh clock on every call.
    const fresh = (schedule: string) => `${schedule}${' '.repeat(200)}`;
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.constantFrom(...schedules),
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 31) }),
        fc.array(fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }), {
          minLength: 1,
          maxLength: 30,
        }),
        (zone, schedule, base, offsets) => {
          for (const offset of offsets) {
            const from = new Date(base + offset);
            expect(nextRuns(schedule, zone, from, 2)).toEqual(
              nextRuns(fresh(schedule), zone, from, 2),
            );
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('shortestIntervalMs', () => {
  const minute = 60_000;
  it.each([
    ['@hourly', 60 * minute],
    ['@daily', 24 * 60 * minute],
    ['*/15 * * * *', 15 * minute],
    ['0 9,17 * * *', 8 * 60 * minute],
    ['0 0 * * 1-5', 24 * 60 * minute],
    ['@weekly', 7 * 24 * 60 * minute],
    ['@monthly', 28 * 24 * 60 * minute],
    ['*/5 * * * * *', 5000],
  ])('%j is %d ms', (schedule, ms) => {
    expect(shortestIntervalMs(schedule)).toBe(ms);
  });
});

describe('nextRuns against a brute-force reading of the DST rules', () => {
  const MINUTE = 60_000;
  const HOUR = 3_600_000;
  const DAY = 86_400_000;

  /**
   * Every run in (from, to], minute by minute in real time: a real minute whose wall-clock time
   * matches runs if it is that wall time's first occurrence (or any, for every-hour schedules);
   * a matching wall time skipped by a gap runs at the instant after the gap it shifts to.
   */
  function bruteForce(schedule: string, zone: string, from: number, to: number): number[] {
    const tz = IANAZone.create(zone);
    const wallOf = (t: number) => t + tz.offset(t) * MINUTE;
    const matching = new Set<number>();
    const walls = CronExpressionParser.parse(normalizeSchedule(schedule), {
      tz: 'UTC',
      currentDate: new Date(wallOf(from) - DAY),
    });
    for (let w = walls.next().getTime(); w <= wallOf(to) + DAY; w = walls.next().getTime()) {
      matching.add(w);
    }
    const everyHour = /^\S+ \*( |$)/.test(normalizeSchedule(schedule));
    const seen = new Set<number>();
    const runs = new Set<number>();
    const start = Math.floor((from - 3 * HOUR) / MINUTE) * MINUTE;
    let previousWall = wallOf(start) - MINUTE;
    for (let t = start; t <= to; t += MINUTE) {
      const wall = wallOf(t);
      for (let skipped = previousWall + MINUTE; skipped < wall; skipped += MINUTE) {
        if (matching.has(skipped)) runs.add(skipped - (wallOf(t - MINUTE) - (t - MINUTE)));
      }
      if (matching.has(wall) && (everyHour || !seen.has(wall))) runs.add(t);
      seen.add(wall);
      previousWall = Math.max(previousWall, wall);
    }
    return [...runs].filter((r) => r > from && r <= to).sort((a, b) => a - b);
  }

  it('agrees near every kind of clock change', () => {
    const transitions = [
      ['America/Havana', '2026-03-08T05:00:00Z'],
      ['America/Havana', '2026-11-01T05:00:00Z'],
      ['America/Santiago', '2026-09-06T04:00:00Z'],
      ['Africa/Cairo', '2026-04-23T22:00:00Z'],
      ['Asia/Beirut', '2026-03-28T22:00:00Z'],
      ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
      ['America/New_York', '2026-11-01T06:00:00Z'],
      ['Europe/Berlin', '2026-03-29T01:00:00Z'],
      ['Europe/Berlin', '2026-10-25T01:00:00Z'],
    ] as const;
    const schedules = [
      '0 0 * * *',
      '15 2 * * *',
      '20,40 2 * * *',
      '20,40 1,2 * * 0',
      '0 * * * *',
      '*/30 * * * *',
      '*/20 0-2 * * *',
      '45 1 * * *',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...transitions),
        fc.constantFrom(...schedules),
        fc.integer({ min: -1.5 * DAY, max: 0.5 * DAY }),
        ([zone, change], schedule, shift) => {
          const from = Date.parse(change) + shift;
          const to = from + 1.5 * DAY;
          const expected = bruteForce(schedule, zone, from, to);
          const projected = nextRuns(schedule, zone, new Date(from), expected.length + 1)
            .map((d) => d.getTime())
            .filter((t) => t <= to);
          expect(projected.map((t) => new Date(t).toISOString())).toEqual(
            expected.map((t) => new Date(t).toISOString()),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
