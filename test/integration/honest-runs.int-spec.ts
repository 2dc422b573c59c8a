import { JOB, SNAPSHOT_JOB_OPTIONS, scheduledRunId, type TickJobData } from '#lib/queues';
import {
  LABEL_EXPIRES_AT,
  SnapshotService,
  TickService,
  CleanupService,
  type StoredPolicy,
} from '#lib/engine';
import {
  LABEL_MANAGED_BY,
  LABEL_ON_DEMAND,
  LABEL_POLICY,
  MANAGED_BY_VALUE,
  formatScheduledAt,
} from '#lib/policy';
import type { AuditEvent } from '#lib/audit';
import { MemoryDriver } from '#lib/storage';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

function policy(spec: Record<string, unknown>) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'honest', namespace: 'default' },
    spec: { schedule: '*/5 * * * * *', retention: { keepLast: 3 }, ...spec },
  };
}

const FIVE_S = 5_000;
/** Missed ticks recorded at most per gap, like CronJob's bound. */
const MAX_MISSED_TICKS = 100;

/** The next multiple of five seconds after `ms`. */
function nextTick(ms: number): Date {
  return new Date(Math.ceil((ms + 1) / FIVE_S) * FIVE_S);
}

/**
 * Runs tell the truth: missing claims fail, a retried tick admits exactly what its first pass
 * did, what a dead job held is released, ticks that never fired are recorded as missed, and
 * cleanup deletes only under the volume lock.
 */
