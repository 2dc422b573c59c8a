import { CleanupService, type EngineDeps } from '#lib/engine';
import { MemoryDriver, type DriverCapabilities } from '#lib/storage';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { createRequestHarness, type RequestHarness } from '../support/request-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const MANAGED = { 'app.kubernetes.io/managed-by': 'snapwarden' };
const HOUR = 3_600_000;

/** A driver like the generic CSI one: it cannot roll a volume back. */
class NoRollbackDriver extends MemoryDriver {
  override async capabilities(): Promise<DriverCapabilities> {
    return { ...(await super.capabilities()), rollback: false };
  }
}

function policy(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name, namespace: 'default' },
    spec: { schedule: '@daily', claimNames: ['db-0'], retention: { keepLast: 1 }, ...spec },
  };
}

describe('cleanup and restores against a real redis-server', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let requests: RequestHarness;
  let driver: MemoryDriver;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  function setup(make: () => MemoryDriver = () => new MemoryDriver()) {
    driver = make();
    for (const name of ['db-0', 'db-1']) {
      driver.addVolume({
        name,
        labels: { tier: 'db' },
        sizeBytes: 1024,
        accessModes: ['ReadWriteOnce'],
      });
    }
    harness = createEngineHarness({
      redisUrl: redis.url,
      driver,
      timings: { busyRetryMs: 5, readyWaitMs: 200, readyRecheckMs: 20 },
    });
    requests = createRequestHarness(harness);
    harness.startWorkers(1);
  }

  afterEach(async () => {
    await requests.close();
    await harness.close();
    await driver.close();
  });

  function cleanupAt(at: Date): CleanupService {
    const deps: EngineDeps = { ...harness.deps, clock: () => at };
    return new CleanupService(deps);
  }

  async function names(volume: string): Promise<string[]> {
    return (await driver.listSnapshots({ namespace: 'default', name: volume }))
      .map((s) => s.name)
      .sort();
  }

  async function deletedEvents() {
    const page = await harness.deps.audit.query({ type: 'snapshot.deleted', limit: 100 });
    return page.items.map((e) => [e.snapshot, e.reason, e.trigger]);
  }

  it('deletes on-demand snapshots once their ttl has passed, keeping ttl 0 and those a restore reads', async () => {
    setup();
    await requests.snapshot('short', { claimNames: ['db-0', 'db-1'], ttl: '1h' });
    await requests.snapshot('forever', { claimNames: ['db-0'], ttl: '0' });
    await requests.waitForRequest('short');
    await requests.waitForRequest('forever');
    await requests.inUse.add('default', 'short-db-1', 'default/some-restore');

    const early = await cleanupAt(new Date(Date.now() + 30 * 60_000)).sweep('schedule');
    expect(early.deleted).toEqual([]);
    const late = await cleanupAt(new Date(Date.now() + 2 * HOUR)).sweep('schedule');
    expect(late.deleted.map((d) => d.name)).toEqual(['short-db-0']);
    expect(await names('db-0')).toEqual(['forever-db-0']);
    expect(await names('db-1')).toEqual(['short-db-1']);
    expect(await deletedEvents()).toEqual([
      ['short-db-0', 'cleanup: ttl expired', 'cleanup:schedule'],
    ]);

    const runs = await harness.deps.runs.list({ kind: 'cleanup' });
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]).toMatchObject({
      kind: 'cleanup',
      state: 'succeeded',
      namespace: 'default',
    });
    expect(runs.items[0]?.volumes).toEqual([
      expect.objectContaining({
        volume: 'db-0',
        state: 'succeeded',
        reason: expect.stringContaining('short-db-0'),
      }),
    ]);
    const timeline = await harness.deps.audit.query({ runId: runs.items[0]?.id, limit: 10 });
    expect(timeline.items.map((e) => e.type).sort()).toEqual(['run.finished', 'snapshot.deleted']);

    await requests.inUse.remove('default', 'short-db-1', 'default/some-restore');
    await cleanupAt(new Date(Date.now() + 2 * HOUR)).sweep('schedule');
    expect(await names('db-1')).toEqual([]);
  });

  it('deletes snapshots whose creation failed after the grace period, never those labelled keep', async () => {
    setup();
    const old = new Date(Date.now() - 2 * HOUR);
    driver.addSnapshot({
      name: 'failed-old',
      volumeName: 'db-0',
      state: 'Failed',
      labels: MANAGED,
      createdAt: old,
    });
    driver.addSnapshot({
      name: 'failed-new',
      volumeName: 'db-0',
      state: 'Failed',
      labels: MANAGED,
    });
    driver.addSnapshot({
      name: 'failed-kept',
      volumeName: 'db-0',
      state: 'Failed',
      labels: { ...MANAGED, 'snapwarden.io/keep': 'true' },
      createdAt: old,
    });
    driver.addSnapshot({
      name: 'not-ours',
      volumeName: 'db-0',
      state: 'Failed',
      labels: {},
      createdAt: old,
    });
    await cleanupAt(new Date()).sweep('schedule');
    expect(await names('db-0')).toEqual(['failed-kept', 'failed-new', 'not-ours']);
    expect(await deletedEvents()).toEqual([
      ['failed-old', 'cleanup: creation failed', 'cleanup:schedule'],
    ]);
  });

  it("applies a deleted policy's deletionPolicy: Delete removes its snapshots, Retain keeps them", async () => {
    setup();
    const gone = await harness.addPolicy(policy('gone', { deletionPolicy: 'Delete' }));
    const kept = await harness.addPolicy(policy('kept', { deletionPolicy: 'Retain' }));
    const owned: [string, string][] = [
      ['gone-1', 'gone'],
      ['kept-1', 'kept'],
    ];
    for (const [name, owner] of owned) {
      driver.addSnapshot({
        name,
        volumeName: 'db-0',
        labels: { ...MANAGED, 'snapwarden.io/policy': owner },
      });
    }
    await harness.deps.policies.remove(gone.key);
    await harness.deps.policies.remove(kept.key);
    await cleanupAt(new Date()).sweep('schedule');
    expect(await names('db-0')).toEqual(['kept-1']);
    expect(await deletedEvents()).toEqual([
      [
        'gone-1',
        'cleanup: policy default/gone deleted with deletionPolicy Delete',
        'cleanup:schedule',
      ],
    ]);
    expect(await harness.deps.policies.removed()).toEqual([]);
  });

  it('keeps the snapshots of a volume that no longer exists (the local driver keeps the only copy)', async () => {
    setup();
    driver.addSnapshot({ name: 'orphan', volumeName: 'db-1', labels: MANAGED });
    driver.removeVolume({ namespace: 'default', name: 'db-1' });
    const result = await cleanupAt(new Date()).sweep('schedule');
    expect(result.deleted).toEqual([]);
    expect((await harness.deps.runs.list({ kind: 'cleanup' })).items).toEqual([]);
  });

  it('restores into a new volume under the source volume lock, and waits while the volume is busy', async () => {
    setup();
    driver.addSnapshot({ name: 'snap', volumeName: 'db-0', labels: {}, restoreSizeBytes: 1024 });
    await harness.deps.locks.acquire('default/db-0', 'another-operation', 10_000);
    await requests.restore('copy', { snapshotName: 'snap', target: { claimName: 'db-0-copy' } });
    await new Promise((r) => setTimeout(r, 300));
    expect((await requests.restores.status('default/copy'))?.phase).toBe('Pending');
    await harness.deps.locks.release('default/db-0', 'another-operation');
    const done = await requests.waitForRestore('copy');
    expect(done).toMatchObject({ phase: 'Succeeded', claimName: 'db-0-copy' });
    expect(await driver.getVolume({ namespace: 'default', name: 'db-0-copy' })).toBeDefined();
    const events = await harness.deps.audit.query({ limit: 50 });
    expect(events.items.map((e) => e.type)).toEqual(
      expect.arrayContaining(['restore.started', 'restore.succeeded']),
    );
    const succeeded = events.items.find((e) => e.type === 'restore.succeeded');
    expect(succeeded?.volume).toBe('db-0-copy');
    const runs = await harness.deps.runs.list({ kind: 'restore' });
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]).toMatchObject({ kind: 'restore', state: 'succeeded' });
    expect(runs.items[0]?.volumes).toEqual([
      expect.objectContaining({ volume: 'db-0-copy', state: 'succeeded', snapshot: 'snap' }),
    ]);
    const timeline = await harness.deps.audit.query({ runId: runs.items[0]?.id, limit: 10 });
    expect(timeline.items.map((e) => e.type)).toEqual(
      expect.arrayContaining(['restore.started', 'restore.succeeded', 'run.finished']),
    );
  });

  it('refuses a rollback where the driver cannot roll back, naming spec.mode, and frees the snapshot', async () => {
    setup(() => new NoRollbackDriver());
    driver.addSnapshot({ name: 'snap', volumeName: 'db-0', labels: {} });
    await requests.restore('back', { snapshotName: 'snap', mode: 'Rollback' });
    const done = await requests.waitForRestore('back');
    expect(done).toMatchObject({ phase: 'Failed', field: 'spec.mode' });
    expect(done.message).toMatch(/cannot roll a volume back/);
    expect([...(await requests.inUse.inNamespace('default'))]).toEqual([]);
    const failed = await harness.deps.audit.query({ type: 'restore.failed', limit: 10 });
    expect(failed.items).toHaveLength(1);
    const runs = await harness.deps.runs.list({ kind: 'restore', state: 'failed' });
    expect(runs.items.map((r) => r.volumes[0]?.error)).toEqual([
      expect.stringMatching(/cannot roll a volume back/),
    ]);
  });

  it('never rotates away a snapshot a restore is reading', async () => {
    setup();
    const stored = await harness.addPolicy(policy('nightly', {}));
    const first = await harness.tick(stored.key, new Date('2026-11-20T00:00:00Z'));
    await harness.waitForRun(first);
    const [reading] = await names('db-0');
    await requests.inUse.add('default', reading!, 'default/long-restore');
    for (const day of ['2026-11-21', '2026-11-22']) {
      await harness.waitForRun(await harness.tick(stored.key, new Date(`${day}T00:00:00Z`)));
    }
    expect(await names('db-0')).toContain(reading);
    await requests.inUse.remove('default', reading!, 'default/long-restore');
    await harness.waitForRun(await harness.tick(stored.key, new Date('2026-11-23T00:00:00Z')));
    expect(await names('db-0')).not.toContain(reading);
  });
});
