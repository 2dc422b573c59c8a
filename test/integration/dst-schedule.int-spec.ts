import { jest } from '@jest/globals';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import { nextRuns } from '#lib/policy';
import { QUEUE, TICK_QUEUE_SETTINGS } from '#lib/queues';
import { QueueRegistry } from '#lib/runtime';
import { BullMQJobSchedulers } from '../../apps/scheduler/src/bullmq-job-scheduler.adapter.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/**
 * The projection (`nextRuns`, behind status `nextRunTime`, preview and the API) against what
 * BullMQ's real job scheduler on Redis schedules, over daylight-saving nights. Only `Date` is
 * faked, so BullMQ's "now" can be set to any instant; Redis, BullMQ and the timers are real.
 */
interface DstCase {
  name: string;
  schedule: string;
  zone: string;
  /** BullMQ's "now" when the scheduler is upserted. */
  from: string;
  /** What fires, in order, per the README's daylight-saving rules. */
  expected: string[];
}

const CASES: DstCase[] = [
  // Midnight gaps: 00:00 does not exist, the run shifts to 01:00 (new offset).
  {
    name: 'Havana midnight gap',
    schedule: '0 0 * * *',
    zone: 'America/Havana',
    from: '2026-03-07T12:00:00Z',
    expected: ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z', '2026-03-10T04:00:00Z'],
  },
  {
    name: 'Santiago midnight gap',
    schedule: '0 0 * * *',
    zone: 'America/Santiago',
    from: '2026-09-05T12:00:00Z',
    expected: ['2026-09-06T04:00:00Z', '2026-09-07T03:00:00Z', '2026-09-08T03:00:00Z'],
  },
  {
    name: 'Cairo midnight gap',
    schedule: '0 0 * * *',
    zone: 'Africa/Cairo',
    from: '2026-04-23T12:00:00Z',
    expected: ['2026-04-23T22:00:00Z', '2026-04-24T21:00:00Z', '2026-04-25T21:00:00Z'],
  },
  {
    name: 'Beirut midnight gap',
    schedule: '0 0 * * *',
    zone: 'Asia/Beirut',
    from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-28T22:00:00Z', '2026-03-29T21:00:00Z', '2026-03-30T21:00:00Z'],
  },
  // Havana falls back from 01:00 to 00:00: midnight exists twice and runs once, at the first.
  {
    name: 'Havana midnight fold',
    schedule: '0 0 * * *',
    zone: 'America/Havana',
    from: '2026-10-31T12:00:00Z',
    expected: ['2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z', '2026-11-03T05:00:00Z'],
  },
  // Lord Howe's 30-minute gap (02:00 -> 02:30): 02:15 runs at 02:45.
  {
    name: 'Lord Howe 30-minute gap',
    schedule: '15 2 * * *',
    zone: 'Australia/Lord_Howe',
    from: '2026-10-02T12:00:00Z',
    expected: ['2026-10-02T15:45:00Z', '2026-10-03T15:45:00Z', '2026-10-04T15:15:00Z'],
  },
  // Lord Howe's 30-minute fold (02:00 -> 01:30): 01:45 exists twice and runs once.
  {
    name: 'Lord Howe 30-minute fold',
    schedule: '45 1 * * *',
    zone: 'Australia/Lord_Howe',
    from: '2026-04-04T00:00:00Z',
    expected: ['2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z', '2026-04-06T15:15:00Z'],
  },
  // Every hour in New York's fall-back night: one run per real hour, both 01:00s.
  {
    name: 'New York hourly fold',
    schedule: '0 * * * *',
    zone: 'America/New_York',
    from: '2026-11-01T03:30:00Z',
    expected: [
      '2026-11-01T04:00:00Z',
      '2026-11-01T05:00:00Z',
      '2026-11-01T06:00:00Z',
      '2026-11-01T07:00:00Z',
    ],
  },
  // A fixed hour in the fold: 01:30 runs once, at the first (EDT).
  {
    name: 'New York 01:30 fold',
    schedule: '30 1 * * *',
    zone: 'America/New_York',
    from: '2026-10-31T12:00:00Z',
    expected: ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'],
  },
  // Sub-daily with a fixed hour in the fold hour: the first occurrence of each time only.
  {
    name: 'New York */15 in hour 1, fold',
    schedule: '*/15 1 * * *',
    zone: 'America/New_York',
    from: '2026-11-01T04:50:00Z',
    expected: [
      '2026-11-01T05:00:00Z',
      '2026-11-01T05:15:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-01T05:45:00Z',
      '2026-11-02T06:00:00Z',
    ],
  },
  {
    name: 'Berlin 02:30 gap',
    schedule: '30 2 * * *',
    zone: 'Europe/Berlin',
    from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:30:00Z', '2026-03-30T00:30:00Z'],
  },
  {
    name: 'Berlin 02:30 fold',
    schedule: '30 2 * * *',
    zone: 'Europe/Berlin',
    from: '2026-10-24T12:00:00Z',
    expected: ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'],
  },
  // Every 30 minutes over Berlin's gap: times shifted onto existing ones run once.
  {
    name: 'Berlin */30 gap',
    schedule: '*/30 * * * *',
    zone: 'Europe/Berlin',
    from: '2026-03-29T00:15:00Z',
    expected: [
      '2026-03-29T00:30:00Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T01:30:00Z',
      '2026-03-29T02:00:00Z',
    ],
  },
  // Every 30 minutes over Berlin's fold: every real half hour.
  {
    name: 'Berlin */30 fold',
    schedule: '*/30 * * * *',
    zone: 'Europe/Berlin',
    from: '2026-10-24T23:45:00Z',
    expected: [
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:30:00Z',
      '2026-10-25T02:00:00Z',
    ],
  },
  {
    name: 'Kathmandu +05:45',
    schedule: '0 0 * * *',
    zone: 'Asia/Kathmandu',
    from: '2026-06-01T00:00:00Z',
    expected: ['2026-06-01T18:15:00Z', '2026-06-02T18:15:00Z'],
  },
  {
    name: 'Kolkata +05:30',
    schedule: '30 2 * * *',
    zone: 'Asia/Kolkata',
    from: '2026-06-01T00:00:00Z',
    expected: ['2026-06-01T21:00:00Z', '2026-06-02T21:00:00Z'],
  },
];

