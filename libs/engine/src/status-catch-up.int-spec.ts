import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { AUDIT_REDIS_OPTIONS, RunStore } from '#lib/audit';
import {
  closeOneVolumeRun,
  dailyPolicy,
  RecordingStatusPort,
} from '../../../test/support/policy-status.js';
import { useTestRedis } from '../../../test/support/suite-redis.js';
import { PolicyStatusObserver } from './policy-status.observer.js';
import { PolicyStore } from './policy-store.js';
import { catchUpPolicyStatus } from './status-catch-up.js';

const testRedis = useTestRedis();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(testRedis().url, AUDIT_REDIS_OPTIONS);
});

afterAll(() => {
  redis.disconnect();
});

const START = Date.parse('2026-03-01T02:00:00Z');
const GRACE_MS = 5 * 60_000;

async function setup(names: string[]) {
  const prefix = `test:${randomUUID()}:`;
  const policies = new PolicyStore(redis, prefix);
  for (const name of names) await policies.put(dailyPolicy(name), 'test', new Date(START));
  const runs = new RunStore(redis, { prefix });
  const port = new RecordingStatusPort();
  const errors: unknown[] = [];
  let now = START;
  const toldKey = `${prefix}status-told`;
  const observer = new PolicyStatusObserver({
    policies,
    port,
    countMissed: () => Promise.resolve(1),
    markTold: async (key, runId) => {
      await redis.hset(toldKey, key, runId);
    },
    clock: () => new Date(now),
    onError: (error) => errors.push(error),
  });
  const catchUp = (limit?: number) =>
    catchUpPolicyStatus({
      policies,
      runs,
      observer,
      told: async (keys) => (await redis.hmget(toldKey, ...keys)).map((v) => v ?? undefined),
      clock: () => new Date(now),
      graceMs: GRACE_MS,
      limit,
    });
  const closeRun = (name: string, at: number, state: 'succeeded' | 'failed') =>
    closeOneVolumeRun(runs, name, at, state);
  return {
    runs,
    port,
    errors,
    observer,
    catchUp,
    closeRun,
    setNow: (ms: number) => (now = ms),
  };
}

/** How a run's end reached (or did not reach) its policy in the process that closed it. */
type Fate = 'told' | 'killed before telling' | 'status refused' | 'event refused';

describe('catchUpPolicyStatus', () => {
  it('brings every policy to its latest run whatever point the closing process stopped at, once', async () => {
    const fate = fc.constantFrom<Fate>(
      'told',
      'killed before telling',
      'status refused',
      'event refused',
    );
    const runOf = fc.record({ fate, failed: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(runOf, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (fleet) => {
          const names = fleet.map((_, i) => `p${i}`);
          const t = await setup(names);
          const latest = new Map<string, string>();
          for (const [i, runs] of fleet.entries()) {
            for (const [j, { fate: end, failed }] of runs.entries()) {
              const at = START + j * 3_600_000;
              t.setNow(at + 1000);
              const run = await t.closeRun(names[i]!, at, failed ? 'failed' : 'succeeded');
              latest.set(`shop/${names[i]!}`, run.id);
              if (end === 'killed before telling') continue;
              if (end === 'status refused') t.port.refuse.patch = 1;
              // A failed run's Event is a Warning, always recorded; a success's only when news.
              if (end === 'event refused') t.port.refuse.event = 1;
              await t.observer.runFinished(run, `shop/${names[i]!}`);
              t.port.refuse = { patch: 0, event: 0 };
            }
          }
          const lastEnd = START + 2 * 3_600_000 + 1000;
          // Within the grace the closing process still has its turn: the latest runs wait.
          t.setNow(lastEnd + GRACE_MS - 1);
          const early = await t.catchUp();
          for (const { runId } of early.caughtUp) {
            expect(Number(runId.split('_').at(-1))).toBeLessThan(START + 2 * 3_600_000);
          }
          t.setNow(lastEnd + GRACE_MS);
          await t.catchUp();
          for (const [key, runId] of latest) {
            expect(t.port.status.get(key)?.lastRun?.id).toBe(runId);
          }
          // Everything told: a later pass writes nothing.
          const writes = t.port.status.size + t.port.events.length;
          const again = await t.catchUp();
          expect(again.caughtUp).toEqual([]);
          expect(t.port.status.size + t.port.events.length).toBe(writes);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('retries a refused write at every pass until the API server takes it, and says which', async () => {
    const t = await setup(['nightly']);
    const run = await t.closeRun('nightly', START, 'failed');
    t.setNow(START + 1000);
    t.port.refuse.patch = 3;
    await t.observer.runFinished(run, 'shop/nightly');
    expect(t.errors).toHaveLength(1);
    t.setNow(START + 1000 + GRACE_MS);
    expect((await t.catchUp()).caughtUp).toEqual([{ policy: 'shop/nightly', runId: run.id }]);
    expect((await t.catchUp()).caughtUp).toEqual([{ policy: 'shop/nightly', runId: run.id }]);
    expect(t.port.status.has('shop/nightly')).toBe(false);
    expect(t.errors).toHaveLength(3);
    await t.catchUp();
    expect(t.port.status.get('shop/nightly')?.lastRun).toMatchObject({
      id: run.id,
      result: 'Failed',
    });
    expect(t.port.events.map((e) => e.event.reason)).toContain('RunFailed');
    expect((await t.catchUp()).caughtUp).toEqual([]);
  });

  it('leaves policies that never ran alone, and tells the last finished run of a running one', async () => {
    const t = await setup(['fresh', 'busy']);
    const first = await t.closeRun('busy', START, 'succeeded');
    const next = START + 3_600_000;
    await t.runs.start(
      {
        id: `sched_shop/busy_${next}`,
        kind: 'scheduled',
        policy: 'shop/busy',
        namespace: 'shop',
        trigger: 'schedule',
        scheduledAt: new Date(next),
        volumes: ['db'],
      },
      new Date(next),
    );
    t.setNow(next + GRACE_MS);
    const result = await t.catchUp();
    expect(result.policies).toBe(2);
    expect(result.caughtUp).toEqual([{ policy: 'shop/busy', runId: first.id }]);
    expect(t.port.status.get('shop/busy')?.lastRun?.id).toBe(first.id);
    expect(t.port.status.has('shop/fresh')).toBe(false);
  });

  it('tells at most its limit per pass, and the rest in the next passes', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const t = await setup(names);
    for (const name of names) await t.closeRun(name, START, 'succeeded');
    t.setNow(START + 1000 + GRACE_MS);
    const passes: number[] = [];
    for (let pass = 0; pass < 4; pass++) passes.push((await t.catchUp(2)).caughtUp.length);
    expect(passes).toEqual([2, 2, 1, 0]);
    expect([...t.port.status.keys()].sort()).toEqual(names.map((n) => `shop/${n}`));
  });
});
