import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { AUDIT_REDIS_OPTIONS, RunStore } from '#lib/audit';
import { PolicyStatusObserver, PolicyStore } from '#lib/engine';
import {
  closeOneVolumeRun,
  dailyPolicy,
  RecordingStatusPort,
} from '../../../test/support/policy-status.js';
import { useTestRedis } from '../../../test/support/suite-redis.js';
import { createStatusCatchUp } from './kube-runtime.js';

const testRedis = useTestRedis();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(testRedis().url, AUDIT_REDIS_OPTIONS);
});

afterAll(() => {
  redis.disconnect();
});

const START = Date.parse('2026-03-01T02:00:00Z');
const GRACE_MS = 60_000;

/** Two scheduler replicas' catch-ups over one Redis, as kubernetes mode builds them. */
async function setup(names: string[]) {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const policies = new PolicyStore(redis, `${prefix}:`);
  for (const name of names) await policies.put(dailyPolicy(name), 'test', new Date(START));
  const runs = new RunStore(redis, { prefix: `${prefix}:` });
  const port = new RecordingStatusPort();
  let now = START;
  const clock = () => new Date(now);
  const observer = new PolicyStatusObserver({
    policies,
    port,
    countMissed: () => Promise.resolve(1),
    markTold: async (key, runId) => {
      await redis.hset(`${prefix}:status-told`, key, runId);
    },
    clock,
    onError: (error) => {
      throw error;
    },
  });
  const replica = (identity: string) =>
    createStatusCatchUp({ policies, runs, clock, identity }, observer, redis, {
      prefix,
      graceMs: GRACE_MS,
      turnMs: 10_000,
    });
  const closeRun = async (name: string, at: number) =>
    (await closeOneVolumeRun(runs, name, at, 'failed')).id;
  return {
    prefix,
    policies,
    port,
    replica,
    closeRun,
    setNow: (ms: number) => (now = ms),
    endTurn: () => redis.del(`${prefix}:status-catch-up`),
  };
}

describe('createStatusCatchUp', () => {
  it('takes the runs of before the first pass as told, and tells those after', async () => {
    const t = await setup(['a', 'b']);
    await t.closeRun('a', START);
    const a = t.replica('scheduler-0');
    t.setNow(START + 1000 + GRACE_MS);
    // An upgrade from a version without told marks: the last runs were told by that version.
    expect(await a()).toEqual({ policies: 2, caughtUp: [] });
    expect(t.port.patched).toEqual([]);
    await t.endTurn();
    expect(await a()).toEqual({ policies: 2, caughtUp: [] });
    const later = await t.closeRun('b', START + 3_600_000);
    t.setNow(START + 3_600_000 + 1000 + GRACE_MS);
    await t.endTurn();
    expect((await a())?.caughtUp).toEqual([{ policy: 'shop/b', runId: later }]);
    expect(t.port.patched).toEqual([`shop/b ${later}`]);
    expect(t.port.events.map((e) => e.event.reason)).toEqual(['RunFailed']);
  });

  it('lets one replica at a time tell, and forgets the marks of removed policies', async () => {
    const t = await setup(['a', 'b']);
    const [one, two] = [t.replica('scheduler-0'), t.replica('scheduler-1')];
    await one(); // the first pass: nothing ran yet
    await t.endTurn();
    const ids = [await t.closeRun('a', START), await t.closeRun('b', START)];
    t.setNow(START + 1000 + GRACE_MS);
    const [first, second] = await Promise.all([one(), two()]);
    // Exactly one replica had the turn; each run was written once.
    expect([first, second].filter((r) => r === undefined)).toHaveLength(1);
    expect((first ?? second)?.caughtUp.map((c) => c.runId).sort()).toEqual(ids.sort());
    expect(t.port.patched).toHaveLength(2);
    await t.policies.remove('shop/a');
    await t.endTurn();
    await two();
    expect(await redis.hkeys(`${t.prefix}:status-told`)).toEqual(['shop/b']);
  });
});
