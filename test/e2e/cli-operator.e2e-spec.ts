import { appendFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { startApp, type AppProcess } from '../support/app-process.js';
import { runCli } from '../support/cli-process.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'cli-operator-token-0123456789';
const PREFIX = 'sw-e2e-cli';

const policy = (name: string, schedule: string, selector: string, retention: string) =>
  [
    'apiVersion: snapwarden.io/v1alpha1',
    'kind: BackupPolicy',
    `metadata: { name: ${name} }`,
    'spec:',
    `  schedule: '${schedule}'`,
    '  timeZone: Europe/Berlin',
    `  selector: { matchLabels: { ${selector} } }`,
    `  retention: { ${retention} }`,
    '',
  ].join('\n');

// Records every module URL the CLI resolves whose path mentions the Kubernetes client.
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (result.url.includes('@kubernetes/client-node')) appendFileSync(process.env.LOADED_LOG, result.url + '\\n');
  return result;
}
`;

describe('the CLI for operators: listings, preview verdicts, start-up, --wait across a restart', () => {
  let dir: string;
  let redis: TestRedis;
  let app: AppProcess;
  let appEnv: Record<string, string>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-cli-'));
    await mkdir(join(dir, 'policies'));
    await makeVolume(join(dir, 'data'), 'shop-db', { app: 'shop' }, 2048);
    await makeVolume(join(dir, 'data'), 'loose', { app: 'none' }, 1024);
    await writeFile(
      join(dir, 'policies', 'nightly.yaml'),
      policy('nightly', '0 2 * * *', 'app: shop', 'keepLast: 2'),
    );
    await writeFile(
      join(dir, 'policies', 'broken.yaml'),
      policy('broken', 'every night', 'app: shop', 'keepLast: 2'),
    );
    redis = await startTestRedis();
    appEnv = {
      REDIS_URL: redis.url,
      SNAPWARDEN_QUEUE_PREFIX: PREFIX,
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
      SNAPWARDEN_RESYNC_INTERVAL: '1s',
      LOG_LEVEL: 'debug',
    };
    app = await startApp(appEnv);
    env = { SNAPWARDEN_SERVER: app.url, SNAPWARDEN_API_TOKEN: TOKEN };
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists invalid policy files under the policies, naming file, field, message and since', async () => {
    const result = await runCli(['policies'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^POLICY\s+SCHEDULE\s+TIME ZONE\s+SUSPEND\s+NEXT\s+LAST/);
    expect(result.stdout).toMatch(/default\/nightly\s+0 2 \* \* \*\s+Europe\/Berlin/);
    expect(result.stdout).toContain('INVALID POLICY FILES (1, not in force):');
    expect(result.stdout).toMatch(
      /broken\.yaml\s+spec\.schedule\s+schedule "every night".*\s\d{4}-\d\d-\d\dT/,
    );
    const yaml = parse((await runCli(['get', 'policies', '-o', 'yaml'], env)).stdout) as {
      problems: { source: string; since: string }[];
    };
    expect(yaml.problems.map((p) => p.source)).toEqual([expect.stringContaining('broken.yaml')]);
  });

  it('gets volumes and snapshots kubectl-style, runs --since, and -o yaml', async () => {
    const snap = await runCli(
      [
        'snapshot',
        '-n',
        'default',
        '--claim',
        'shop-db',
        '--reason',
        'before upgrade',
        '--wait',
        '--timeout',
        '60s',
      ],
      env,
    );
    expect(snap.code).toBe(0);
    const volumes = await runCli(['get', 'volumes'], env);
    expect(volumes.code).toBe(0);
    expect(volumes.stdout).toMatch(/^NAMESPACE\s+NAME\s+SNAPSHOTS\s+CAP\s+LAST READY\s+POLICIES/);
    expect(volumes.stdout).toMatch(/default\s+shop-db\s+1\s+7\s+\S+\s+default\/nightly/);
    expect(volumes.stdout).toMatch(/default\s+loose\s+0\s+7\s+-\s+<none: unprotected>/);
    const snapshots = await runCli(['get', 'snapshots', '-n', 'default'], env);
    expect(snapshots.stdout).toMatch(
      /^NAMESPACE\s+NAME\s+VOLUME\s+STATE\s+SIZE\s+ORIGIN\s+CREATED\s+EXPIRES/,
    );
    expect(snapshots.stdout).toMatch(
      /default\s+\S+\s+shop-db\s+Ready\s+\d+(\.\d)?Ki\s+request\/snapreq-/,
    );
    const yaml = parse((await runCli(['get', 'snapshots', '-o', 'yaml'], env)).stdout) as {
      items: { volumeName: string; origin: { kind: string; reason?: string } }[];
    };
    expect(yaml.items).toEqual([
      expect.objectContaining({
        volumeName: 'shop-db',
        origin: expect.objectContaining({ kind: 'on-demand', reason: 'before upgrade' }),
      }),
    ]);
    const recent = JSON.parse(
      (await runCli(['get', 'runs', '--since', '1h', '-o', 'json'], env)).stdout,
    ) as { items: { kind: string }[] };
    expect(recent.items.map((r) => r.kind)).toContain('on-demand');
    const future = JSON.parse(
      (await runCli(['runs', '--since', '2999-01-01T00:00:00Z', '-o', 'json'], env)).stdout,
    ) as { items: unknown[] };
    expect(future.items).toEqual([]);
    const bad = await runCli(['runs', '--since', 'yesterday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since.*duration/);
    const unknown = await runCli(['get', 'pods'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown resource "pods"');
  });

  it('preview exits 2 naming the field for an invalid or non-fitting policy, and says what matched on --server', async () => {
    const big = join(dir, 'big.yaml');
    await writeFile(big, policy('big', '@daily', 'app: shop', 'keepLast: 10'));
    const offline = await runCli(['preview', '-f', big]);
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain('unknown offline (give --server to list them)');
    const online = await runCli(['preview', '-f', big], env);
    expect(online.code).toBe(2);
    expect(online.stdout).toMatch(/volume shop-db: .* does NOT fit the cap of 7/);
    expect(online.stderr).toMatch(
      /spec\.retention: policy default\/big needs 11 snapshots .* cap of shop-db \(cap 7\)/,
    );

    const none = join(dir, 'none.yaml');
    await writeFile(none, policy('none', '@daily', 'app: nothing-here', 'keepLast: 2'));
    const empty = await runCli(['preview', '-f', none], env);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain(`matched volumes: none on ${app.url}`);
    expect(empty.stdout).not.toContain('give --server');

    const invalid = join(dir, 'invalid.yaml');
    await writeFile(invalid, policy('invalid', '0 2 * * *', 'app: shop', 'keepLast: -1'));
    const rejected = await runCli(['preview', '-f', invalid]);
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toMatch(/spec\.retention\.keepLast/);
  });

  it('loads the Kubernetes client only for --kube', async () => {
    const hooks = join(dir, 'hooks.mjs');
    const register = join(dir, 'register.mjs');
    const log = join(dir, 'loaded.log');
    await writeFile(hooks, HOOKS);
    await writeFile(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const traced = { NODE_OPTIONS: `--import ${pathToFileURL(register).href}`, LOADED_LOG: log };
    appendFileSync(log, '');
    for (const args of [['--help'], ['runs', '--help'], ['get', 'policies']]) {
      const result = await runCli(args, { ...env, ...traced });
      expect(result.code).toBe(0);
    }
    expect(await readFile(log, 'utf8')).toBe('');
    // The trace sees the client when --kube needs it (the kubeconfig does not exist: exit 2).
    const kube = await runCli(
      [
        'snapshot',
        '-n',
        'default',
        '--claim',
        'x',
        '--kube',
        '--kubeconfig',
        join(dir, 'missing-kubeconfig'),
      ],
      traced,
    );
    expect(kube.code).toBe(2);
    expect(await readFile(log, 'utf8')).toContain('@kubernetes/client-node');
  });

  it('logs a failed run at warn with volume and error, routes at debug, an invalid policy once', async () => {
    const failed = await runCli(
      ['snapshot', '-n', 'default', '--claim', 'no-such-claim', '--wait', '--timeout', '30s'],
      env,
    );
    expect(failed.code).toBe(1);
    const lines = () =>
      app
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });
    // Several resync passes (one a second), each finding the same invalid file.
    for (let i = 0; lines().filter((l) => l.msg === 'policies reconciled').length < 3; i++) {
      if (i > 300) throw new Error('fewer than 3 reconcile passes');
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = lines();
    const warn = all.find((l) => l.level === 40 && l.volume === 'no-such-claim');
    expect(warn).toMatchObject({ kind: 'on-demand', state: 'failed', err: 'volume not found' });
    const routes = all.filter((l) => l.msg.startsWith('Mapped {'));
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.every((l) => l.level === 20)).toBe(true);
    const invalid = all.filter(
      (l) => l.msg.startsWith('invalid policy') && l.msg.includes('broken.yaml'),
    );
    expect(invalid).toHaveLength(1);
  });

  it('snapshot --wait rides out a server restart and exits 0', async () => {
    const client = new Redis(redis.url);
    const lock = `${PREFIX}:lock:volume:default/shop-db`;
    // Another operation holds the volume: the request stays pending across the restart.
    await client.set(lock, 'someone-else', 'PX', 60_000);
    try {
      const waiting = runCli(
        [
          'snapshot',
          '-n',
          'default',
          '--claim',
          'shop-db',
          '--name',
          'across-restart',
          '--wait',
          '--timeout',
          '90s',
        ],
        env,
      );
      const request = `${app.url}/api/v1/snapshot-requests/default/across-restart`;
      for (let i = 0; (await fetch(request)).status !== 200; i++) {
        if (i > 200) throw new Error('the request was never created');
        await new Promise((r) => setTimeout(r, 100));
      }
      await app.stop();
      app = await startApp({ ...appEnv, PORT: String(app.port) });
      await client.del(lock);
      const result = await waiting;
      expect(result.stderr).toMatch(/cannot reach .*retrying until the deadline/);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/across-restart succeeded/);
    } finally {
      await client.del(lock);
      client.disconnect();
    }
  }, 120_000);
});
