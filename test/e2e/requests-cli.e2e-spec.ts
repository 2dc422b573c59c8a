import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { getJson, startApp, type AppProcess } from '../support/app-process.js';
import { runCli } from '../support/cli-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume, readTree } from '../support/volumes.js';

const TOKEN = 'e2e-token-0123456789abcdef';
const PREFIX = 'sw-e2e-req';
const RELEASE = 'app.kubernetes.io/instance=shop';

interface RequestStatus {
  phase: string;
  message?: string;
  timedOut?: boolean;
  snapshots: { claim: string; snapshotName?: string; readyToUse: boolean }[];
}
interface RestoreStatus {
  phase: string;
  message?: string;
  field?: string;
  claimName?: string;
}

describe('snapshot requests, restores and the CLI against the running app (local mode)', () => {
  let dir: string;
  let dataDir: string;
  let redis: TestRedis;
  let app: AppProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-req-'));
    dataDir = join(dir, 'data');
    await mkdir(join(dir, 'policies'), { recursive: true });
    for (const name of ['shop-db', 'shop-files']) {
      await makeVolume(dataDir, name, { 'app.kubernetes.io/instance': 'shop' });
    }
    redis = await startTestRedis();
    app = await startApp({
      REDIS_URL: redis.url,
      SNAPWARDEN_QUEUE_PREFIX: PREFIX,
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
    });
    env = { SNAPWARDEN_SERVER: app.url, SNAPWARDEN_API_TOKEN: TOKEN };
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(path: string, body: unknown, token: string | null = TOKEN) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${app.url}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function notFound(path: string) {
    return (await fetch(`${app.url}${path}`)).status === 404;
  }

  it('refuses writes without the token or with a wrong one, writing nothing', async () => {
    const body = { metadata: { name: 'unauth' }, spec: { claimNames: ['shop-db'] } };
    const without = await post('/api/v1/snapshot-requests', body, null);
    const wrong = await post('/api/v1/snapshot-requests', body, 'not-the-token-at-all');
    expect(without.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await notFound('/api/v1/snapshot-requests/default/unauth')).toBe(true);
    const restore = await post(
      '/api/v1/restores',
      { spec: { snapshotName: 'x', mode: 'Rollback' } },
      'nope',
    );
    expect(restore.status).toBe(401);
  });

  it('answers bad input with 400 naming the field and writes nothing; a taken name is 409', async () => {
    const bad = await post('/api/v1/snapshot-requests', {
      metadata: { name: 'bad-ttl' },
      spec: { claimNames: ['shop-db'], ttl: 'soon' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('spec.ttl');
    expect(await notFound('/api/v1/snapshot-requests/default/bad-ttl')).toBe(true);
    const noSelection = await post('/api/v1/snapshot-requests', { spec: { reason: 'x' } });
    expect(noSelection).toMatchObject({ status: 400, body: { field: 'spec.selector' } });
    const first = await post('/api/v1/snapshot-requests', {
      metadata: { name: 'taken' },
      spec: { claimNames: ['shop-db'] },
    });
    expect(first.status).toBe(201);
    const again = await post('/api/v1/snapshot-requests', {
      metadata: { name: 'taken' },
      spec: { claimNames: ['shop-files'] },
    });
    expect(again).toMatchObject({ status: 409, body: { field: 'metadata.name' } });
  });

  it('snapshot --wait succeeds with one progress line per claim and exit code 0', async () => {
    const result = await runCli(
      [
        'snapshot',
        '-n',
        'default',
        '-l',
        RELEASE,
        '--reason',
        'pre-upgrade shop 2.4',
        '--name',
        'pre-upgrade',
        '--wait',
        '--timeout',
        '30s',
      ],
      env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('shop-db: ready (pre-upgrade-shop-db)');
    expect(result.stdout).toContain('shop-files: ready (pre-upgrade-shop-files)');
    expect(result.stdout.match(/shop-db: ready/g)).toHaveLength(1);
    const status = await getJson<RequestStatus>(
      app,
      '/api/v1/snapshot-requests/default/pre-upgrade',
    );
    expect(status.phase).toBe('Succeeded');
  });

  it('snapshot --wait exits 1 naming the claim that failed', async () => {
    const result = await runCli(
      [
        'snapshot',
        '-n',
        'default',
        '--claim',
        'shop-db',
        '--claim',
        'no-such-claim',
        '--wait',
        '--output',
        'json',
      ],
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/failed \(claims: no-such-claim\)/);
    expect(result.stderr).toMatch(/no-such-claim \(volume not found\)/);
    const status = JSON.parse(result.stdout) as RequestStatus;
    expect(status.phase).toBe('Failed');
  });

  it('snapshot --wait exits 3 when the request times out (another operation holds the volume)', async () => {
    // Another operation (e.g. a long scheduled snapshot) holds the volume's lease.
    const client = new Redis(redis.url);
    const lock = `${PREFIX}:lock:volume:default/shop-files`;
    await client.set(lock, 'someone-else', 'PX', 20_000);
    try {
      const result = await runCli(
        [
          'snapshot',
          '-n',
          'default',
          '--claim',
          'shop-files',
          '--name',
          'slow',
          '--wait',
          '--timeout',
          '1s',
        ],
        env,
      );
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/timed out after 1s; not ready: shop-files/);
    } finally {
      await client.del(lock);
      client.disconnect();
    }
  });

  it('bad flags and bad input exit 2 naming the problem', async () => {
    const unknown = await runCli(['snapshot', '-n', 'default', '--bogus'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    const both = await runCli(['snapshot', '-n', 'default'], env);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/-l\/--selector and --claim/);
    const selector = await runCli(['snapshot', '-n', 'default', '-l', 'app in (', '--wait'], env);
    expect(selector.code).toBe(2);
    expect(selector.stderr).toMatch(/-l\/--selector/);
    const ttl = await runCli(
      ['snapshot', '-n', 'default', '--claim', 'shop-db', '--ttl', 'soon'],
      env,
    );
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/spec\.ttl/);
    const timeout = await runCli(
      ['snapshot', '-n', 'default', '--claim', 'a', '--timeout', 'x'],
      env,
    );
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/--timeout/);
    const noToken = await runCli(['snapshot', '-n', 'default', '--claim', 'shop-db'], {
      SNAPWARDEN_SERVER: app.url,
    });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/401/);
  });

  it('names each broken restore rule in turn', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['r-size', { claimName: 'restored-a', size: '1' }, 'spec.target.size'],
      [
        'r-class',
        { claimName: 'restored-b', storageClassName: 'fast' },
        'spec.target.storageClassName',
      ],
      [
        'r-modes',
        { claimName: 'restored-c', accessModes: ['ReadWriteMany'] },
        'spec.target.accessModes',
      ],
      ['r-exists', { claimName: 'shop-files' }, 'spec.target.claimName'],
    ];
    for (const [name, target, field] of cases) {
      const created = await post('/api/v1/restores', {
        metadata: { name },
        spec: { snapshotName: 'pre-upgrade-shop-db', target },
      });
      expect(created.status).toBe(201);
      const final = await settle<RestoreStatus>(`/api/v1/restores/default/${name}`);
      expect(final).toMatchObject({ phase: 'Failed', field });
    }
    const missing = await post('/api/v1/restores', {
      metadata: { name: 'r-missing' },
      spec: { snapshotName: 'no-such-snapshot', target: { claimName: 'restored-d' } },
    });
    expect(missing.status).toBe(201);
    expect(await settle<RestoreStatus>('/api/v1/restores/default/r-missing')).toMatchObject({
      phase: 'Failed',
      field: 'spec.snapshotName',
    });
    const rollbackWithTarget = await post('/api/v1/restores', {
      spec: { snapshotName: 'pre-upgrade-shop-db', mode: 'Rollback', target: { claimName: 'x' } },
    });
    expect(rollbackWithTarget).toMatchObject({ status: 400, body: { field: 'spec.target' } });
  });

  it('restores into a new volume and rolls back to byte-identical data', async () => {
    const source = join(dataDir, 'volumes', 'shop-db');
    const before = await readTree(source);
    const toNew = await runCli(
      ['restore', 'pre-upgrade-shop-db', '-n', 'default', '--to', 'shop-db-copy', '--wait'],
      env,
    );
    expect(toNew.code).toBe(0);
    expect(await readTree(join(dataDir, 'volumes', 'shop-db-copy'))).toEqual(before);

    await writeFile(join(source, 'big.bin'), 'overwritten');
    await writeFile(join(source, 'new-file'), 'added after the snapshot');
    const rollback = await runCli(
      [
        'restore',
        'pre-upgrade-shop-db',
        '-n',
        'default',
        '--rollback',
        '--wait',
        '--output',
        'json',
      ],
      env,
    );
    expect(rollback.code).toBe(0);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ phase: 'Succeeded', claimName: 'shop-db' });
    expect(await readTree(source)).toEqual(before);
    const bad = await runCli(['restore', 'pre-upgrade-shop-db', '-n', 'default'], env);
    expect(bad.code).toBe(2);
  });

  it('lists runs and policies, and previews a policy file offline or against the server', async () => {
    const runs = await runCli(['runs', '--kind', 'on-demand', '--output', 'json'], env);
    expect(runs.code).toBe(0);
    const ids = (JSON.parse(runs.stdout) as { items: { id: string }[] }).items.map((r) => r.id);
    expect(ids).toContain('req_default.pre-upgrade');
    const policies = await runCli(['policies'], env);
    expect(policies.code).toBe(0);
    expect(policies.stdout).toMatch(/^POLICY\s+SCHEDULE/);

    const file = join(dir, 'preview.yaml');
    await writeFile(
      file,
      [
        'apiVersion: snapwarden.io/v1alpha1',
        'kind: BackupPolicy',
        'metadata: { name: nightly }',
        'spec:',
        "  schedule: '0 2 * * *'",
        '  timeZone: Europe/Berlin',
        '  selector: { matchLabels: { app.kubernetes.io/instance: shop } }',
        '  retention: { keepDaily: 3, keepWeekly: 2 }',
        '',
      ].join('\n'),
    );
    const offline = await runCli(['preview', '-f', file, '--output', 'json']);
    expect(offline.code).toBe(0);
    const [preview] = JSON.parse(offline.stdout) as {
      nextRuns: string[];
      projected: { retained: number; peak: number };
      volumes: unknown[];
    }[];
    expect(preview?.nextRuns).toHaveLength(5);
    expect(preview?.nextRuns[0]).toMatch(/T02:00:00\.000\+0[12]:00$/);
    expect(preview?.projected).toMatchObject({ retained: 5, peak: 6 });
    expect(preview?.volumes).toEqual([]);
    const online = await runCli(['preview', '-f', file], env);
    expect(online.code).toBe(0);
    expect(online.stdout).toMatch(/volume shop-db: \d+ now/);
    const invalid = await runCli(['preview', '-f', join(dir, 'missing.yaml')]);
    expect(invalid.code).toBe(2);
  });

  async function settle<T extends { phase: string }>(path: string): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await getJson<T>(app, path);
      if (value.phase === 'Succeeded' || value.phase === 'Failed') return value;
      if (Date.now() > deadline) throw new Error(`${path} not final: ${JSON.stringify(value)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
