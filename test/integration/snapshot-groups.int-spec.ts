import type { AuditEventType } from '#lib/audit';
import { Worker, type Job } from 'bullmq';
import fc from 'fast-check';
import { pino } from 'pino';
import { SnapshotService, TickService } from '#lib/engine';
import {
  JOB,
  QUEUE,
  SNAPSHOT_JOB_OPTIONS,
  scheduledRunId,
  snapshotGroups,
  type SnapshotGroupJobData,
  type SnapshotJobData,
} from '#lib/queues';
import { createRedis } from '#lib/runtime';
import { DriverError, MemoryDriver } from '#lib/storage';
import {
  snapshotProcessor,
  type SnapshotHandOn,
} from '../../apps/worker/src/snapshot.processor.js';
import { eventually } from '../support/app-process.js';
import { createEngineHarness, tierPolicy, type EngineHarness } from '../support/engine-harness.js';
import { useTestRedis } from '../support/suite-redis.js';
import { wrappedCreates } from '../support/wrapped-creates.js';

/** What a volume's provider does when the run snapshots it. */
type Behaviour = 'ok' | 'transient' | 'permanent' | 'busy';

/**
 * The memory driver, with each volume's creation doing what `behaviours` says: `transient`
 * fails once with a retryable error, `permanent` always fails with one that is not; and with
 * the creation of `gated` held until `open()`.
 */
function scriptedDriver(inner: MemoryDriver, behaviours: Map<string, Behaviour>, gated?: string) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const failedOnce = new Set<string>();
  const creates: string[] = [];
  const driver = wrappedCreates(inner, async (target, ...args) => {
    const name = args[0].volume.name;
    creates.push(name);
    if (name === gated) await gate;
    const behaviour = behaviours.get(name);
    if (behaviour === 'permanent') throw new DriverError('quota exceeded', false);
    if (behaviour === 'transient' && !failedOnce.has(name)) {
      failedOnce.add(name);
      throw new DriverError('provider throttled, try again', true);
    }
    return target.createSnapshot(...args);
  });
  return { driver, open, creates };
}

const volumeName = (i: number) => `db-${String(i).padStart(2, '0')}`;

/**
 * A tick's volumes travel in group jobs of up to ten. Whatever each volume's provider does, and
 * however the group is delivered, every volume ends with exactly one result, one start, and at
 * most one creation in the audit log; the disk holds what the history says; no job is left.
 */
