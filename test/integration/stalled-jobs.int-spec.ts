import { Queue, Worker } from 'bullmq';
import { TickService } from '#lib/engine';
import { QUEUE, snapshotGroups, type TickJobData } from '#lib/queues';
import { createRedis } from '#lib/runtime';
import { MemoryDriver } from '#lib/storage';
import { pino } from 'pino';
import { BULLMQ_MAX_STALLED_COUNT, MAX_STALLS } from '../../apps/worker/src/stalls.js';
import { eventually } from '../support/app-process.js';
import { createEngineHarness, tierPolicy, type EngineHarness } from '../support/engine-harness.js';
import { useTestRedis } from '../support/suite-redis.js';

/**
 * A snapshot job whose workers keep dying while they run it (killed, or crashed by the job) is
 * given up after MAX_STALLS stalls, and its volume's run records the failure with the reason.
 * BullMQ's own limit failed such a job without calling the processor: the run stayed running
 * for ever and nothing said why.
 */
describe('a job whose workers keep stopping', () => {
  const redis = useTestRedis();
  let harness: EngineHarness;
  let driver: MemoryDriver;

  beforeEach(() => {
    driver = new MemoryDriver();
    driver.addVolume({ name: 'db-0', labels: { tier: 'db' } });
    harness = createEngineHarness({ redisUrl: redis().url, driver, lockDurationMs: 500 });
  });
  afterEach(async () => {
    await harness.close();
    await driver.close();
  });

  it('is given up and recorded as its volume’s failure', async () => {
    const stored = await harness.addPolicy(tierPolicy('nightly', { schedule: '0 2 * * *' }));
    const at = new Date('2026-11-01T02:00:00Z');
    const tick: TickJobData = { policyKey: stored.key, specHash: stored.specHash };
    const [job] = await new TickService(harness.deps).handle(tick, at);
    if (!job) throw new Error('the tick admitted no job');
    await harness.queues.addSnapshotJobs([job]);
    // The tick queued the volume in a group job: that job is the one the workers die with.
    const queued = snapshotGroups([job])[0]?.id ?? '';

    const logger = pino({ level: 'silent' });
    const queue = new Queue(QUEUE.snapshots, {
      connection: createRedis(redis().url, logger, { forBullMQ: true, name: 'probe' }),
      prefix: harness.prefix,
    });
    const stateOf = async () => {
      const current = await queue.getJob(queued);
      return { stalls: current?.stalledCounter ?? 0, state: await queue.getJobState(queued) };
    };
    // Workers that take the job and die with it: each one's stalled check (as the app's
    // workers configure it) hands the previous one's job back first.
    for (let stalls = 0; stalls <= MAX_STALLS; stalls++) {
      const dying = new Worker(QUEUE.snapshots, () => new Promise<never>(() => undefined), {
        connection: createRedis(redis().url, logger, { forBullMQ: true, name: `dying-${stalls}` }),
        prefix: harness.prefix,
        lockDuration: 300,
        stalledInterval: 300,
        maxStalledCount: BULLMQ_MAX_STALLED_COUNT,
      });
      const taken = await eventually(
        async () => {
          const now = await stateOf();
          return now.stalls === stalls && now.state !== 'waiting' ? now : undefined;
        },
        60_000,
        `stall ${stalls}`,
      );
      await dying.close(true);
      if (taken.state !== 'active') break;
    }
    await eventually(
      async () => {
        const current = await queue.getJob(queued);
        return (current?.stalledCounter ?? 0) >= MAX_STALLS ? true : undefined;
      },
      60_000,
      'the job to stall once more',
    );

    harness.startWorkers(1, 2);
    const run = await harness.waitForRun(job.data.runId, 60_000);
    expect(run.state).toBe('failed');
    expect(run.volumes[0]?.error).toMatch(
      /given up: the worker running this job stopped \d+ times/,
    );
    const failed = await harness.deps.audit.query({ type: 'snapshot.failed' });
    expect(failed.items.map((e) => e.volume)).toEqual(['db-0']);
    await queue.close();
  }, 120_000);
});
