import { MemoryDriver, TransientDriverError, InvalidRequestError } from '#lib/storage';
import { SnapshotService, TickService } from '#lib/engine';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const MANAGED = (policy: string) => ({
  'app.kubernetes.io/managed-by': 'snapwarden',
  'snapwarden.io/policy': policy,
});

function policy(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name, namespace: 'default' },
    spec: {
      schedule: '*/5 * * * * *',
      selector: { matchLabels: { tier: 'db' } },
      retention: { keepLast: 3 },
      ...spec,
    },
  };
}

describe('engine against a real redis-server', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let driver: MemoryDriver;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  function setup(options: ConstructorParameters<typeof MemoryDriver>[0] = {}, timings = {}) {
    driver = new MemoryDriver(options);
    for (const name of ['db-0', 'db-1', 'db-2']) {
      driver.addVolume({ name, labels: { tier: 'db' }, sizeBytes: 1024 });
    }
    harness = createEngineHarness({
      redisUrl: redis.url,
      driver,
      timings: { busyRetryMs: 5, readyWaitMs: 200, readyRecheckMs: 20, ...timings },
    });
  }

  afterEach(async () => {
    await harness.close();
    await driver.close();
  });

  it('snapshots every selected volume once per tick, however often the tick is handled', async () => {
    setup();
    const stored = await harness.addPolicy(policy('nightly'));
    const at = new Date('2026-11-21T02:00:00Z');
    // Two replicas handle the same tick: identical job ids and snapshot names.
    const first = await new TickService(harness.deps).handle(
      { policyKey: stored.key, specHash: stored.specHash },
      at,
    );
    const second = await new TickService(harness.deps).handle(
      { policyKey: stored.key, specHash: stored.specHash },
      at,
    );
    expect(second).toEqual(first);
    expect(first).toHaveLength(3);
    await harness.queues.addSnapshotJobs(first);
    await harness.queues.addSnapshotJobs(second);
    harness.startWorkers(2);
    const run = await harness.waitForRun(first[0]!.data.runId);
    expect(run.state).toBe('succeeded');
    expect(driver.stats().creates).toBe(3);
    // A job handled again after it finished changes nothing.
    const again = await new SnapshotService(harness.deps).run(first[0]!.data, first[0]!.id);
    expect(again).toMatchObject({ kind: 'done', result: { outcome: 'skipped' } });
    expect(driver.stats().creates).toBe(3);
  });

  it('rotates down to keepLast and never past the cap', async () => {
    setup();
    const stored = await harness.addPolicy(policy('rotate', { retention: { keepLast: 2 } }));
    harness.startWorkers(1);
    for (let i = 0; i < 6; i++) {
      const runId = await harness.tick(stored.key, new Date(Date.UTC(2026, 10, 21, 2, 0, i * 5)));
      expect((await harness.waitForRun(runId)).state).toBe('succeeded');
    }
    for (const name of ['db-0', 'db-1', 'db-2']) {
      const snapshots = await driver.listSnapshots({ namespace: 'default', name });
      expect(snapshots.map((s) => s.labels['snapwarden.io/scheduled-at']).sort()).toEqual([
        '20261121t020020z',
        '20261121t020025z',
      ]);
    }
    const deleted = await harness.deps.audit.query({ type: 'snapshot.deleted', limit: 100 });
    expect(deleted.items).toHaveLength(12);
  });

  it('fails a volume at its cap with the reason, touching none of the snapshots it does not manage (invariants 1, 2)', async () => {
    setup();
    const at = new Date('2026-11-20T00:00:00Z');
    for (let i = 0; i < 7; i++) {
      driver.addSnapshot({
        namespace: 'default',
        volumeName: 'db-1',
        name: `manual-${i}`,
        createdAt: at,
        labels: {},
      });
    }
    const stored = await harness.addPolicy(policy('capped'));
    harness.startWorkers(1);
    const run = await harness.waitForRun(
      await harness.tick(stored.key, new Date('2026-11-21T02:00:00Z')),
    );
    expect(run.state).toBe('partial');
    const db1 = run.volumes.find((v) => v.volume === 'db-1');
    expect(db1).toMatchObject({ state: 'failed' });
    expect(db1?.error).toMatch(/limit reached/);
    expect(run.volumes.filter((v) => v.state === 'succeeded').map((v) => v.volume)).toEqual([
      'db-0',
      'db-2',
    ]);
    const left = await driver.listSnapshots({ namespace: 'default', name: 'db-1' });
    expect(left.map((s) => s.name).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `manual-${i}`));
    const blocked = await harness.deps.audit.query({ type: 'snapshot.blocked' });
    expect(blocked.items[0]).toMatchObject({ volume: 'db-1', policy: 'default/capped' });
  });

  it('never rotates away a kept, a foreign or the newest ready snapshot (invariant 2)', async () => {
    setup();
    const old = new Date('2026-11-01T00:00:00Z');
    driver.addSnapshot({
      namespace: 'default',
      volumeName: 'db-0',
      name: 'kept',
      createdAt: old,
      labels: { ...MANAGED('keepers'), 'snapwarden.io/keep': 'true' },
    });
    driver.addSnapshot({
      namespace: 'default',
      volumeName: 'db-0',
      name: 'foreign',
      createdAt: old,
      labels: MANAGED('someone-else'),
    });
    driver.addSnapshot({
      namespace: 'default',
      volumeName: 'db-0',
      name: 'manual',
      createdAt: old,
      labels: {},
    });
    const stored = await harness.addPolicy(policy('keepers', { retention: { keepLast: 1 } }));
    harness.startWorkers(1);
    for (let i = 0; i < 3; i++) {
      await harness.waitForRun(
        await harness.tick(stored.key, new Date(Date.UTC(2026, 10, 21, 3, 0, i * 5))),
      );
    }
    const names = (await driver.listSnapshots({ namespace: 'default', name: 'db-0' })).map(
      (s) => s.name,
    );
    expect(names).toEqual(expect.arrayContaining(['kept', 'foreign', 'manual']));
    expect(names).toHaveLength(4);
  });

  it('runs at most one operation per volume however many workers and policies overlap (invariant 4)', async () => {
    setup({ createLatencyMs: 3, readyDelayMs: 5, deleteLatencyMs: 2 });
    const a = await harness.addPolicy(
      policy('a', { concurrencyPolicy: 'Allow', retention: { keepLast: 2 }, reservedSlots: 0 }),
    );
    const b = await harness.addPolicy(
      policy('b', { concurrencyPolicy: 'Allow', retention: { keepLast: 2 }, reservedSlots: 0 }),
    );
    harness.startWorkers(3, 16);
    const runs: string[] = [];
    for (let i = 0; i < 8; i++) {
      const at = new Date(Date.UTC(2026, 10, 21, 4, 0, i * 5));
      runs.push(await harness.tick(a.key, at), await harness.tick(b.key, at));
    }
    const results = await Promise.all(runs.map((id) => harness.waitForRun(id, 60_000)));
    expect(results.map((r) => r.state)).toEqual(runs.map(() => 'succeeded'));
    expect(driver.stats().maxConcurrentOpsPerVolume).toBe(1);
    expect(driver.stats().creates).toBe(48);
  });

  it('retries transient driver errors and records them; fails invalid requests at once', async () => {
    setup();
    const stored = await harness.addPolicy(
      policy('flaky', { claimNames: ['db-0'], selector: undefined }),
    );
    driver.injectFailure('create', new TransientDriverError('provider throttled'), 2);
    harness.startWorkers(1);
    const ok = await harness.waitForRun(
      await harness.tick(stored.key, new Date('2026-11-21T05:00:00Z')),
      30_000,
    );
    expect(ok.state).toBe('succeeded');
    const retries = await harness.deps.audit.query({ type: 'job.retrying' });
    expect(retries.items.map((e) => e.error)).toEqual(['provider throttled', 'provider throttled']);

    driver.injectFailure('create', new InvalidRequestError('class does not exist'), 1);
    const bad = await harness.waitForRun(
      await harness.tick(stored.key, new Date('2026-11-21T05:00:05Z')),
    );
    expect(bad.state).toBe('failed');
    expect(bad.volumes[0]?.error).toBe('class does not exist');
    expect((await harness.deps.audit.query({ type: 'job.retrying' })).items).toHaveLength(2);
  });

  it('records a tick later than startingDeadlineSeconds as missed, not run', async () => {
    setup();
    const stored = await harness.addPolicy(policy('late', { startingDeadlineSeconds: 2 }));
    harness.startWorkers(1);
    const run = await harness.waitForRun(
      await harness.tick(stored.key, new Date(Date.now() - 60_000)),
    );
    expect(run.state).toBe('missed');
    expect(driver.stats().creates).toBe(0);
    const missed = await harness.deps.audit.query({ type: 'run.missed' });
    expect(missed.items[0]?.message).toMatch(/startingDeadlineSeconds 2/);
  });

  it('waits for a slow snapshot by re-checking later, holding the volume meanwhile', async () => {
    setup({ readyDelayMs: 400 }, { readyWaitMs: 50, readyRecheckMs: 50 });
    const stored = await harness.addPolicy(
      policy('slow', { claimNames: ['db-2'], selector: undefined }),
    );
    harness.startWorkers(1);
    const run = await harness.waitForRun(await harness.tick(stored.key, new Date()));
    expect(run.state).toBe('succeeded');
    const ready = await harness.deps.audit.query({ type: 'snapshot.ready' });
    expect(ready.items[0]?.durationMs).toBeGreaterThanOrEqual(300);
  });

  it('skips a volume whose previous run is unfinished under concurrencyPolicy Forbid', async () => {
    setup({ readyDelayMs: 1500 }, { readyWaitMs: 100, readyRecheckMs: 100 });
    const stored = await harness.addPolicy(
      policy('forbid', { claimNames: ['db-0'], selector: undefined }),
    );
    harness.startWorkers(1);
    const first = await harness.tick(stored.key, new Date());
    await new Promise((r) => setTimeout(r, 300));
    const second = await harness.waitForRun(
      await harness.tick(stored.key, new Date(Date.now() + 5000)),
    );
    expect(second.state).toBe('succeeded');
    expect(second.volumes[0]).toMatchObject({ state: 'skipped' });
    expect(second.volumes[0]?.reason).toMatch(/Forbid/);
    expect((await harness.waitForRun(first)).state).toBe('succeeded');
    expect(driver.stats().creates).toBe(1);
  });
});
