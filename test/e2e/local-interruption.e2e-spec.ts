import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'interruption-test-token-0123456789';

interface Event {
  type: string;
  snapshot?: string;
  message?: string;
}

describe('local mode: a snapshot cut short by a crash', () => {
  let dir: string;
  let redis: TestRedis;
  const apps: AppProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-interruption-'));
    await mkdir(join(dir, 'policies'));
    redis = await startTestRedis();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.kill()));
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('is rebuilt after the restart, and its ready event says it was interrupted', async () => {
    const dataDir = join(dir, 'data');
    // Random data, large enough that compressing it takes far longer than one poll of the
    // manifest below (100 ms), so the kill lands while the archive is built.
    await makeVolume(dataDir, 'big', { suite: 'interruption' }, 64 * 1024 * 1024);
    const env = {
      REDIS_URL: redis.url,
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
      SNAPWARDEN_JOB_LOCK_MS: '2000',
    };
    const first = await startApp(env);
    apps.push(first);
    const response = await fetch(`${first.url}/api/v1/snapshot-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        metadata: { name: 'now', namespace: 'default' },
        spec: { claimNames: ['big'], reason: 'before an upgrade' },
      }),
    });
    expect(response.status).toBe(201);
    const manifest = join(dataDir, 'snapshots', 'default', 'now-big.json');
    await eventually(
      async () => {
        const text = await readFile(manifest, 'utf8').catch(() => undefined);
        return text && (JSON.parse(text) as { state: string }).state === 'Creating'
          ? true
          : undefined;
      },
      20_000,
      'the snapshot to be building',
    );
    await first.kill();

    const second = await startApp(env);
    apps.push(second);
    const ready = await eventually(
      async () => {
        const events = await getJson<{ items: Event[] }>(
          second,
          '/api/v1/events?kind=snapshot.ready&limit=10',
        );
        return events.items.find((e) => e.snapshot === 'now-big');
      },
      60_000,
      'the rebuilt snapshot to be ready',
    );
    expect(ready.message).toMatch(
      /^build interrupted at \S+ and redone: the data is the volume as of \S+$/,
    );
  }, 120_000);
});
