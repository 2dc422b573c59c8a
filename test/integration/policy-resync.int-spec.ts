import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PolicyReconciler, PolicyStore } from '#lib/engine';
import { QUEUE } from '#lib/queues';
import { MemoryDriver } from '#lib/storage';
import { BullMQJobSchedulers } from '../../apps/scheduler/src/bullmq-job-scheduler.adapter.js';
import { PolicyFileSource } from '../../apps/scheduler/src/policy-file.source.js';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const POLICIES = 40;

/** Commands that change data (BullMQ writes through scripts, so any script counts). */
const WRITES = new Set([
  'set',
  'setnx',
  'psetex',
  'del',
  'unlink',
  'expire',
  'pexpire',
  'incr',
  'hset',
  'hmset',
  'hdel',
  'hincrby',
  'xadd',
  'xtrim',
  'zadd',
  'zrem',
  'lpush',
  'rpush',
  'lrem',
  'multi',
  'exec',
  'eval',
  'evalsha',
  'fcall',
]);

function policyFile(name: string, schedule = '0 2 * * *'): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: ${name}
spec:
  schedule: '${schedule}'
  timeZone: UTC
  claimNames: [db]
  retention:
    keepLast: 2
`;
}

/**
 * Every command Redis receives while `work` runs, as seen by MONITOR; a marker command after
 * `work` tells when every earlier command has been seen.
 */
async function commandsDuring(url: string, work: () => Promise<unknown>): Promise<string[][]> {
  const client = new Redis(url);
  const monitor = await client.monitor();
  const seen: string[][] = [];
  const marker = `end-${randomUUID()}`;
  const ended = new Promise<void>((resolve) =>
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) resolve();
      else seen.push(args);
    }),
  );
  try {
    await work();
    await client.echo(marker);
    await ended;
    return seen;
  } finally {
    monitor.disconnect();
    client.disconnect();
  }
}

describe('periodic resync', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let dir: string;
  let source: PolicyFileSource;
  let reconciler: PolicyReconciler;
  let schedulers: BullMQJobSchedulers;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-resync-'));
    harness = createEngineHarness({ redisUrl: redis.url, driver: new MemoryDriver() });
    source = new PolicyFileSource(dir, { defaultDriver: 'local', maxSnapshotsPerVolume: () => 7 });
    schedulers = new BullMQJobSchedulers(harness.queues);
    reconciler = new PolicyReconciler(
      harness.deps.policies,
      schedulers,
      harness.deps.audit,
      harness.deps.once,
    );
    for (let i = 0; i < POLICIES; i++) {
      await writeFile(join(dir, `p${i}.yaml`), policyFile(`p${i}`));
    }
    await writeFile(join(dir, 'broken.yaml'), policyFile('broken', 'every night'));
  });
  afterEach(async () => {
    await harness.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function sync() {
    return reconciler.reconcile(await source.load(), new Date());
  }

  const auditLength = () => harness.redis.xlen(`${harness.prefix}:audit`);

  it('writes nothing for unchanged policies, and reads a fixed number of times', async () => {
    const first = await sync();
    expect(first.applied).toHaveLength(POLICIES);
    expect(first.upserted).toHaveLength(POLICIES);
    const events = await auditLength();
    expect(events).toBeGreaterThan(POLICIES);

    let second: Awaited<ReturnType<typeof sync>> | undefined;
    const commands = await commandsDuring(redis.url, async () => (second = await sync()));
    const writes = commands.filter((args) => WRITES.has(args[0]?.toLowerCase() ?? ''));

    expect(writes).toEqual([]);
    expect(second).toMatchObject({ applied: [], removed: [], upserted: [] });
    expect(second?.invalid).toEqual([expect.stringContaining('broken.yaml')]);
    expect(await auditLength()).toBe(events);
    // No command per policy: a pass over unchanged policies costs the same for 40 or 10,000.
    expect(commands.length).toBeLessThan(POLICIES / 4);
  });

  it('applies a changed policy again, and only that one', async () => {
    await sync();
    const events = await auditLength();
    await writeFile(join(dir, 'p7.yaml'), policyFile('p7', '30 4 * * *'));

    const result = await sync();

    expect(result).toMatchObject({
      applied: ['default/p7'],
      upserted: ['default/p7'],
      removed: [],
    });
    expect(await auditLength()).toBe(events + 1);
    const p7 = (await schedulers.list()).find((s) => s.key === 'default/p7');
    expect(p7?.pattern).toBe('30 4 * * *');
    expect((await harness.deps.policies.get('default/p7'))?.policy.spec.schedule).toBe(
      '30 4 * * *',
    );
  });

  it('makes again a job scheduler deleted from Redis behind its back', async () => {
    await sync();
    // Another process (an operator's script, a queue dashboard) removes two schedulers.
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const stray = new Queue(QUEUE.ticks, { connection, prefix: harness.prefix });
    await stray.removeJobScheduler('default/p3');
    await stray.removeJobScheduler('default/p12');
    await stray.close();
    connection.disconnect();

    const result = await sync();

    expect(result.upserted.sort()).toEqual(['default/p12', 'default/p3']);
    expect(result.applied).toEqual([]);
    const keys = (await schedulers.list()).map((s) => s.key);
    expect(keys).toHaveLength(POLICIES);
    expect(keys).toEqual(expect.arrayContaining(['default/p3', 'default/p12']));
  });

  it('stores again a policy deleted from Redis behind its back, and sees another replica write', async () => {
    await sync();
    await harness.redis.hdel(`${harness.prefix}:policies`, 'default/p5');

    expect((await sync()).applied).toEqual(['default/p5']);
    expect((await harness.deps.policies.get('default/p5'))?.policy.spec.schedule).toBe('0 2 * * *');

    // Another replica's store writes an older version: the next pass puts this one back.
    const replica = new PolicyStore(harness.redis, harness.prefix);
    const older = await harness.deps.policies.get('default/p9');
    await replica.putMany(
      [
        {
          policy: { ...older!.policy, spec: { ...older!.policy.spec, schedule: '0 9 * * *' } },
          source: older!.source,
        },
      ],
      new Date(),
    );
    expect((await sync()).applied).toEqual(['default/p9']);
    expect((await harness.deps.policies.get('default/p9'))?.policy.spec.schedule).toBe('0 2 * * *');
  });

  it('upserts every scheduler again when the record of what they were made from is lost', async () => {
    await sync();
    await harness.redis.del(`${harness.prefix}:policy-schedulers`);

    const result = await sync();

    expect(result.upserted).toHaveLength(POLICIES);
    expect(result.applied).toEqual([]);
    expect(await schedulers.list()).toHaveLength(POLICIES);
    expect((await sync()).upserted).toEqual([]);
  });

  it('removes the scheduler of a suspended or deleted policy and makes it again when back', async () => {
    await sync();
    await writeFile(
      join(dir, 'p1.yaml'),
      policyFile('p1').replace('timeZone: UTC', 'timeZone: UTC\n  suspend: true'),
    );
    await rm(join(dir, 'p2.yaml'));
    expect(await sync()).toMatchObject({ removed: ['default/p2'], upserted: [] });
    let keys = (await schedulers.list()).map((s) => s.key);
    expect(keys).not.toContain('default/p1');
    expect(keys).not.toContain('default/p2');

    await writeFile(join(dir, 'p1.yaml'), policyFile('p1'));
    await writeFile(join(dir, 'p2.yaml'), policyFile('p2'));
    expect((await sync()).upserted.sort()).toEqual(['default/p1', 'default/p2']);
    keys = (await schedulers.list()).map((s) => s.key);
    expect(keys).toHaveLength(POLICIES);
  });
});
