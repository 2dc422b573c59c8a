import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, getJson, startApp, type AppProcess } from '../support/app-process.js';
import {
  EVEREST,
  POLICY_API,
  SNAPSHOT_API,
  startKubeCluster,
  untilRuns,
  type KubeCluster,
} from '../support/kube-cluster.js';
import { startTestRedis, type TestRedis } from '../support/redis-server.js';
import { makeVolume } from '../support/volumes.js';

const TOKEN = 'e2e-cleanup-token-0123456789';
const LABEL_POLICY = 'snapwarden.io/policy';
const LABEL_KEEP = 'snapwarden.io/keep';
const TTL_EXPIRED = 'cleanup: ttl expired';

interface DeletedEvent {
  type: string;
  snapshot?: string;
  volume?: string;
  policy?: string;
  reason?: string;
  trigger: string;
}
interface SnapshotView {
  namespace: string;
  name: string;
  volumeName: string;
  state: string;
  labels: Record<string, string>;
}
interface RequestView {
  phase: string;
  expiresAt?: string;
  snapshots: { claim: string; snapshotName?: string; error?: string }[];
}

/** A 6-field cron that fires once, `secondsAhead` from now (UTC), then not for a day. */
function onceSoon(secondsAhead = 6): string {
  const at = new Date(Date.now() + secondsAhead * 1000);
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

/** Talks to one running app: on-demand requests, the audit log and the snapshot list. */
function client(app: AppProcess, namespace: string) {
  let markers = 0;
  const api = {
    async request(name: string, spec: Record<string, unknown>): Promise<void> {
      const response = await fetch(`${app.url}/api/v1/snapshot-requests`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ metadata: { name, namespace }, spec }),
      });
      if (response.status !== 201) {
        throw new Error(`POST ${name}: ${response.status} ${await response.text()}`);
      }
    },
    /** Waits until the request is final and returns it. */
    settled(name: string): Promise<RequestView> {
      return eventually(
        async () => {
          const view = await getJson<RequestView>(
            app,
            `/api/v1/snapshot-requests/${namespace}/${name}`,
          );
          return ['Succeeded', 'Failed'].includes(view.phase) ? view : undefined;
        },
        30_000,
        `request ${name} final`,
      );
    },
    async deletedEvents(): Promise<DeletedEvent[]> {
      const page = await getJson<{ items: DeletedEvent[] }>(
        app,
        `/api/v1/events?kind=snapshot.deleted&namespace=${namespace}&limit=500`,
      );
      return page.items;
    },
    /** Waits for the `snapshot.deleted` event of `snapshot` and returns it. */
    deletionOf(snapshot: string, timeoutMs = 30_000): Promise<DeletedEvent> {
      return eventually(
        async () => (await api.deletedEvents()).find((e) => e.snapshot === snapshot),
        timeoutMs,
        `snapshot.deleted of ${snapshot}`,
      );
    },
    async snapshots(): Promise<SnapshotView[]> {
      const page = await getJson<{ items: SnapshotView[] }>(
        app,
        `/api/v1/snapshots?namespace=${namespace}`,
      );
      return page.items;
    },
    /**
     * Proof that a cleanup pass ran after everything before it: a fresh on-demand snapshot
     * with a 1s ttl on `claim`, and that pass's deletion of it.
     */
    async passAfterNow(claim: string): Promise<void> {
      const name = `marker-${++markers}`;
      await api.request(name, { claimNames: [claim], ttl: '1s' });
      const view = await api.settled(name);
      expect(view.phase).toBe('Succeeded');
      const event = await api.deletionOf(`${name}-${claim}`);
      expect(event.reason).toBe(TTL_EXPIRED);
    },
  };
  return api;
}

function policyYaml(name: string, spec: Record<string, unknown>): string {
  return `${JSON.stringify({ apiVersion: POLICY_API, kind: 'BackupPolicy', metadata: { name }, spec }, null, 2)}\n`;
}