describe('honest runs against a real redis-server', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let driver: MemoryDriver;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(() => {
    driver = new MemoryDriver();
    for (const name of ['db-0', 'db-1']) {
      driver.addVolume({ name, labels: { tier: 'db' }, sizeBytes: 1024 });
    }
    harness = createEngineHarness({
      redisUrl: redis.url,
      driver,
      timings: { busyRetryMs: 5, readyWaitMs: 200, readyRecheckMs: 20 },
    });
  });
  afterEach(async () => {
    await harness.close();
    await driver.close();
  });

  const tickOf = (stored: StoredPolicy): TickJobData => ({
    policyKey: stored.key,
    specHash: stored.specHash,
  });

  /** The job holding a (policy, volume) pair for `concurrencyPolicy`, read from Redis. */
  async function holder(policyKey: string, volumeUid: string) {
    return (
      (await harness.redis.get(`${harness.prefix}:active:${policyKey}:${volumeUid}`)) ?? undefined
    );
  }

  async function events(filter: { type?: AuditEvent['type']; runId?: string } = {}) {
    return (await harness.deps.audit.query({ ...filter, limit: 500, order: 'asc' })).items;
  }

  it('fails a claim named in claimNames that does not exist; the run is partial', async () => {
    const stored = await harness.addPolicy(policy({ claimNames: ['db-0', 'ghost'] }));
    const at = nextTick(Date.now());
    const jobs = await new TickService(harness.deps).handle(tickOf(stored), at);
    expect(jobs.map((j) => j.data.volume.name)).toEqual(['db-0']);
    await harness.queues.addSnapshotJobs(jobs);
    harness.startWorkers(1);
    const run = await harness.waitForRun(scheduledRunId(stored.key, at.getTime()));
    expect(run.state).toBe('partial');
    expect(run.volumes.find((v) => v.volume === 'ghost')).toMatchObject({
      state: 'failed',
      error: 'claim not found',
    });
    const failed = await events({ type: 'snapshot.failed', runId: run.id });
    expect(failed.map((e) => [e.volume, e.error])).toEqual([['ghost', 'claim not found']]);
  });

  it('a retried tick admits exactly what its first pass admitted', async () => {
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    const at = nextTick(Date.now());
    // A live job of an earlier run still holds db-0 (Forbid).
    const earlier = await harness.queues.snapshots.add(JOB.snapshot, {} as never, {
      ...SNAPSHOT_JOB_OPTIONS,
      jobId: 'snap_earlier',
      delay: 600_000,
    });
    const db0 = await driver.getVolume({ namespace: 'default', name: 'db-0' });
    await harness.deps.activeRuns.admit(stored.key, db0!.uid, 'snap_earlier', 'Forbid');
    const ticks = new TickService(harness.deps);
    const first = await ticks.handle(tickOf(stored), at);
    expect(first.map((j) => j.data.volume.name)).toEqual(['db-1']);
    // The earlier job ends before the tick is retried: the retry still does not admit db-0.
    await harness.deps.activeRuns.finish(stored.key, db0!.uid, 'snap_earlier', 'Forbid');
    await earlier.remove();
    const retry = await ticks.handle(tickOf(stored), at);
    expect(retry).toEqual(first);
    const run = await harness.deps.runs.get(scheduledRunId(stored.key, at.getTime()));
    expect(run?.volumes.find((v) => v.volume === 'db-0')?.state).toBe('skipped');
    expect(await holder(stored.key, db0!.uid)).toBeUndefined();
    expect(await events({ type: 'run.started' })).toHaveLength(1);
  });

  it('takes over a volume whose holder job is gone instead of skipping it', async () => {
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    const db0 = await driver.getVolume({ namespace: 'default', name: 'db-0' });
    // A job that died on its way out never released the pair; it is in no queue any more.
    await harness.deps.activeRuns.admit(stored.key, db0!.uid, 'snap_vanished', 'Forbid');
    const jobs = await new TickService(harness.deps).handle(tickOf(stored), nextTick(Date.now()));
    expect(jobs.map((j) => j.data.volume.name)).toEqual(['db-0', 'db-1']);
  });

  it('a job whose volume is already recorded releases its marker and removes its leftover', async () => {
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    const at = nextTick(Date.now());
    const [job] = await new TickService(harness.deps).handle(tickOf(stored), at);
    const data = job!.data;
    // The run closed the volume (here: failed) while this job's snapshot was half-built.
    await harness.deps.runs.applyVolumeResult(data.runId, {
      volume: data.volume.name,
      state: 'failed',
      error: 'gave up',
    });
    const volume = await driver.getVolume(data.volume);
    await driver.createSnapshot({ volume: volume!, name: data.snapshotName, labels: {} });
    const step = await new SnapshotService(harness.deps).run(data, job!.id, { redelivered: true });
    expect(step).toMatchObject({ kind: 'done', result: { outcome: 'skipped' } });
    expect(await holder(stored.key, data.volume.uid)).toBeUndefined();
    expect(await driver.getSnapshot({ namespace: 'default', name: data.snapshotName })).toBe(
      undefined,
    );
    const deleted = await events({ type: 'snapshot.deleted' });
    expect(deleted.map((e) => e.snapshot)).toEqual([data.snapshotName]);
    expect(deleted[0]?.reason).toMatch(/recorded the volume as failed/);
  });

  /**
   * A tick of a policy over the db volumes whose jobs each created their snapshot, then failed
   * for good with `error` (the driver's readiness decides whether the snapshot is ready).
   */
  async function failAfterBuild(error: string) {
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    const at = nextTick(Date.now());
    const jobs = await new TickService(harness.deps).handle(tickOf(stored), at);
    const service = new SnapshotService(harness.deps);
    for (const job of jobs) {
      const volume = await driver.getVolume(job.data.volume);
      await driver.createSnapshot({ volume: volume!, name: job.data.snapshotName, labels: {} });
    }
    for (const job of jobs) await service.fail(job.data, job.id, new Error(error));
    return { jobs, runId: scheduledRunId(stored.key, at.getTime()) };
  }

  it('a job that fails for good removes the snapshot it left half-built', async () => {
    await harness.close();
    driver = new MemoryDriver({ readyDelayMs: 60_000 });
    for (const name of ['db-0', 'db-1']) {
      driver.addVolume({ name, labels: { tier: 'db' }, sizeBytes: 1024 });
    }
    harness = createEngineHarness({ redisUrl: redis.url, driver });
    const { jobs, runId } = await failAfterBuild('gave up');
    const run = await harness.deps.runs.get(runId);
    const half = jobs.map((j) => j.data.snapshotName);
    expect(await driver.listAllSnapshots()).toEqual([]);
    expect(run?.state).toBe('failed');
    expect(run?.volumes[0]).toMatchObject({ state: 'failed', error: 'gave up' });
    expect(run?.volumes[0]?.snapshot).toBeUndefined();
    expect((await events({ type: 'snapshot.deleted' })).map((e) => e.snapshot)).toEqual(half);
    expect(await harness.deps.locks.owner('default/db-0')).toBeUndefined();
  });

  it('a job that fails for good after its snapshot was ready keeps it, named in the failed result', async () => {
    // As the worker does when the workers running the job stopped more than three times.
    const { jobs, runId } = await failAfterBuild('given up');
    const run = await harness.deps.runs.get(runId);
    const kept = jobs.map((j) => j.data.snapshotName).sort();
    expect((await driver.listAllSnapshots()).map((s) => s.name).sort()).toEqual(kept);
    expect(run?.state).toBe('failed');
    expect(run?.volumes.map((v) => [v.state, v.snapshot]).sort()).toEqual(
      kept.map((name) => ['failed', name]),
    );
    expect(await events({ type: 'snapshot.deleted' })).toEqual([]);
    expect((await events({ type: 'run.finished' })).map((e) => e.runId)).toEqual([runId]);
  });

  it('records every tick that never fired between the last one handled and now, once', async () => {
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    const ticks = new TickService(harness.deps);
    const first = nextTick(Date.now());
    await ticks.handle(tickOf(stored), first);
    // An outage: the next tick handled is a minute later; eleven ticks in between never fired.
    const later = new Date(first.getTime() + 60_000);
    await ticks.handle(tickOf(stored), later);
    await ticks.handle(tickOf(stored), later); // a retry records nothing twice
    const missed = await events({ type: 'run.missed' });
    expect(missed).toHaveLength(11);
    const runs = await harness.deps.runs.list({ policy: stored.key, state: 'missed', limit: 500 });
    expect(runs.items.map((r) => Date.parse(r.scheduledAt)).sort()).toEqual(
      Array.from({ length: 11 }, (_, i) => first.getTime() + (i + 1) * FIVE_S),
    );
    // A very long outage records the latest hundred, like CronJob.
    const much = new Date(later.getTime() + 1_000 * FIVE_S);
    await ticks.handle(tickOf(stored), much);
    expect(await events({ type: 'run.missed' })).toHaveLength(11 + MAX_MISSED_TICKS);
  });

  it('a tick cut short after its missed ticks records each once, and moves the ledger with its run', async () => {
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    const ticks = new TickService(harness.deps);
    const first = nextTick(Date.now());
    await ticks.handle(tickOf(stored), first);
    const later = new Date(first.getTime() + 6 * FIVE_S);
    // The volume listing fails once, after the gap is recorded and before the run starts.
    const findVolumes = driver.findVolumes.bind(driver);
    let failures = 1;
    driver.findVolumes = (query) =>
      failures-- > 0 ? Promise.reject(new Error('listing failed')) : findVolumes(query);
    await expect(ticks.handle(tickOf(stored), later)).rejects.toThrow('listing failed');
    expect(await harness.deps.policies.lastTick(stored.key)).toBe(first.getTime());
    expect(await events({ type: 'run.missed' })).toHaveLength(5);
    const jobs = await ticks.handle(tickOf(stored), later);
    expect(jobs).toHaveLength(2);
    expect(await harness.deps.policies.lastTick(stored.key)).toBe(later.getTime());
    expect(await events({ type: 'run.missed' })).toHaveLength(5);
    expect(await events({ type: 'run.started' })).toHaveLength(2);
    // A late copy of an older tick never moves the ledger back.
    await ticks.handle(tickOf(stored), new Date(first.getTime() + FIVE_S));
    expect(await harness.deps.policies.lastTick(stored.key)).toBe(later.getTime());
  });

  it('cleanup deletes an expired snapshot only under the volume lock', async () => {
    const volume = await driver.getVolume({ namespace: 'default', name: 'db-0' });
    const expired = formatScheduledAt(new Date(Date.now() - 60_000));
    await driver.createSnapshot({
      volume: volume!,
      name: 'on-demand-expired',
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
        [LABEL_POLICY]: 'honest',
        [LABEL_ON_DEMAND]: 'req',
        [LABEL_EXPIRES_AT]: expired,
      },
    });
    // Another operation (a snapshot being built) holds the volume.
    await harness.deps.locks.acquire('default/db-0', 'snap_building', 60_000);
    const cleanup = new CleanupService(harness.deps);
    const busy = await cleanup.sweep('test');
    expect(busy.deleted).toEqual([]);
    expect(busy.deferred.map((d) => d.name)).toEqual(['on-demand-expired']);
    expect(await events({ type: 'snapshot.deleted' })).toEqual([]);
    await harness.deps.locks.release('default/db-0', 'snap_building');
    const free = await cleanup.sweep('test');
    expect(free.deleted.map((d) => d.name)).toEqual(['on-demand-expired']);
    expect(await harness.deps.locks.owner('default/db-0')).toBeUndefined();
  });

  it('cleanup never deletes inside another operation on the same volume', async () => {
    await harness.close();
    // Snapshots take a while to become ready: the window in which a deletion could overlap.
    driver = new MemoryDriver({ readyDelayMs: 300 });
    for (const name of ['db-0', 'db-1']) {
      driver.addVolume({ name, labels: { tier: 'db' }, sizeBytes: 1024 });
    }
    harness = createEngineHarness({
      redisUrl: redis.url,
      driver,
      timings: { busyRetryMs: 5, readyWaitMs: 2_000, readyRecheckMs: 20 },
    });
    const stored = await harness.addPolicy(policy({ selector: { matchLabels: { tier: 'db' } } }));
    harness.startWorkers(1, 4);
    const cleanup = new CleanupService(harness.deps);
    const expired = formatScheduledAt(new Date(Date.now() - 60_000));
    const first = nextTick(Date.now()).getTime();
    for (let round = 0; round < 3; round++) {
      const at = new Date(first + round * FIVE_S);
      const runId = scheduledRunId(stored.key, at.getTime());
      await harness.queues.addSnapshotJobs(
        await new TickService(harness.deps).handle(tickOf(stored), at),
      );
      await eventually(async () =>
        (await events({ type: 'snapshot.started', runId })).length === 2 ? true : undefined,
      );
      // Snapshots expire while both volumes are being snapshotted; cleanup runs right then.
      for (const name of ['db-0', 'db-1']) {
        const volume = await driver.getVolume({ namespace: 'default', name });
        await driver.createSnapshot({
          volume: volume!,
          name: `expired-${name}-${round}`,
          labels: {
            [LABEL_MANAGED_BY]: MANAGED_BY_VALUE,
            [LABEL_POLICY]: 'honest',
            [LABEL_ON_DEMAND]: 'req',
            [LABEL_EXPIRES_AT]: expired,
          },
        });
      }
      await cleanup.sweep('test');
      await harness.waitForRun(runId);
    }
    await eventually(async () => {
      await cleanup.sweep('test');
      const left = (await driver.listAllSnapshots()).filter((s) => s.name.startsWith('expired-'));
      return left.length === 0 ? true : undefined;
    });
    const overlaps: string[] = [];
    const open = new Map<string, string>();
    for (const e of await events()) {
      if (!e.volume) continue;
      if (e.type === 'snapshot.started') open.set(e.volume, e.snapshot ?? '');
      else if (['snapshot.ready', 'snapshot.failed', 'snapshot.blocked'].includes(e.type)) {
        open.delete(e.volume);
      } else if (e.type === 'snapshot.deleted' && e.trigger.startsWith('cleanup:')) {
        const running = open.get(e.volume);
        if (running) overlaps.push(`${e.snapshot} deleted while ${running} was in flight`);
      }
    }
    expect((await events({ type: 'snapshot.deleted' })).length).toBe(6);
    expect(overlaps).toEqual([]);
  });
});

/** Polls `probe` until it returns a value, or fails after ten seconds. */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}