const iso = (ms: number | undefined) => (ms === undefined ? 'none' : new Date(ms).toISOString());
const fromIso = (text: string) => new Date(text).toISOString();

describe('one schedule clock: projection and BullMQ on Redis agree over DST nights', () => {
  let redis: TestRedis;
  let registry: QueueRegistry;
  let schedulers: BullMQJobSchedulers;
  const prefix = 'dst';

  beforeAll(async () => {
    redis = await startTestRedis();
    registry = new QueueRegistry(redis.url, prefix, pino({ level: 'silent' }));
    schedulers = new BullMQJobSchedulers(registry);
  });
  afterAll(async () => {
    jest.useRealTimers();
    await registry.close();
    await redis.stop();
  });
  beforeEach(() => {
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** BullMQ's next tick for `key` when its clock reads `now`, after an upsert (what fires). */
  async function scheduledAfter(c: DstCase, key: string, now: number): Promise<number | undefined> {
    jest.setSystemTime(now);
    await schedulers.upsert(key, c.schedule, c.zone, 'hash');
    return (await registry.ticks.getJobScheduler(key))?.next;
  }

  it.each(CASES)('$name: $schedule in $zone', async (c) => {
    const key = `default/${c.name.replace(/\W+/g, '-')}`;
    const projected = nextRuns(c.schedule, c.zone, new Date(c.from), c.expected.length).map((d) =>
      d.toISOString(),
    );
    const fired: string[] = [];
    let now = new Date(c.from).getTime();
    for (let i = 0; i < c.expected.length; i++) {
      const next = await scheduledAfter(c, key, now);
      fired.push(iso(next));
      if (next === undefined) break;
      now = next;
    }
    await registry.ticks.removeJobScheduler(key);
    expect({ projected, fired }).toEqual({
      projected: c.expected.map(fromIso),
      fired: c.expected.map(fromIso),
    });
  });

  it("the tick worker schedules each following tick with the same clock (Lord Howe's gap)", async () => {
    const c = CASES.find((k) => k.name === 'Lord Howe 30-minute gap')!;
    const key = 'default/worker-path';
    const expected = c.expected.map(fromIso);
    let tick = await scheduledAfter(c, key, new Date(c.from).getTime());
    expect(iso(tick)).toBe(expected[0]);
    const processed = new Set<string>();
    try {
      for (const want of expected.slice(1)) {
        // A worker whose clock reads just past the tick: the delayed tick is due at once.
        jest.setSystemTime((tick ?? 0) + 1);
        const connection = registry.workerConnection('dst-worker');
        const worker = new Worker(
          QUEUE.ticks,
          (job) => {
            processed.add(job.id ?? '');
            return Promise.resolve();
          },
          { connection, prefix, settings: TICK_QUEUE_SETTINGS },
        );
        const done = `repeat:${key}:${tick}`;
        const next = await waitFor(async () => {
          if (!processed.has(done)) return undefined;
          const scheduled = (await registry.ticks.getJobScheduler(key))?.next;
          return scheduled !== undefined && scheduled !== tick ? scheduled : undefined;
        }).finally(async () => {
          await worker.close();
          connection.disconnect();
        });
        expect(iso(next)).toBe(want);
        tick = next;
      }
    } finally {
      await registry.ticks.removeJobScheduler(key);
    }
  });
});

async function waitFor(probe: () => Promise<number | undefined>): Promise<number> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error('the worker did not schedule a next tick');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