describe('cleanup in local mode (every second)', () => {
  let dir: string;
  let dataDir: string;
  let policyDir: string;
  let redis: TestRedis;
  let app: AppProcess;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-cleanup-'));
    dataDir = join(dir, 'data');
    policyDir = join(dir, 'policies');
    await mkdir(policyDir, { recursive: true });
    for (const name of ['vol-a', 'vol-b', 'vol-c', 'vol-gone']) {
      await makeVolume(dataDir, name, { suite: 'cleanup' }, 4096);
    }
    redis = await startTestRedis();
    app = await startApp({
      REDIS_URL: redis.url,
      SNAPWARDEN_QUEUE_PREFIX: 'sw-e2e-cleanup',
      SNAPWARDEN_DATA_DIR: dataDir,
      SNAPWARDEN_POLICY_DIR: policyDir,
      SNAPWARDEN_API_TOKEN: TOKEN,
      SNAPWARDEN_CLEANUP_INTERVAL: '1s',
    });
    api = client(app, 'default');
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function policyApplied(name: string): Promise<void> {
    await eventually(
      () =>
        getJson(app, `/api/v1/policies/default/${name}`).then(
          () => true,
          () => undefined,
        ),
      10_000,
      `policy ${name} applied`,
    );
  }

  it('deletes an expired on-demand snapshot with its event; ttl 0 and a snapshot labelled keep stay', async () => {
    // Snapshots taken with this policy's labels carry snapwarden.io/keep: "true".
    await writeFile(
      join(policyDir, 'keeper.yaml'),
      policyYaml('keeper', {
        schedule: '@yearly',
        claimNames: ['vol-a'],
        retention: { keepLast: 1 },
        snapshotLabels: { [LABEL_KEEP]: 'true' },
        suspend: true,
      }),
    );
    await policyApplied('keeper');
    await api.request('kept', { claimNames: ['vol-a'], ttl: '2s', policyRef: { name: 'keeper' } });
    await api.request('forever', { claimNames: ['vol-a'], ttl: '0' });
    const kept = await api.settled('kept');
    const forever = await api.settled('forever');
    await api.request('short', { claimNames: ['vol-a'], ttl: '2s', reason: 'e2e ttl' });
    const short = await api.settled('short');
    expect([kept.phase, forever.phase, short.phase]).toEqual([
      'Succeeded',
      'Succeeded',
      'Succeeded',
    ]);
    expect(forever.expiresAt).toBeUndefined();
    // `kept` expired no later than `short`: the pass that deletes `short` has seen it expired.
    expect(Date.parse(kept.expiresAt ?? '')).toBeLessThanOrEqual(Date.parse(short.expiresAt ?? ''));

    const event = await api.deletionOf('short-vol-a');
    expect(event).toMatchObject({
      type: 'snapshot.deleted',
      volume: 'vol-a',
      reason: TTL_EXPIRED,
      trigger: 'cleanup:schedule',
    });
    expect(event.reason).toMatch(/ttl/);
    await api.passAfterNow('vol-a');

    const names = (await api.snapshots()).map((s) => s.name);
    expect(names).not.toContain('short-vol-a');
    expect(names).toEqual(expect.arrayContaining(['kept-vol-a', 'forever-vol-a']));
    const keptSnapshot = (await api.snapshots()).find((s) => s.name === 'kept-vol-a');
    expect(keptSnapshot?.labels[LABEL_KEEP]).toBe('true');
    const deleted = (await api.deletedEvents()).map((e) => e.snapshot);
    expect(deleted).not.toContain('kept-vol-a');
    expect(deleted).not.toContain('forever-vol-a');
  }, 60_000);

  it("applies a removed policy file's deletionPolicy: Delete removes its snapshots, Retain keeps them", async () => {
    const schedule = onceSoon();
    const spec = (claim: string, deletionPolicy: string) => ({
      schedule,
      claimNames: [claim],
      retention: { keepLast: 2 },
      deletionPolicy,
    });
    await writeFile(join(policyDir, 'tidy.yaml'), policyYaml('tidy', spec('vol-b', 'Delete')));
    await writeFile(join(policyDir, 'hoard.yaml'), policyYaml('hoard', spec('vol-c', 'Retain')));
    // An on-demand snapshot of the same volume is not the policy's to take along.
    await api.request('manual-b', { claimNames: ['vol-b'], ttl: '0' });
    expect((await api.settled('manual-b')).phase).toBe('Succeeded');
    await untilRuns(app, 'default/tidy', 'succeeded', 1);
    await untilRuns(app, 'default/hoard', 'succeeded', 1);
    const ofPolicy = async (policy: string) =>
      (await api.snapshots()).filter((s) => s.labels[LABEL_POLICY] === policy);
    const tidy = await ofPolicy('tidy');
    const hoard = await ofPolicy('hoard');
    expect(tidy).toHaveLength(1);
    expect(hoard).toHaveLength(1);

    await unlink(join(policyDir, 'tidy.yaml'));
    await unlink(join(policyDir, 'hoard.yaml'));
    const event = await api.deletionOf(tidy[0]?.name ?? '');
    expect(event).toMatchObject({
      volume: 'vol-b',
      policy: 'default/tidy',
      reason: 'cleanup: policy default/tidy deleted with deletionPolicy Delete',
    });
    await eventually(
      async () => ((await ofPolicy('tidy')).length === 0 ? true : undefined),
      10_000,
      'no snapshot of default/tidy',
    );
    await api.passAfterNow('vol-a');

    expect((await ofPolicy('hoard')).map((s) => s.name)).toEqual(hoard.map((s) => s.name));
    expect((await api.snapshots()).map((s) => s.name)).toContain('manual-b-vol-b');
    const deleted = (await api.deletedEvents()).map((e) => e.snapshot);
    expect(deleted).not.toContain(hoard[0]?.name);
    expect(deleted).not.toContain('manual-b-vol-b');
  }, 60_000);

  it('keeps the snapshots of a volume directory that no longer exists (they are the only copy)', async () => {
    await writeFile(
      join(policyDir, 'orphans.yaml'),
      policyYaml('orphans', {
        schedule: onceSoon(),
        claimNames: ['vol-gone'],
        retention: { keepLast: 2 },
        deletionPolicy: 'Delete',
      }),
    );
    await api.request('last-copy', { claimNames: ['vol-gone'], ttl: '0' });
    expect((await api.settled('last-copy')).phase).toBe('Succeeded');
    await untilRuns(app, 'default/orphans', 'succeeded', 1);
    const before = (await api.snapshots()).filter((s) => s.volumeName === 'vol-gone');
    expect(before.map((s) => s.name)).toContain('last-copy-vol-gone');
    expect(before).toHaveLength(2);

    await rm(join(dataDir, 'volumes', 'vol-gone'), { recursive: true, force: true });
    await rm(join(dataDir, 'volumes', 'vol-gone.volume.yaml'), { force: true });
    await api.passAfterNow('vol-a');
    await api.passAfterNow('vol-a');

    const after = (await api.snapshots()).filter((s) => s.volumeName === 'vol-gone');
    expect(after.map((s) => s.name).sort()).toEqual(before.map((s) => s.name).sort());
    const deleted = (await api.deletedEvents()).filter((e) => e.volume === 'vol-gone');
    expect(deleted).toEqual([]);
  }, 60_000);
});