describe('snapshot group jobs', () => {
  const redis = useTestRedis();
  let harness: EngineHarness | undefined;
  let memory: MemoryDriver | undefined;

  /** Closes this test's (or this property run's) harness and driver. */
  async function closeAll() {
    await harness?.close();
    await memory?.close();
    harness = undefined;
    memory = undefined;
  }

  afterEach(closeAll);

  async function countOf(h: EngineHarness, type: AuditEventType, runId: string) {
    const events = await h.deps.audit.query({ type, runId, limit: 1000 });
    const counts = new Map<string, number>();
    for (const event of events.items) {
      counts.set(event.volume ?? '', (counts.get(event.volume ?? '') ?? 0) + 1);
    }
    return counts;
  }

  it('record every volume once, whatever its provider does (property)', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Behaviour>('ok', 'ok', 'transient', 'permanent', 'busy'), {
          minLength: 1,
          maxLength: 23,
        }),
        fc.constantFrom('Forbid', 'Allow'),
        fc.integer({ min: 1, max: 3 }),
        async (behaviours, concurrencyPolicy, concurrency) => {
          memory = new MemoryDriver();
          const byName = new Map<string, Behaviour>();
          behaviours.forEach((behaviour, i) => {
            memory?.addVolume({ name: volumeName(i), labels: { tier: 'db' } });
            byName.set(volumeName(i), behaviour);
          });
          const scripted = scriptedDriver(memory, byName);
          const h = (harness = createEngineHarness({
            redisUrl: redis().url,
            driver: scripted.driver,
            timings: { busyRetryMs: 50 },
          }));
          const stored = await h.addPolicy(tierPolicy(`groups-${++round}`, { concurrencyPolicy }));
          // Another operation holds each `busy` volume for a moment.
          for (const [name, behaviour] of byName) {
            if (behaviour === 'busy') await h.deps.locks.acquire(`default/${name}`, 'restore', 400);
          }
          h.startWorkers(1, concurrency);
          const runId = await h.tick(stored.key, new Date(Date.UTC(2026, 10, 1, 3)));
          const run = await h.waitForRun(runId, 60_000);

          const expected = new Map(
            [...byName].map(([name, b]) => [name, b === 'permanent' ? 'failed' : 'succeeded']),
          );
          expect(new Map(run.volumes.map((v) => [v.volume, v.state]))).toEqual(expected);
          // Each attempt says it started: a volume retried after a transient error, twice.
          const started = await countOf(h, 'snapshot.started', runId);
          expect(started).toEqual(
            new Map([...byName].map(([name, b]) => [name, b === 'transient' ? 2 : 1])),
          );
          const created = await countOf(h, 'snapshot.created', runId);
          const succeeded = [...expected].filter(([, state]) => state === 'succeeded');
          expect(created).toEqual(new Map(succeeded.map(([name]) => [name, 1])));
          for (const [name, state] of expected) {
            const onDisk = await memory.listSnapshots({ namespace: 'default', name });
            expect([name, onDisk.length]).toEqual([name, state === 'succeeded' ? 1 : 0]);
          }
          // Nothing is left to run, and the group notes of a held policy are gone.
          const snapshots = h.queues.snapshots;
          await eventually(
            async () => {
              const live = await snapshots.getJobCounts('active', 'waiting', 'delayed');
              return Object.values(live).every((n) => n === 0) ? true : undefined;
            },
            30_000,
            'every snapshot job to end',
          );
          expect(await h.redis.keys(`${h.prefix}:job-group:*`)).toEqual([]);
          const done = await snapshots.getJobs(['completed', 'failed']);
          const groups = done.filter((job) => job.name === JOB.snapshotGroup);
          expect(groups).toHaveLength(Math.ceil(behaviours.length / 10));
          await closeAll();
        },
      ),
      { numRuns: 8 },
    );
  }, 300_000);

  it('lets a stale delivery that moves on after its group was handed out again do no harm', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 3, max: 10 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        // One slot: the paused delivery moves on only after the pause, over finished volumes.
        fc.constantFrom(1, 1, 2),
        async ([count, stuckAt], slots) => {
          memory = new MemoryDriver();
          for (let i = 0; i < count; i++) {
            memory.addVolume({ name: volumeName(i), labels: { tier: 'db' } });
          }
          const h = (harness = createEngineHarness({
            redisUrl: redis().url,
            driver: memory,
            lockDurationMs: 500,
            timings: { busyRetryMs: 50 },
          }));
          const stored = await h.addPolicy(tierPolicy(`stale-${count}-${stuckAt}`));
          // The first worker stops at one volume's creation: a long pause.
          const scripted = scriptedDriver(memory, new Map(), volumeName(stuckAt));
          const paused = new SnapshotService({ ...h.deps, driver: scripted.driver });
          const logger = pino({ level: 'silent' });
          const connection = createRedis(redis().url, logger, { forBullMQ: true, name: 'paused' });
          const tick = { policyKey: stored.key, specHash: stored.specHash };
          const jobs = await new TickService(h.deps).handle(
            tick,
            new Date(Date.UTC(2026, 10, 1, 4)),
          );
          const runId = jobs[0]?.data.runId ?? '';
          await h.queues.addSnapshotJobs(jobs);
          const process = snapshotProcessor(paused, h.queues, { volumes: slots });
          const deliveries: Promise<unknown>[] = [];
          const processor = (job: Job<SnapshotJobData | SnapshotGroupJobData>, token?: string) => {
            const delivery = process(job, token);
            deliveries.push(delivery);
            return delivery;
          };
          const first = new Worker(QUEUE.snapshots, processor, {
            connection,
            prefix: h.prefix,
            lockDuration: 300,
          });
          first.on('error', () => undefined);
          await eventually(
            () => Promise.resolve(scripted.creates.includes(volumeName(stuckAt)) || undefined),
            30_000,
            'the first delivery to reach the paused volume',
          );
          // The first worker goes away without its job: the group's lock runs out and the
          // harness's worker hands the group out again, while the paused delivery still runs.
          await first.close(true);
          h.startWorkers(1, 2);
          await eventually(
            async () => {
              const run = await h.deps.runs.get(runId);
              const others = run?.volumes.filter((v) => v.volume !== volumeName(stuckAt));
              return others?.every((v) => v.state === 'succeeded') ? true : undefined;
            },
            120_000,
            'the second delivery to record every other volume',
          );
          // The paused delivery wakes and moves on over volumes the other one finished.
          scripted.open();
          const run = await h.waitForRun(runId, 60_000);
          expect(run.state).toBe('succeeded');
          const names = Array.from({ length: count }, (_, i) => volumeName(i));
          const once = new Map(names.map((name) => [name, 1]));
          expect(await countOf(h, 'snapshot.started', runId)).toEqual(once);
          const created = await countOf(h, 'snapshot.created', runId);
          const adopted = await countOf(h, 'snapshot.adopted', runId);
          for (const name of names) {
            expect([name, (created.get(name) ?? 0) + (adopted.get(name) ?? 0)]).toEqual([name, 1]);
            const onDisk = await memory.listSnapshots({ namespace: 'default', name });
            expect([name, onDisk.length]).toEqual([name, 1]);
          }
          expect(memory.stats().maxConcurrentOpsPerVolume).toBe(1);
          // The paused delivery has ended before its connection and the harness close.
          await Promise.allSettled(deliveries);
          connection.disconnect();
          await closeAll();
        },
      ),
      { numRuns: 3 },
    );
  }, 300_000);

  it('keeps a volume held (Forbid) while the group carrying it waits, and not after', async () => {
    memory = new MemoryDriver();
    for (let i = 0; i < 2; i++) memory.addVolume({ name: volumeName(i), labels: { tier: 'db' } });
    const h = (harness = createEngineHarness({ redisUrl: redis().url, driver: memory }));
    const stored = await h.addPolicy(tierPolicy('held', { concurrencyPolicy: 'Forbid' }));
    const tick = { policyKey: stored.key, specHash: stored.specHash };
    const ticks = new TickService(h.deps);
    const at = (hour: number) => new Date(Date.UTC(2026, 10, 1, hour));
    const first = await ticks.handle(tick, at(1));
    expect(first).toHaveLength(2);
    // No worker runs: the group waits in the queue (delayed), its volumes still held.
    await h.queues.addSnapshotJobs(first.map((job) => ({ ...job, delayMs: 600_000 })));
    for (const job of first) expect(await h.queues.isLive(job.id)).toBe(true);
    expect(await ticks.handle(tick, at(2))).toEqual([]);
    const blocked = await h.deps.runs.get(scheduledRunId(stored.key, at(2).getTime()));
    expect(blocked?.volumes.map((v) => v.state)).toEqual(['skipped', 'skipped']);
    // The group is gone (removed by hand): its members are no longer live, and are taken over.
    const [group] = await h.queues.snapshots.getJobs(['delayed']);
    expect(group?.name).toBe(JOB.snapshotGroup);
    await group?.remove();
    for (const job of first) expect(await h.queues.isLive(job.id)).toBe(false);
    expect(await ticks.handle(tick, at(3))).toHaveLength(2);
  });

  describe('when the group itself fails (the queue refuses to take a volume on)', () => {
    /** `h.queues`, whose hand-on fails the first `failures` times. */
    function refusingQueue(h: EngineHarness, failures: number): SnapshotHandOn {
      let left = failures;
      return {
        handOn: (job, attempts) => {
          if (left-- > 0) return Promise.reject(new Error('connection lost'));
          return h.queues.handOn(job, attempts);
        },
        groupEnded: (members) => h.queues.groupEnded(members),
      };
    }

    async function groupRun(failures: number, attempts?: number) {
      memory = new MemoryDriver();
      for (let i = 0; i < 3; i++) memory.addVolume({ name: volumeName(i), labels: { tier: 'db' } });
      const h = (harness = createEngineHarness({
        redisUrl: redis().url,
        driver: memory,
        timings: { busyRetryMs: 50 },
      }));
      const stored = await h.addPolicy(tierPolicy('refused'));
      const tick = { policyKey: stored.key, specHash: stored.specHash };
      const jobs = await new TickService(h.deps).handle(tick, new Date(Date.UTC(2026, 10, 1, 5)));
      // The middle volume is busy at first: its group must hand it on.
      await h.deps.locks.acquire(`default/${volumeName(1)}`, 'restore', 300);
      const [group] = snapshotGroups(jobs);
      if (!group) throw new Error('the tick admitted no volume');
      await h.queues.snapshots.add(JOB.snapshotGroup, group.data, {
        ...SNAPSHOT_JOB_OPTIONS,
        ...(attempts === undefined ? {} : { attempts }),
        jobId: group.id,
      });
      const service = new SnapshotService(h.deps);
      const logger = pino({ level: 'silent' });
      const connection = createRedis(redis().url, logger, { forBullMQ: true, name: 'refusing' });
      const worker = new Worker(
        QUEUE.snapshots,
        snapshotProcessor(service, refusingQueue(h, failures), { volumes: 2 }),
        { connection, prefix: h.prefix },
      );
      worker.on('error', () => undefined);
      worker.on('failed', () => undefined);
      try {
        const run = await h.waitForRun(group.data.runId, 60_000);
        return { h, run };
      } finally {
        await worker.close();
        connection.disconnect();
      }
    }

    it('is retried, and its retry records every volume once', async () => {
      const { h, run } = await groupRun(1);
      expect(run.state).toBe('succeeded');
      const names = [0, 1, 2].map(volumeName);
      expect(await countOf(h, 'snapshot.started', run.id)).toEqual(
        new Map(names.map((name) => [name, 1])),
      );
      expect(await countOf(h, 'snapshot.created', run.id)).toEqual(
        new Map(names.map((name) => [name, 1])),
      );
    }, 120_000);

    it('records every unfinished volume as failed on its last attempt', async () => {
      const { run } = await groupRun(Number.MAX_SAFE_INTEGER, 1);
      expect(run.state).toBe('partial');
      expect(run.volumes.map((v) => [v.volume, v.state, v.error])).toEqual([
        [volumeName(0), 'succeeded', undefined],
        [volumeName(1), 'failed', 'connection lost'],
        [volumeName(2), 'succeeded', undefined],
      ]);
    }, 120_000);
  });
});
