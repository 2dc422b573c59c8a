import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LocalDriver } from '#lib/storage';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import {
  SENTINEL_NAME,
  startSentinelSetup,
  type SentinelSetup,
} from '../support/redis-sentinel.js';
import { makeVolume } from '../support/volumes.js';

interface Run {
  id: string;
  state: string;
  scheduledAt: string;
  createdAt: string;
  volumes: { volume: string; state: string; snapshot?: string }[];
}
interface Page<T> {
  items: T[];
  nextCursor?: string;
}

const POLICY = 'default/ha';
const VOLUMES = ['alpha', 'beta'];
const TICK_MS = 2000;

async function allRuns(app: AppProcess): Promise<Run[]> {
  const runs: Run[] = [];
  let cursor: string | undefined;
  do {
    const page = await getJson<Page<Run>>(
      app,
      `/api/v1/runs?policy=${POLICY}&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return runs.sort((a, b) => Date.parse(a.scheduledAt) - Date.parse(b.scheduledAt));
}

function succeededAfter(runs: Run[], after: number): Run[] {
  return runs.filter((r) => r.state === 'succeeded' && Date.parse(r.scheduledAt) > after);
}

describe('Redis through Sentinel: the primary is SIGKILLed during runs of a 2 s policy', () => {
  let dir: string;
  let setup: SentinelSetup | undefined;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-ha-'));
    setup = await startSentinelSetup();
  }, 60_000);

  afterAll(async () => {
    await app?.kill();
    await setup?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('follows the promotion by itself: runs resume, no schedule lost, no snapshot doubled', async () => {
    if (!setup) throw new Error('no sentinel setup');
    const dataDir = join(dir, 'data');
    await mkdir(join(dir, 'policies'), { recursive: true });
    for (const name of VOLUMES) await makeVolume(dataDir, name, { tier: 'ha' }, 16 * 1024);
    await writeFile(
      join(dir, 'policies', 'ha.yaml'),
      [
        'apiVersion: snapwarden.io/v1alpha1',
        'kind: BackupPolicy',
        'metadata:',
        '  name: ha',
        'spec:',
        "  schedule: '*/2 * * * * *'",
        '  selector:',
        '    matchLabels:',
        '      tier: ha',
        '  retention:',
        '    keepLast: 200',
        '',
      ].join('\n'),
    );
    app = await startApp({
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_MAX_SNAPSHOTS_PER_VOLUME: '1000',
      REDIS_SENTINELS: setup.sentinelsEnv,
      REDIS_SENTINEL_NAME: SENTINEL_NAME,
    });
    const running = app;
    await eventually(
      async () =>
        (await allRuns(running)).filter((r) => r.state === 'succeeded').length >= 3
          ? true
          : undefined,
      40_000,
      'three succeeded runs before the failover',
    );

    const killedAt = Date.now();
    await setup.killPrimary();
    const replicaPort = setup.replicaPort;
    await eventually(
      async () => ((await setup?.primaryPortNow()) === replicaPort ? true : undefined),
      60_000,
      'the sentinels promoting the replica',
    );
    const promotedAt = Date.now();
    // Runs resume within the failover time plus a few seconds (generous on a loaded machine).
    await eventually(
      async () => (succeededAfter(await allRuns(running), killedAt).length > 0 ? true : undefined),
      30_000,
      'a succeeded run scheduled after the kill, within 30 s of the promotion',
    );
    // Runs scheduled after the promotion, all the way to succeeded, on the new primary.
    const after = await eventually(
      async () => {
        const runs = succeededAfter(await allRuns(running), promotedAt);
        return runs.length >= 3 ? runs : undefined;
      },
      90_000,
      'three succeeded runs scheduled after the promotion',
    );
    const firstRunAfterKill = succeededAfter(await allRuns(running), killedAt)[0] ?? after[0];
    const resumedAt = Date.parse(firstRunAfterKill?.createdAt ?? '');
    process.stdout.write(
      `sentinel failover: promotion seen ${promotedAt - killedAt} ms after the kill, ` +
        `first run after the kill recorded ${resumedAt - killedAt} ms after it ` +
        `(${resumedAt - promotedAt} ms after the promotion was seen)\n`,
    );
    // Every run scheduled before the last tick has finished (nothing left hanging by the kill).
    const lastScheduled = Date.parse(after[after.length - 1]?.scheduledAt ?? '');
    await eventually(
      async () => {
        const runs = await allRuns(running);
        const open = runs.filter(
          (r) => r.state === 'running' && Date.parse(r.scheduledAt) < lastScheduled,
        );
        return open.length === 0 ? runs : undefined;
      },
      60_000,
      'every run before the last one finished',
    );
    expect(app.output()).not.toContain('embedded redis started');
    expect(await app.stop()).toBe(0);
    app = undefined;
    // The history lives on the promoted replica, now the primary.
    expect(await roleAndKeys(setup.replicaPort)).toEqual({ role: 'master', hasRuns: true });
    const runs = await allRunsFromDisk(dataDir, setup, dir);
    checkNoScheduleLost(runs, killedAt, Date.parse(firstRunAfterKill?.scheduledAt ?? ''));
    await checkNoSnapshotDoubled(dataDir, runs);
  }, 240_000);
});

async function roleAndKeys(port: number): Promise<{ role: string; hasRuns: boolean }> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  try {
    const [role] = (await client.role()) as [string];
    const keys = await client.keys('snapwarden:*run*');
    return { role, hasRuns: keys.length > 0 };
  } finally {
    client.disconnect();
  }
}

/** The history as a fresh api-only process reads it from the promoted primary. */
async function allRunsFromDisk(dataDir: string, setup: SentinelSetup, dir: string): Promise<Run[]> {
  const reader = await startApp({
    SNAPWARDEN_DATA_DIR: dataDir,
    SNAPWARDEN_POLICY_DIR: join(dir, 'no-policies'),
    SNAPWARDEN_ROLES: 'api',
    REDIS_SENTINELS: setup.sentinelsEnv,
    REDIS_SENTINEL_NAME: SENTINEL_NAME,
  });
  try {
    return await allRuns(reader);
  } finally {
    await reader.stop();
  }
}

/**
 * One run per 2 s slot, each slot once: between the first and the last run every slot has its
 * run, except slots of the outage itself (from one tick before the kill to the first run the
 * app recorded after it).
 */
function checkNoScheduleLost(runs: Run[], killedAt: number, resumedSlot: number): void {
  const slots = runs.map((r) => Date.parse(r.scheduledAt));
  expect(new Set(slots).size).toBe(slots.length);
  expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
  const first = slots[0] ?? 0;
  const last = slots[slots.length - 1] ?? 0;
  const missing: number[] = [];
  for (let slot = first; slot <= last; slot += TICK_MS) {
    if (!slots.includes(slot)) missing.push(slot);
  }
  const outside = missing.filter((slot) => slot < killedAt - TICK_MS || slot > resumedSlot);
  process.stdout.write(
    `sentinel failover: ${runs.length} runs, ${missing.length} slot(s) without a run, all within the outage\n`,
  );
  expect(outside.map((s) => new Date(s).toISOString())).toEqual([]);
  expect(runs.filter((r) => r.state === 'failed' || r.state === 'partial')).toEqual([]);
}

/** Each succeeded volume has its own snapshot on disk, and no snapshot exists twice. */
async function checkNoSnapshotDoubled(dataDir: string, runs: Run[]): Promise<void> {
  const driver = new LocalDriver({ dataDir });
  for (const volume of VOLUMES) {
    const onDisk = (await driver.listSnapshots({ namespace: 'default', name: volume })).map(
      (s) => s.name,
    );
    expect(new Set(onDisk).size).toBe(onDisk.length);
    const recorded = runs
      .flatMap((r) => r.volumes)
      .filter((v) => v.volume === volume && v.state === 'succeeded')
      .map((v) => v.snapshot);
    expect(new Set(recorded).size).toBe(recorded.length);
    expect([...onDisk].sort()).toEqual([...recorded].sort());
  }
}