describe('cleanup in local mode when a policy is removed (interval of an hour)', () => {
  let dir: string;
  let redis: TestRedis;
  let app: AppProcess;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapwarden-cleanup-now-'));
    await mkdir(join(dir, 'policies'), { recursive: true });
    await makeVolume(join(dir, 'data'), 'vol-x', { suite: 'cleanup' }, 4096);
    redis = await startTestRedis();
    app = await startApp({
      REDIS_URL: redis.url,
      SNAPWARDEN_QUEUE_PREFIX: 'sw-e2e-cleanup-now',
      SNAPWARDEN_DATA_DIR: join(dir, 'data'),
      SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
      SNAPWARDEN_API_TOKEN: TOKEN,
      SNAPWARDEN_CLEANUP_INTERVAL: '1h',
    });
    api = client(app, 'default');
  }, 30_000);

  afterAll(async () => {
    await app?.kill();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a cleanup pass at once instead of waiting for the next interval', async () => {
    const file = join(dir, 'policies', 'prompt.yaml');
    await writeFile(
      file,
      policyYaml('prompt', {
        schedule: onceSoon(),
        claimNames: ['vol-x'],
        retention: { keepLast: 1 },
        deletionPolicy: 'Delete',
      }),
    );
    await untilRuns(app, 'default/prompt', 'succeeded', 1);
    const [snapshot] = (await api.snapshots()).filter((s) => s.labels[LABEL_POLICY] === 'prompt');
    expect(snapshot).toBeDefined();

    await unlink(file);
    // Far below the hour of the interval; generous for a loaded machine.
    const event = await api.deletionOf(snapshot?.name ?? '', 60_000);
    expect(event).toMatchObject({
      reason: 'cleanup: policy default/prompt deleted with deletionPolicy Delete',
      trigger: 'cleanup:policy.removed',
    });
    expect((await api.snapshots()).map((s) => s.name)).not.toContain(snapshot?.name);
  }, 120_000);
});

