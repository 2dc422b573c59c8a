import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PendingHooks } from '#lib/engine';
import { InvalidRequestError, MemoryDriver } from '#lib/storage';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';

/** A host hook that appends `<label> <volume> <snapshot>` to the suite's log, then exits `code`. */
function logHook(log: string, label: string, extra: Record<string, unknown> = {}, code = 0) {
  return {
    name: label,
    command: [
      'sh',
      '-c',
      `echo "${label} $SNAPWARDEN_VOLUME_NAME $SNAPWARDEN_SNAPSHOT_NAME" >> ${log}; echo ${label} says hi; exit ${code}`,
    ],
    ...extra,
  };
}

describe('hooks on scheduled runs (engine, real redis, host commands)', () => {
  let redis: TestRedis;
  let harness: EngineHarness;
  let driver: MemoryDriver;
  let dir: string;
  let log: string;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-hooks-int-'));
    log = join(dir, 'log');
    driver = new MemoryDriver({});
    driver.addVolume({ name: 'db-0', labels: { tier: 'db' }, sizeBytes: 1024 });
    harness = createEngineHarness({
      redisUrl: redis.url,
      driver,
      timings: { busyRetryMs: 5, readyWaitMs: 200, readyRecheckMs: 20 },
    });
    harness.startWorkers(1);
  });

  afterEach(async () => {
    await harness.close();
    await driver.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function runWith(hooks: Record<string, unknown>, second = 0) {
    const stored = await harness.addPolicy({
      apiVersion: 'snapwarden.io/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'hooked', namespace: 'default' },
      spec: {
        schedule: '*/5 * * * * *',
        claimNames: ['db-0'],
        retention: { keepLast: 3 },
        hooks,
      },
    });
    const run = await harness.waitForRun(
      await harness.tick(stored.key, new Date(Date.UTC(2026, 10, 21, 2, 0, second))),
    );
    return { run, volume: run.volumes[0] };
  }

  async function lines(): Promise<string[]> {
    const text = await readFile(log, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean);
  }

  it('pre, snapshot, post: the hooks see the volume and the snapshot name', async () => {
    const { volume } = await runWith({ pre: [logHook(log, 'pre')], post: [logHook(log, 'post')] });
    expect(volume?.state).toBe('succeeded');
    expect(await lines()).toEqual([
      `pre db-0 ${volume?.snapshot ?? ''}`,
      `post db-0 ${volume?.snapshot ?? ''}`,
    ]);
    expect(driver.stats().creates).toBe(1);
    const started = await harness.deps.audit.query({ type: 'hook.started', limit: 10 });
    expect(started.items.map((e) => e.attributes?.phase).reverse()).toEqual(['pre', 'post']);
  });

  it('a pre hook failing with Fail: no snapshot, the volume fails with its output, post still runs', async () => {
    const { run, volume } = await runWith({
      pre: [logHook(log, 'pre', {}, 3), logHook(log, 'never')],
      post: [logHook(log, 'post')],
    });
    expect(run.state).toBe('failed');
    expect(volume?.error).toBe('pre hook "pre" failed in host: exit code 3: pre says hi');
    expect(driver.stats().creates).toBe(0);
    expect((await lines()).map((l) => l.split(' ')[0])).toEqual(['pre', 'post']);
  });

  it('a pre hook failing with Continue: the snapshot is taken, the failure recorded', async () => {
    const { volume } = await runWith({ pre: [logHook(log, 'pre', { onError: 'Continue' }, 1)] });
    expect(volume?.state).toBe('succeeded');
    const failed = await harness.deps.audit.query({ type: 'hook.failed' });
    expect(failed.items[0]?.attributes).toMatchObject({
      exitCode: 1,
      phase: 'pre',
      onError: 'Continue',
    });
  });

  it('a failing snapshot creation still runs the post hooks', async () => {
    driver.injectFailure('create', new InvalidRequestError('provider says no', 'snapshot'), 1);
    const { volume } = await runWith({ pre: [logHook(log, 'pre')], post: [logHook(log, 'post')] });
    expect(volume?.state).toBe('failed');
    expect((await lines()).map((l) => l.split(' ')[0])).toEqual(['pre', 'post']);
  });

  it('a post hook failing with Fail fails the volume and keeps the snapshot', async () => {
    const { volume } = await runWith({ post: [logHook(log, 'thaw', {}, 2)] });
    expect(volume?.state).toBe('failed');
    expect(volume?.error).toContain('post hook "thaw" failed in host: exit code 2');
    expect(driver.stats().creates).toBe(1);
    const created = await harness.deps.audit.query({ type: 'snapshot.created' });
    expect(created.items).toHaveLength(1);
  });

  it('post hooks owed by a killed worker run first, before the next operation of the volume', async () => {
    await new PendingHooks(harness.redis, harness.prefix).set(
      { namespace: 'default', name: 'db-0' },
      {
        snapshotName: 'hooked-earlier',
        post: [{ ...logHook(log, 'owed'), timeoutSeconds: 30, onError: 'Fail' }],
        trigger: 'schedule',
        policy: 'default/hooked',
        at: new Date().toISOString(),
      },
    );
    const { volume } = await runWith(
      { pre: [logHook(log, 'pre')], post: [logHook(log, 'post')] },
      5,
    );
    expect(volume?.state).toBe('succeeded');
    expect(
      (await lines()).map((l) =>
        l
          .split(' ')
          .slice(0, 1)
          .concat(l.split(' ')[2] ?? ''),
      ),
    ).toEqual([
      ['owed', 'hooked-earlier'],
      ['pre', volume?.snapshot],
      ['post', volume?.snapshot],
    ]);
    const recovered = await harness.deps.audit.query({ type: 'hook.succeeded', limit: 10 });
    expect(recovered.items.some((e) => e.attributes?.recovered === true)).toBe(true);
    expect(
      await new PendingHooks(harness.redis, harness.prefix).get({
        namespace: 'default',
        name: 'db-0',
      }),
    ).toBeUndefined();
  });
});
