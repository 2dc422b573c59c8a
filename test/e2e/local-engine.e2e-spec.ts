import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDriver } from '#lib/storage';
import { spawn } from 'node:child_process';
import { eventually, getJson, MAIN, startApp, type AppProcess } from '../support/app-process.js';
import { stopLeftoverEmbeddedRedis } from '#lib/runtime';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume, readTree } from '../support/volumes.js';

interface Page<T> {
  items: T[];
  nextCursor?: string;
}
interface Run {
  id: string;
  state: string;
  volumes: { volume: string; state: string; snapshot?: string }[];
}
interface Event {
  type: string;
  policy?: string;
  volume?: string;
  snapshot?: string;
  runId?: string;
  trigger: string;
  time: string;
  reason?: string;
  durationMs?: number;
  attributes?: Record<string, string | number | boolean>;
}

/** Runs the built app until it exits, for start-up failures. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function policyYaml(name: string, schedule: string, keepLast: number): string {
  return `apiVersion: snapwarden.io/v1alpha1
kind: BackupPolicy
metadata:
  name: ${name}
spec:
  schedule: '${schedule}'
  selector:
    matchLabels:
      suite: e2e
  retention:
    keepLast: ${keepLast}
`;
}

async function allEvents(app: AppProcess, query: string): Promise<Event[]> {
  const events: Event[] = [];
  let cursor: string | undefined;
  do {
    const page = await getJson<Page<Event>>(
      app,
      `/api/v1/events?${query}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    events.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return events;
}

describe('local mode, end to end', () => {
  let dir: string;
  const apps: AppProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-e2e-'));
    await mkdir(join(dir, 'policies'), { recursive: true });
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.kill()));
    await stopLeftoverEmbeddedRedis(join(dir, 'data'));
    await rm(dir, { recursive: true, force: true });
  });

  it('snapshots on schedule, rotates to keepLast, audits every step and restores the same bytes', async () => {
    const dataDir = join(dir, 'data');
    const sources = ['alpha', 'beta'];
    for (const name of sources) await makeVolume(dataDir, name, { suite: 'e2e' });
    await writeFile(join(dir, 'policies', 'e2e.yaml'), policyYaml('e2e', '*/2 * * * * *', 3));
    // No REDIS_URL: the app starts and later stops its own redis-server.
    const app = await startApp({
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });
    apps.push(app);

    await eventually(
      async () => {
        const runs = await getJson<Page<Run>>(
          app,
          '/api/v1/runs?policy=default/e2e&state=succeeded',
        );
        return runs.items.length >= 5 ? runs : undefined;
      },
      40_000,
      'five succeeded runs',
    );
    expect(await app.stop()).toBe(0);
    expect(app.output()).toContain('embedded redis stopped');

    const driver = new LocalDriver({ dataDir });
    for (const name of sources) {
      const snapshots = await driver.listSnapshots({ namespace: 'default', name });
      expect(snapshots).toHaveLength(3);
      expect(snapshots.every((s) => s.readyToUse)).toBe(true);
    }

    // The audit trail survives the restart (AOF) and tells the whole story.
    const again = await startApp({
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies-none'),
      SNAPWARDEN_ROLES: 'api',
    });
    apps.push(again);
    const events = await allEvents(again, 'policy=default/e2e');
    const created = events.filter((e) => e.type === 'snapshot.created');
    const deleted = events.filter((e) => e.type === 'snapshot.deleted');
    const ready = events.filter((e) => e.type === 'snapshot.ready');
    expect(created.length).toBeGreaterThanOrEqual(10);
    expect(deleted.length).toBeGreaterThanOrEqual(4);
    expect(deleted.every((e) => e.reason?.startsWith('retention'))).toBe(true);
    expect(ready.every((e) => typeof e.durationMs === 'number')).toBe(true);
    for (const event of [...created, ...deleted, ...ready]) {
      expect(event).toMatchObject({ policy: 'default/e2e', trigger: 'schedule' });
      expect(sources).toContain(event.volume);
      expect(event.runId).toBeTruthy();
      expect(Date.parse(event.time)).not.toBeNaN();
    }
    expect(events.some((e) => e.type === 'run.started')).toBe(true);
    expect(events.some((e) => e.type === 'run.finished')).toBe(true);

    const volumes = await getJson<{ items: { name: string; snapshots: number; cap: number }[] }>(
      again,
      '/api/v1/volumes',
    );
    expect(volumes.items.find((v) => v.name === 'alpha')).toMatchObject({
      snapshots: 3,
      cap: 7,
      policies: ['default/e2e'],
      lastResult: { kind: 'scheduled', state: 'succeeded' },
    });
    // Bad parameters are refused with the parameter named.
    for (const [query, field] of [
      ['/api/v1/runs?limit=9999', 'limit'],
      ['/api/v1/runs?state=exploded', 'state'],
      ['/api/v1/runs?bogus=1', 'bogus'],
      ['/api/v1/runs?cursor=not-a-cursor', 'cursor'],
      ['/api/v1/events?kind=snapshot.exploded', 'kind'],
      ['/api/v1/events?since=yesterday', 'since'],
    ] as const) {
      const response = await fetch(`${again.url}${query}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { field: string }).field).toBe(field);
    }
    expect((await fetch(`${again.url}/api/v1/runs/no-such-run`)).status).toBe(404);

    // Invariant 7: a restore returns exactly the bytes that were snapshotted.
    const [newest] = (await driver.listSnapshots({ namespace: 'default', name: 'alpha' })).sort(
      (a, b) => b.createdAt.getTime() - a.createdAt.getTime(),
    );
    await driver.restoreToNewVolume({
      snapshot: { namespace: 'default', name: newest!.name },
      target: { namespace: 'default', name: 'alpha-restored' },
    });
    const original = await readTree(join(dataDir, 'volumes', 'alpha'));
    const restored = await readTree(join(dataDir, 'volumes', 'alpha-restored'));
    expect([...restored.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [path, bytes] of original) expect(restored.get(path)?.equals(bytes)).toBe(true);
  }, 90_000);

  it('refuses to start on a bad environment, naming the variable (exit code 2)', async () => {
    const result = await runToExit({
      PATH: process.env.PATH ?? '',
      PORT: 'eighty',
      SNAPWARDEN_ROLES: 'api,janitor',
    });
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/PORT: must be a whole number/);
    expect(result.output).toMatch(/SNAPWARDEN_ROLES: /);
  });

  it('says how to install redis-server when local mode cannot find it', async () => {
    const result = await runToExit({
      PATH: '/nonexistent',
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
    });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/redis-server was not found.*apt-get install -y redis-server/s);
  });

  it('finishes a killed worker’s jobs on another worker with no duplicate snapshot', async () => {
    const redis: TestRedis = await startTestRedis();
    try {
      const dataDir = join(dir, 'data');
      const volumes = ['v1', 'v2', 'v3', 'v4'];
      // Large enough that archiving takes a while, so the kill lands mid-operation.
      for (const name of volumes)
        await makeVolume(dataDir, name, { suite: 'e2e' }, 32 * 1024 * 1024);
      await writeFile(join(dir, 'policies', 'kill.yaml'), policyYaml('kill', '*/3 * * * * *', 5));
      const env = {
        REDIS_URL: redis.url,
        SNAPWARDEN_DATA_DIR: dataDir,
        SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
        SNAPWARDEN_JOB_LOCK_MS: '2000',
        SNAPWARDEN_WORKER_CONCURRENCY: '2',
      };
      const control = await startApp({ ...env, SNAPWARDEN_ROLES: 'scheduler,api' });
      const doomed = await startApp({ ...env, SNAPWARDEN_ROLES: 'worker' });
      const survivor = await startApp({ ...env, SNAPWARDEN_ROLES: 'worker' });
      apps.push(control, doomed, survivor);

      const victim = await eventually(
        async () => {
          const started = await getJson<Page<Event>>(
            control,
            '/api/v1/events?kind=snapshot.started&limit=50',
          );
          // A tick that comes while the previous run still holds a volume skips it
          // (concurrencyPolicy Forbid); the victim is taken from a run that admitted every volume,
          // and only while its volume is still in flight (the doomed worker may have finished it
          // between the event and this check on a loaded machine).
          const latest = started.items.find((e) => e.attributes?.worker === workerIdentity(doomed));
          if (!latest?.runId) return undefined;
          const run = await getJson<Run>(control, `/api/v1/runs/${latest.runId}`);
          const mine = run.volumes.find((v) => v.volume === latest.volume);
          const inFlight = mine !== undefined && ['pending', 'running'].includes(mine.state);
          return inFlight && run.volumes.every((v) => v.state !== 'skipped') ? latest : undefined;
        },
        30_000,
        'the doomed worker to start a snapshot',
      );
      await doomed.kill();

      const run = await eventually(
        async () => {
          const r = await getJson<Run>(control, `/api/v1/runs/${victim.runId}`);
          return r.state === 'running' ? undefined : r;
        },
        30_000,
        'the interrupted run to finish',
      );
      expect(run.state).toBe('succeeded');
      expect(run.volumes.map((v) => v.state)).toEqual(volumes.map(() => 'succeeded'));

      // The survivor, not the dead worker, finished the interrupted snapshot.
      const victimEvents = await allEvents(
        control,
        `runId=${victim.runId}&volume=${victim.volume}`,
      );
      const readyBy = victimEvents.find((e) => e.type === 'snapshot.ready')?.attributes?.worker;
      expect(readyBy).toBe(workerIdentity(survivor));

      // Let a few more ticks run on the survivor alone, then inspect.
      await new Promise((r) => setTimeout(r, 4000));
      await survivor.stop();
      const events = await allEvents(control, 'policy=default/kill');
      await control.stop();
      const createdPerSnapshot = new Map<string, number>();
      for (const e of events.filter((x) => x.type === 'snapshot.created')) {
        createdPerSnapshot.set(e.snapshot!, (createdPerSnapshot.get(e.snapshot!) ?? 0) + 1);
      }
      expect([...createdPerSnapshot.values()].every((n) => n === 1)).toBe(true);
      // One snapshot name per (run, volume): a retried or re-run job never makes a second one.
      const namesPerRunVolume = new Map<string, Set<string>>();
      for (const e of events.filter(
        (x) => x.snapshot && x.type.startsWith('snapshot.') && x.type !== 'snapshot.deleted',
      )) {
        const key = `${e.runId}|${e.volume}`;
        namesPerRunVolume.set(key, (namesPerRunVolume.get(key) ?? new Set()).add(e.snapshot!));
      }
      expect([...namesPerRunVolume.values()].every((s) => s.size === 1)).toBe(true);

      const driver = new LocalDriver({ dataDir });
      for (const name of volumes) {
        const snapshots = await driver.listSnapshots({ namespace: 'default', name });
        const ticks = snapshots.map((s) => s.labels['snapwarden.io/scheduled-at']);
        expect(new Set(ticks).size).toBe(ticks.length);
        expect(snapshots.length).toBeLessThanOrEqual(6);
      }
    } finally {
      await Promise.all(apps.splice(0).map((a) => a.kill()));
      await redis.stop();
    }
  }, 120_000);
});

/** The identity a worker process records in audit events. */
function workerIdentity(app: AppProcess): string {
  return `${hostname()}/${app.child.pid}`;
}