describe('cleanup configuration', () => {
  it.each([
    [{ SNAPWARDEN_CLEANUP_INTERVAL: '0s' }, /SNAPWARDEN_CLEANUP_INTERVAL: must be at least 1s/],
    [{ SNAPWARDEN_CLEANUP_INTERVAL: 'often' }, /SNAPWARDEN_CLEANUP_INTERVAL: must be a duration/],
    [{ SNAPWARDEN_FAILED_SNAPSHOT_GRACE: '1 hour' }, /SNAPWARDEN_FAILED_SNAPSHOT_GRACE/],
  ])(
    'refuses to start with %p',
    async (env, message) => {
      const dir = await mkdtemp(join(tmpdir(), 'snapwarden-cleanup-bad-'));
      try {
        await expect(
          startApp({
            REDIS_URL: 'redis://127.0.0.1:1',
            SNAPWARDEN_DATA_DIR: join(dir, 'data'),
            SNAPWARDEN_POLICY_DIR: join(dir, 'policies'),
            ...env,
          }),
        ).rejects.toThrow(message);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    30_000,
  );
});

describe('cleanup in kubernetes mode (every second, failed snapshots after 1s)', () => {
  let cluster: KubeCluster;
  let app: AppProcess;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    await cluster.boundClaims(['db-0', 'db-1', 'db-2', 'db-3'], { app: 'shop' });
    // A class whose contents (and provider snapshots) outlive their VolumeSnapshots.
    cluster.sim.store.seed({
      apiVersion: SNAPSHOT_API,
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'everest-retain' },
      driver: EVEREST,
      deletionPolicy: 'Retain',
    });
    app = await cluster.startApp({
      SNAPWARDEN_CLEANUP_INTERVAL: '1s',
      SNAPWARDEN_FAILED_SNAPSHOT_GRACE: '1s',
      SNAPWARDEN_API_TOKEN: TOKEN,
    });
    api = client(app, cluster.namespace);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  function handMade(name: string, claim: string, className = 'everest-snap') {
    return cluster.sim.store.seed({
      apiVersion: SNAPSHOT_API,
      kind: 'VolumeSnapshot',
      metadata: { name, namespace: cluster.namespace },
      spec: { source: { persistentVolumeClaimName: claim }, volumeSnapshotClassName: className },
    });
  }

  function deleteObject(apiVersion: string, kind: string, name: string) {
    const store = cluster.sim.store;
    store.delete(store.resourceFor(apiVersion, kind), cluster.namespace, name);
  }

  const names = (claim: string) => cluster.snapshotsOf(claim).map((s) => s.metadata.name);

  it('deletes an expired on-demand VolumeSnapshot with its event; ttl 0 stays', async () => {
    await api.request('forever', { claimNames: ['db-0'], ttl: '0' });
    await api.request('short', { claimNames: ['db-0'], ttl: '2s' });
    expect((await api.settled('forever')).phase).toBe('Succeeded');
    expect((await api.settled('short')).phase).toBe('Succeeded');
    expect(names('db-0')).toEqual(expect.arrayContaining(['forever-db-0', 'short-db-0']));

    const event = await api.deletionOf('short-db-0');
    expect(event).toMatchObject({ volume: 'db-0', reason: TTL_EXPIRED });
    await eventually(
      () => Promise.resolve(names('db-0').includes('short-db-0') ? undefined : true),
      10_000,
      'short-db-0 gone from the cluster',
    );
    await api.passAfterNow('db-0');
    expect(names('db-0')).toContain('forever-db-0');
    expect((await api.deletedEvents()).map((e) => e.snapshot)).not.toContain('forever-db-0');
  }, 60_000);

  it("applies a deleted BackupPolicy's deletionPolicy to its managed snapshots only", async () => {
    handMade('manual-db-1', 'db-1');
    const schedule = onceSoon();
    const spec = (claim: string, deletionPolicy: string) => ({
      schedule,
      claimNames: [claim],
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 2 },
      deletionPolicy,
    });
    cluster.createPolicy('tidy', spec('db-1', 'Delete'));
    cluster.createPolicy('hoard', spec('db-2', 'Retain'));
    await untilRuns(app, `${cluster.namespace}/tidy`, 'succeeded', 1);
    await untilRuns(app, `${cluster.namespace}/hoard`, 'succeeded', 1);
    const [tidy] = cluster.managedSnapshotsOf('db-1');
    const hoard = cluster.managedSnapshotsOf('db-2').map((s) => s.metadata.name);
    expect(tidy?.metadata.labels?.[LABEL_POLICY]).toBe('tidy');
    expect(cluster.managedSnapshotsOf('db-1')).toHaveLength(1);
    expect(hoard).toHaveLength(1);

    deleteObject(POLICY_API, 'BackupPolicy', 'tidy');
    deleteObject(POLICY_API, 'BackupPolicy', 'hoard');
    const event = await api.deletionOf(tidy?.metadata.name ?? '');
    expect(event).toMatchObject({
      volume: 'db-1',
      policy: `${cluster.namespace}/tidy`,
      reason: `cleanup: policy ${cluster.namespace}/tidy deleted with deletionPolicy Delete`,
    });
    await eventually(
      () => Promise.resolve(cluster.managedSnapshotsOf('db-1').length === 0 ? true : undefined),
      10_000,
      'no managed snapshot of db-1',
    );
    await api.passAfterNow('db-0');

    expect(names('db-1')).toEqual(['manual-db-1']);
    expect(cluster.managedSnapshotsOf('db-2').map((s) => s.metadata.name)).toEqual(hoard);
    const deleted = (await api.deletedEvents()).map((e) => e.snapshot);
    expect(deleted).not.toContain('manual-db-1');
    expect(deleted).not.toContain(hoard[0]);
  }, 60_000);

  it('deletes a snapshot whose creation failed once the grace has passed, naming the failure', async () => {
    // Seven retained provider snapshots fill the disk's everest cap while no VolumeSnapshot is
    // left to count: snapwarden's snapshot is refused by the provider (status.error).
    const fillers = Array.from({ length: 7 }, (_, i) => `filler-${i}`);
    for (const name of fillers) handMade(name, 'db-3', 'everest-retain');
    await eventually(
      () =>
        Promise.resolve(
          cluster.snapshotsOf('db-3').filter((s) => s.status?.readyToUse).length === 7
            ? true
            : undefined,
        ),
      10_000,
      'seven ready snapshots of db-3',
    );
    for (const name of fillers) deleteObject(SNAPSHOT_API, 'VolumeSnapshot', name);
    await eventually(
      () => Promise.resolve(cluster.snapshotsOf('db-3').length === 0 ? true : undefined),
      10_000,
      'the fillers gone (their contents retained)',
    );

    await api.request('stuck', { claimNames: ['db-3'], ttl: '0' });
    const failed = await eventually(
      () =>
        Promise.resolve(
          cluster.snapshotsOf('db-3').find((s) => s.status?.error?.message !== undefined),
        ),
      15_000,
      'a failed snapshot of db-3',
    );
    expect(failed.metadata.name).toBe('stuck-db-3');
    expect(failed.status?.error?.message).toMatch(/maximum number of snapshots reached/);

    const event = await api.deletionOf('stuck-db-3');
    expect(event).toMatchObject({ volume: 'db-3', reason: 'cleanup: creation failed' });
    expect(event.reason).toMatch(/failed/);
    const request = await api.settled('stuck');
    expect(request.phase).toBe('Failed');
  }, 60_000);
});
