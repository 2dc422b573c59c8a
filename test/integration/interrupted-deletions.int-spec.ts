import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanupService, INTERRUPTED_DELETION } from '#lib/engine';
import { LocalDriver } from '#lib/storage';
import { createEngineHarness, type EngineHarness } from '../support/engine-harness.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

function policy(keepLast: number) {
  return {
    apiVersion: 'snapwarden.io/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'nightly', namespace: 'default' },
    spec: {
      schedule: '0 2 * * *',
      selector: { matchLabels: { tier: 'db' } },
      retention: { keepLast },
    },
  };
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * A deletion killed between marking its snapshot Terminating and removing it leaves a
 * half-deleted snapshot (its archive may be gone). On the local driver, which deletes inline,
 * the next operation on that volume, or the next cleanup pass, finishes it with its event.
 */
describe('deletions cut short by a crash', () => {
  let redis: TestRedis;
  let dataDir: string;
  let driver: LocalDriver;
  let harness: EngineHarness;

  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'snapwarden-interrupted-'));
    await makeVolume(dataDir, 'db-0', { tier: 'db' }, 4096);
    driver = new LocalDriver({ dataDir, pollIntervalMs: 10 });
    harness = createEngineHarness({ redisUrl: redis.url, driver });
    harness.startWorkers(1, 2);
  });
  afterEach(async () => {
    await harness.close();
    await driver.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const manifest = (name: string) => join(dataDir, 'snapshots', 'default', `${name}.json`);

  /** What a deleter killed after its first step leaves: the manifest Terminating, no archive. */
  async function killedMidDelete(name: string): Promise<void> {
    const current = JSON.parse(await readFile(manifest(name), 'utf8')) as Record<string, unknown>;
    await writeFile(manifest(name), JSON.stringify({ ...current, state: 'Terminating' }));
    await rm(join(dataDir, 'snapshots', 'default', `${name}.tar.gz`), { force: true });
  }

  async function deletedEvents(name: string) {
    const page = await harness.deps.audit.query({ snapshot: name, type: 'snapshot.deleted' });
    return page.items;
  }

  it('the next snapshot job of the volume finishes it, before rotation counts it', async () => {
    const stored = await harness.addPolicy(policy(3));
    const first = await harness.waitForRun(
      await harness.tick(stored.key, new Date('2026-11-01T02:00:00Z')),
    );
    const name = first.volumes[0]?.snapshot ?? '';
    expect(first.state).toBe('succeeded');
    await killedMidDelete(name);
    expect((await driver.listSnapshots({ namespace: 'default', name: 'db-0' }))[0]?.state).toBe(
      'Terminating',
    );

    const second = await harness.waitForRun(
      await harness.tick(stored.key, new Date('2026-11-02T02:00:00Z')),
    );
    expect(second.state).toBe('succeeded');
    expect(await exists(manifest(name))).toBe(false);
    const snapshots = await driver.listSnapshots({ namespace: 'default', name: 'db-0' });
    expect(snapshots.map((s) => [s.name, s.state])).toEqual([
      [second.volumes[0]?.snapshot, 'Ready'],
    ]);
    const events = await deletedEvents(name);
    expect(events.map((e) => [e.reason, e.runId])).toEqual([[INTERRUPTED_DELETION, second.id]]);
  });

  it('a cleanup pass finishes it when no job touches the volume, even if labelled to keep', async () => {
    const stored = await harness.addPolicy(policy(3));
    const run = await harness.waitForRun(
      await harness.tick(stored.key, new Date('2026-11-01T02:00:00Z')),
    );
    const name = run.volumes[0]?.snapshot ?? '';
    await killedMidDelete(name);
    const current = JSON.parse(await readFile(manifest(name), 'utf8')) as {
      labels: Record<string, string>;
    };
    current.labels['snapwarden.io/keep'] = 'true';
    await writeFile(manifest(name), JSON.stringify(current));

    const result = await new CleanupService(harness.deps).sweep('test');
    expect(result.deleted).toEqual([
      { namespace: 'default', name, reason: `cleanup: ${INTERRUPTED_DELETION}` },
    ]);
    expect(await exists(manifest(name))).toBe(false);
    expect((await deletedEvents(name)).map((e) => e.reason)).toEqual([
      `cleanup: ${INTERRUPTED_DELETION}`,
    ]);
  });
});
