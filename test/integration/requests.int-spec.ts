import { MemoryDriver } from '#lib/storage';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { createRequestHarness, type RequestHarness } from '../support/request-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

const SELECT_DB = { selector: { matchLabels: { tier: 'db' } } };

describe('snapshot requests against a real redis-server', () => {
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

  function setup(options: ConstructorParameters<typeof MemoryDriver>[0] = {}) {
    driver = new MemoryDriver(options);
    for (const name of ['db-0', 'db-1', 'db-2']) {
      driver.addVolume({ name, labels: { tier: 'db' }, sizeBytes: 1024 });
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

  it('succeeds once every selected claim has a ready, labelled, expiring snapshot', async () => {
    setup();
    await requests.snapshot('pre-upgrade', {
      ...SELECT_DB,
      reason: 'pre-upgrade shop 2.4',
      ttl: '72h',
    });
    const status = await requests.waitForRequest('pre-upgrade');
    expect(status.phase).toBe('Succeeded');
    expect(status.snapshots.map((s) => [s.claim, s.snapshotName, s.readyToUse])).toEqual([
      ['db-0', 'pre-upgrade-db-0', true],
      ['db-1', 'pre-upgrade-db-1', true],
      ['db-2', 'pre-upgrade-db-2', true],
    ]);
    const [snapshot] = await driver.listSnapshots({ namespace: 'default', name: 'db-0' });
    expect(snapshot?.labels).toMatchObject({
      'snapwarden.io/on-demand': 'pre-upgrade',
      'app.kubernetes.io/managed-by': 'snapwarden',
    });
    expect(snapshot?.labels['snapwarden.io/expires-at']).toMatch(/^\d{8}t\d{6}z$/);
    expect(Date.parse(status.expiresAt ?? '') - Date.parse(status.createdAt)).toBe(72 * 3600_000);
    const events = await harness.deps.audit.query({ limit: 100 });
    const types = events.items.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['request.started', 'request.succeeded']));
    expect(types.filter((t) => t === 'snapshot.ready')).toHaveLength(3);
    const started = events.items.find((e) => e.type === 'request.started');
    expect(started?.reason).toBe('pre-upgrade shop 2.4');
  });

  it('fails naming the claim that does not exist, while the others get their snapshot', async () => {
    setup();
    await requests.snapshot('named', { claimNames: ['db-0', 'nope'] });
    const status = await requests.waitForRequest('named');
    expect(status.phase).toBe('Failed');
    expect(status.message).toMatch(/nope \(volume not found\)/);
    expect(status.snapshots.find((s) => s.claim === 'db-0')?.readyToUse).toBe(true);
  });

  it('fails naming a claim at its cap, and never crosses the cap', async () => {
    setup({ maxSnapshotsPerVolume: 2 });
    for (const name of ['manual-a', 'manual-b']) {
      driver.addSnapshot({ name, volumeName: 'db-1', labels: {} });
    }
    await requests.snapshot('capped', SELECT_DB);
    const status = await requests.waitForRequest('capped');
    expect(status.phase).toBe('Failed');
    expect(status.message).toMatch(/db-1 \(limit reached/);
    expect(await driver.listSnapshots({ namespace: 'default', name: 'db-1' })).toHaveLength(2);
    const blocked = await harness.deps.audit.query({ type: 'snapshot.blocked', limit: 10 });
    expect(blocked.items.map((e) => e.volume)).toEqual(['db-1']);
  });

  it('fails at its timeout naming the claims not ready, and still records snapshots that turn ready later', async () => {
    setup({ readyDelayMs: 1500 });
    await requests.snapshot('slow', { claimNames: ['db-0'], timeoutSeconds: 1 });
    const status = await requests.waitForRequest('slow');
    expect(status).toMatchObject({ phase: 'Failed', timedOut: true });
    expect(status.message).toMatch(/timed out after 1s; not ready: db-0/);
    const later = await waitFor(async () => {
      const s = await requests.requests.status('default/slow');
      return s?.snapshots[0]?.readyToUse ? s : undefined;
    });
    expect(later.phase).toBe('Failed');
    const failed = await harness.deps.audit.query({ type: 'request.failed', limit: 10 });
    expect(failed.items).toHaveLength(1);
  });

  it('racing scheduled runs on the same volumes never crosses the cap nor runs two operations on one volume', async () => {
    setup({ maxSnapshotsPerVolume: 4, createLatencyMs: 15, readyDelayMs: 20 });
    harness.startWorkers(2);
    const stored = await harness.addPolicy({
      apiVersion: 'snapwarden.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'nightly', namespace: 'default' },
      spec: {
        schedule: '*/5 * * * * *',
        ...SELECT_DB,
        retention: { keepLast: 3 },
        reservedSlots: 1,
      },
    });
    const runs: string[] = [];
    for (let i = 0; i < 4; i++) {
      runs.push(await harness.tick(stored.key, new Date(Date.UTC(2026, 10, 21, 2, 0, i * 5))));
      await requests.snapshot(`race-${i}`, SELECT_DB);
    }
    for (const runId of runs) await harness.waitForRun(runId);
    for (let i = 0; i < 4; i++) await requests.waitForRequest(`race-${i}`);
    expect(driver.stats().maxConcurrentOpsPerVolume).toBe(1);
    for (const name of ['db-0', 'db-1', 'db-2']) {
      const snapshots = await driver.listSnapshots({ namespace: 'default', name });
      expect(snapshots.length).toBeLessThanOrEqual(4);
      // On-demand snapshots are never rotated away by the policy.
      const onDemand = snapshots.filter((s) => s.labels['snapwarden.io/on-demand']);
      expect(onDemand.length).toBeGreaterThanOrEqual(1);
    }
    const failures = await harness.deps.audit.query({ type: 'snapshot.failed', limit: 100 });
    expect(
      failures.items.filter(
        (e) => /cap/i.test(e.error ?? '') && !/limit reached/.test(e.error ?? ''),
      ),
    ).toEqual([]);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
