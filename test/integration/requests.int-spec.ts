import { OnDemandSnapshotService, RequestStore } from '#lib/engine';
import { parseRestoreRequestSpec, parseSnapshotRequestSpec } from '#lib/policy';
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

  /** A restore of a new snapshot of db-0 into `claim`, stored but not queued. */
  async function createRestore(name: string, snapshot: string, claim: string): Promise<void> {
    driver.addSnapshot({ name: snapshot, volumeName: 'db-0', labels: {} });
    const spec = parseRestoreRequestSpec({ snapshotName: snapshot, target: { claimName: claim } });
    if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
    const input = { namespace: 'default', name, spec: spec.value, trigger: 'test' };
    expect(await requests.restores.create(input)).toBe(true);
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

  it('settles a request whose worker closed its run and died: a redelivered claim or the deadline settles it once', async () => {
    setup();
    const service = requests.requests;
    let redelivered: Awaited<ReturnType<typeof service.start>> = [];
    for (const name of ['redelivered', 'deadline']) {
      const spec = parseSnapshotRequestSpec({ claimNames: ['db-0', 'db-1'] });
      if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
      await service.create({ namespace: 'default', name, spec: spec.value, trigger: 'test' });
      const jobs = await service.start(`default/${name}`);
      expect(jobs).toHaveLength(2);
      if (name === 'redelivered') redelivered = jobs;
      // The dead worker landed both claims' results (closing the run), then died before
      // settling the request.
      for (const job of jobs) {
        const result = { volume: job.data.volume.name, state: 'succeeded' as const };
        await harness.deps.runs.applyVolumeResult(job.data.runId, result);
      }
      expect((await service.status(`default/${name}`))?.phase).toBe('Running');
    }
    // A claim's job is delivered again (twice); the other request reaches its deadline.
    const onDemand = new OnDemandSnapshotService(harness.deps, service);
    const [job] = redelivered;
    for (const attempt of ['2', '3']) {
      expect(await onDemand.run(job!.data, job!.id, attempt)).toEqual({
        kind: 'done',
        outcome: 'succeeded',
      });
    }
    await service.timeout('default/deadline');
    for (const name of ['redelivered', 'deadline']) {
      const status = await service.status(`default/${name}`);
      expect(status).toMatchObject({ phase: 'Succeeded', message: '2 snapshot(s) ready' });
      expect(status?.timedOut).toBeUndefined();
      const ends = await harness.deps.audit.query({
        type: ['request.succeeded', 'request.failed'],
        runId: status?.runId,
      });
      expect(ends.items.map((e) => e.type)).toEqual(['request.succeeded']);
    }
  });

  it('writes request.started with the request’s run: a start retried after its worker died writes it once and still marks the request Running', async () => {
    setup();
    const service = requests.requests;
    const spec = parseSnapshotRequestSpec({ claimNames: ['db-0'] });
    if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
    await service.create({
      namespace: 'default',
      name: 'twice',
      spec: spec.value,
      trigger: 'test',
    });
    const [first] = await service.start('default/twice');
    const runId = first!.data.runId;
    const startedEvents = async () =>
      (await harness.deps.audit.query({ type: 'request.started', runId })).items;
    expect(await startedEvents()).toHaveLength(1);
    // As if the worker died after creating the run, before the request said Running.
    await harness.redis.hset(
      `${harness.prefix}:request:snapshot:default/twice`,
      'phase',
      'Pending',
    );
    const again = await service.start('default/twice');
    expect(again.map((j) => j.id)).toEqual([first!.id]);
    expect((await service.status('default/twice'))?.phase).toBe('Running');
    expect(await startedEvents()).toHaveLength(1);
  });

  it('closes the run of a restore whose worker ended it and died before the run heard of it', async () => {
    setup();
    await createRestore('back', 'snap-1', 'db-new');
    // The dead worker's last step: the restore final with its event, its run not told.
    const store = new RequestStore(harness.redis, harness.prefix);
    const event = { type: 'restore.succeeded' as const, outcome: 'succeeded' as const };
    const batch = harness.deps.audit.batch([{ ...event, trigger: 'test', runId: 'x' }]);
    const patch = { phase: 'Succeeded' as const, message: 'restored into db-new' };
    expect(await store.update('restore', 'default/back', patch, batch)).toBe(true);
    // Applied once: a second update of a final request writes neither the hash nor the event.
    expect(await store.update('restore', 'default/back', { ...patch, message: 'x' }, batch)).toBe(
      false,
    );
    expect((await harness.deps.audit.query({ type: 'restore.succeeded' })).items).toHaveLength(1);
    // The redelivered job finds the restore final and closes its run, once.
    for (let i = 0; i < 2; i++) {
      const step = await requests.restores.run({ restoreKey: 'default/back' }, `retry-${i}`);
      expect(step).toEqual({ kind: 'done', phase: 'Succeeded' });
    }
    const runs = await harness.deps.runs.list({ kind: 'restore' });
    expect(runs.items.map((r) => [r.state, r.volumes[0]?.reason])).toEqual([
      ['succeeded', 'restored into db-new'],
    ]);
    const finished = await harness.deps.audit.query({ type: 'run.finished' });
    expect(finished.items.map((e) => e.runId)).toEqual([runs.items[0]?.id]);
  });

  it('fails a restore whose claim never binds once the ready timeout has passed since it started, re-checks and all', async () => {
    setup();
    harness.deps.timings.readyTimeoutMs = 400;
    await createRestore('slow', 'snap-2', 'db-slow');
    // An earlier attempt created the claim, which stays Pending (its provisioner is stuck).
    const store = new RequestStore(harness.redis, harness.prefix);
    await store.update('restore', 'default/slow', { phase: 'Pending', claimName: 'db-slow' });
    driver.addVolume({ name: 'db-slow', phase: 'Pending' });
    const deadline = Date.now() + 20_000;
    let step = await requests.restores.run({ restoreKey: 'default/slow' }, 'job-1');
    while (step.kind === 'wait' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, step.kind === 'wait' ? step.delayMs : 0));
      step = await requests.restores.run({ restoreKey: 'default/slow' }, 'job-1');
    }
    expect(step).toEqual({ kind: 'done', phase: 'Failed' });
    const status = await requests.restores.status('default/slow');
    expect(status?.message).toMatch(/restored claim db-slow not Bound after/);
    // One restore.started however many times the job re-checked.
    const started = await harness.deps.audit.query({ type: 'restore.started' });
    expect(started.items).toHaveLength(1);
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
