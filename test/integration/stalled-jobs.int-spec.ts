import { Queue, Worker, type Job } from 'bullmq';
import { SnapshotService, TickService } from '#lib/engine';
import {
  JOB,
  QUEUE,
  snapshotGroups,
  type SnapshotGroupJobData,
  type SnapshotJobData,
  type TickJobData,
} from '#lib/queues';
import { createRedis } from '#lib/runtime';
import { MemoryDriver } from '#lib/storage';
import { pino } from 'pino';
import { snapshotProcessor } from '../../apps/worker/src/snapshot.processor.js';
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
    driver.addVolume({ name: 'db-1', labels: { tier: 'db' } });
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
    const jobs = await new TickService(harness.deps).handle(tick, at);
    const [job] = jobs;
    if (!job) throw new Error('the tick admitted no job');
    await harness.queues.addSnapshotJobs(jobs);
    // The tick queued the volumes in a group job: that job is the one the workers die with
    // (workers that die before any of them reaches the snapshot processor).
    const queued = snapshotGroups(jobs)[0]?.id ?? '';

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
    for (const volume of run.volumes) {
      expect(volume.error).toMatch(/given up: the worker running this job stopped \d+ times/);
    }
    const failed = await harness.deps.audit.query({ type: 'snapshot.failed' });
    expect(failed.items.map((e) => e.volume).sort()).toEqual(['db-0', 'db-1']);
    await queue.close();
  }, 120_000);

  it('counts them per volume once its group has stopped: stops of different volumes do not add up', async () => {
    const stored = await harness.addPolicy(tierPolicy('hourly', { schedule: '0 * * * *' }));
    const at = new Date('2026-11-01T03:00:00Z');
    const tick: TickJobData = { policyKey: stored.key, specHash: stored.specHash };
    const jobs = await new TickService(harness.deps).handle(tick, at);
    expect(jobs).toHaveLength(2);
    await harness.queues.addSnapshotJobs(jobs);
    const group = snapshotGroups(jobs)[0]?.id ?? '';
    const memberIds = jobs.map((j) => j.id);

    const logger = pino({ level: 'silent' });
    const queue = new Queue(QUEUE.snapshots, {
      connection: createRedis(redis().url, logger, { forBullMQ: true, name: 'probe' }),
      prefix: harness.prefix,
    });
    const counts = async (ids: string[]) =>
      Promise.all(
        ids.map(async (id) => ({
          stalls: (await queue.getJob(id))?.stalledCounter,
          state: await queue.getJobState(id),
        })),
      );
    // Workers that run the app's processor for group jobs and die with every single-volume job
    // they take: the group stops once, then each volume's own job stops MAX_STALLS times, more
    // stops in all than one job may have.
    const split = snapshotProcessor(new SnapshotService(harness.deps), harness.queues, {
      volumes: 2,
    });
    const dyingWorker = (name: string, processor: (job: Job, token?: string) => Promise<unknown>) =>
      new Worker(QUEUE.snapshots, processor, {
        connection: createRedis(redis().url, logger, { forBullMQ: true, name }),
        prefix: harness.prefix,
        concurrency: 2,
        lockDuration: 300,
        stalledInterval: 300,
        maxStalledCount: BULLMQ_MAX_STALLED_COUNT,
      });
    const hang = () => new Promise<never>(() => undefined);
    const first = dyingWorker('dying-group', hang);
    await eventually(
      async () => ((await counts([group]))[0]?.state === 'active' ? true : undefined),
      60_000,
      'the group to be taken',
    );
    await first.close(true);
    for (let stalls = 0; stalls < MAX_STALLS; stalls++) {
      const dying = dyingWorker(`dying-${stalls}`, (job, token) =>
        job.name === JOB.snapshotGroup
          ? split(job as Job<SnapshotJobData | SnapshotGroupJobData>, token)
          : hang(),
      );
      await eventually(
        async () => {
          const now = await counts(memberIds);
          return now.every((m) => m.stalls === stalls && m.state === 'active') ? true : undefined;
        },
        60_000,
        `every volume's own job taken with ${stalls} stop(s)`,
      );
      await dying.close(true);
    }
    // The group went on as one job per volume, and its own stop is not theirs.
    const groupJob = await queue.getJob(group);
    expect(groupJob?.stalledCounter).toBe(1);
    expect(groupJob?.returnvalue).toEqual({
      members: Object.fromEntries(memberIds.map((id) => [id, 'handed-on'])),
    });
    // The app's workers hand them out a last time: each with its own MAX_STALLS stops, run.
    harness.startWorkers(1, 2);
    const run = await harness.waitForRun(jobs[0]?.data.runId ?? '', 60_000);
    expect(run.state).toBe('succeeded');
    expect(run.volumes.map((v) => [v.volume, v.state]).sort()).toEqual([
      ['db-0', 'succeeded'],
      ['db-1', 'succeeded'],
    ]);
    const started = await harness.deps.audit.query({ type: 'snapshot.started', runId: run.id });
    expect(started.items.map((e) => e.volume).sort()).toEqual(['db-0', 'db-1']);
    expect(await counts(memberIds)).toEqual(
      memberIds.map(() => ({ stalls: MAX_STALLS, state: 'completed' })),
    );
    await queue.close();
  }, 180_000);
});
