import type { KubeObject } from '../k8s-sim/index.js';
import { eventually, getJson, type AppProcess } from '../support/app-process.js';
import { runCli } from '../support/cli-process.js';
import { seedHwameiStor } from '../support/kube-workloads.js';
import {
  EVEREST,
  SNAPSHOT_API,
  startKubeCluster,
  type KubeCluster,
} from '../support/kube-cluster.js';
import {
  auditEvents,
  claimNames,
  claimOf,
  postJson,
  seedClaim,
  settled,
  untilBound,
  type RestoreView,
  type SnapshotRequestView,
} from '../support/kube-requests.js';

const TOKEN = 'e2e-kube-restores-token-0123456789';
const LVSR_API = 'hwameistor.io/v1alpha1';
/** How long the simulated HwameiStor keeps a rollback InProgress. */
const ROLLBACK_MS = 1500;

interface LocalVolumeSnapshotRestore extends KubeObject {
  spec: { sourceVolumeSnapshot?: string; restoreType?: string };
  status?: { state?: string; message?: string };
}

interface VolumeSnapshotObject extends KubeObject {
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    boundVolumeSnapshotContentName?: string;
  };
}

interface ContentObject extends KubeObject {
  status?: { snapshotHandle?: string };
}

/** A restore rule broken on purpose: the REST body, the same via CLI flags, the field named. */
interface BrokenRule {
  title: string;
  snapshot: string;
  mode?: 'Rollback';
  target?: Record<string, unknown>;
  cli: string[];
  field: string;
}

describe('kubernetes mode: restores against the simulator (REST API and CLI)', () => {
  let cluster: KubeCluster;
  let app: AppProcess;
  let ns: string;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    cluster = await startKubeCluster({ restoreDelayMs: ROLLBACK_MS });
    ns = cluster.namespace;
    const { sim } = cluster;
    // A second everest class (another disk type), and a HwameiStor class that can roll back.
    sim.store.seed({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'csi-disk-ssd' },
      provisioner: EVEREST,
    });
    seedHwameiStor(sim);
    await cluster.boundClaims(['db-0', 'db-1'], { app: 'shop' });
    for (const name of ['lv-0', 'lv-1']) {
      seedClaim(sim, ns, name, { storageClassName: 'hwameistor-lvm', size: '1Gi' });
    }
    await untilBound(sim, ns, ['lv-0', 'lv-1']);
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
    cliEnv = { SNAPWARDEN_SERVER: app.url, SNAPWARDEN_API_TOKEN: TOKEN };

    const request = await postJson(
      app,
      '/api/v1/snapshot-requests',
      { metadata: { namespace: ns, name: 'pre' }, spec: { claimNames: ['db-0', 'lv-0'] } },
      TOKEN,
    );
    expect(request.status).toBe(201);
    const done = await settled<SnapshotRequestView>(app, `/api/v1/snapshot-requests/${ns}/pre`);
    expect(done.phase).toBe('Succeeded');
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  function snapshot(name: string): VolumeSnapshotObject | undefined {
    return cluster.sim.store.read(SNAPSHOT_API, 'VolumeSnapshot', name, ns);
  }

  function rollbacksOf(snapshotName: string): LocalVolumeSnapshotRestore[] {
    return (
      cluster.sim.store.items(
        LVSR_API,
        'LocalVolumeSnapshotRestore',
      ) as LocalVolumeSnapshotRestore[]
    ).filter((r) => r.metadata.labels?.['snapwarden.io/snapshot'] === snapshotName);
  }

  /** The provider disk behind a Bound claim. */
  function diskOf(claim: string) {
    const pvName = claimOf(cluster.sim, ns, claim)?.spec.volumeName ?? '';
    const pv = cluster.sim.store.read('v1', 'PersistentVolume', pvName) as
      (KubeObject & { spec: { csi?: { volumeHandle?: string } } }) | undefined;
    return cluster.sim.provider.volumes.get(pv?.spec.csi?.volumeHandle ?? '');
  }

  function restore(name: string, spec: Record<string, unknown>, token = TOKEN) {
    return postJson<RestoreView & { field?: string }>(
      app,
      '/api/v1/restores',
      { metadata: { namespace: ns, name }, spec },
      token,
    );
  }

  it('has snapshots of the everest and HwameiStor claims to restore from', () => {
    expect(snapshot('pre-db-0')?.status).toMatchObject({ readyToUse: true, restoreSize: '10Gi' });
    expect(snapshot('pre-lv-0')?.status).toMatchObject({ readyToUse: true, restoreSize: '1Gi' });
  });

  it('restores into a new claim through the REST API: dataSource, class and modes of the source, Bound', async () => {
    const created = await restore('to-copy', {
      snapshotName: 'pre-db-0',
      target: { claimName: 'db-0-copy', size: '10Gi' },
    });
    expect(created.status).toBe(201);
    const final = await settled<RestoreView>(app, `/api/v1/restores/${ns}/to-copy`);
    expect(final).toMatchObject({ phase: 'Succeeded', claimName: 'db-0-copy' });
    expect(final.field).toBeUndefined();

    const claim = claimOf(cluster.sim, ns, 'db-0-copy');
    expect(claim?.spec.dataSource).toEqual({
      kind: 'VolumeSnapshot',
      apiGroup: 'snapshot.storage.k8s.io',
      name: 'pre-db-0',
    });
    expect(claim?.spec.storageClassName).toBe('csi-disk');
    expect(claim?.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim?.spec.resources?.requests?.storage).toBe('10Gi');
    await untilBound(cluster.sim, ns, ['db-0-copy']);
    const handle = snapshotHandleOf('pre-db-0');
    expect(diskOf('db-0-copy')?.sourceSnapshot).toBe(handle);
  });

  it('restores into a new claim through the CLI (API mode) and exits 0', async () => {
    const result = await runCli(
      ['restore', 'pre-db-0', '-n', ns, '--to', 'db-0-cli', '--size', '10Gi', '--wait'],
      cliEnv,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/succeeded: restored into db-0-cli/);
    const claim = claimOf(cluster.sim, ns, 'db-0-cli');
    expect(claim?.spec.dataSource?.name).toBe('pre-db-0');
    expect(claim?.spec.storageClassName).toBe('csi-disk');
    await untilBound(cluster.sim, ns, ['db-0-cli']);
  });

  const broken: BrokenRule[] = [
    {
      title: 'a size smaller than the restore size',
      snapshot: 'pre-db-0',
      target: { claimName: 'r-small', size: '5Gi' },
      cli: ['--to', 'r-small-cli', '--size', '5Gi'],
      field: 'spec.target.size',
    },
    {
      title: 'a size larger than the restore size on everest (equal capacity required)',
      snapshot: 'pre-db-0',
      target: { claimName: 'r-large', size: '20Gi' },
      cli: ['--to', 'r-large-cli', '--size', '20Gi'],
      field: 'spec.target.size',
    },
    {
      title: 'another storage class',
      snapshot: 'pre-db-0',
      target: { claimName: 'r-class', storageClassName: 'csi-disk-ssd' },
      cli: ['--to', 'r-class-cli', '--storage-class', 'csi-disk-ssd'],
      field: 'spec.target.storageClassName',
    },
    {
      title: 'other access modes',
      snapshot: 'pre-db-0',
      target: { claimName: 'r-modes', accessModes: ['ReadWriteMany'] },
      cli: ['--to', 'r-modes-cli', '--access-mode', 'ReadWriteMany'],
      field: 'spec.target.accessModes',
    },
    {
      title: 'a target claim that already exists',
      snapshot: 'pre-db-0',
      target: { claimName: 'db-1' },
      cli: ['--to', 'db-1'],
      field: 'spec.target.claimName',
    },
    {
      title: 'a snapshot that does not exist',
      snapshot: 'no-such-snapshot',
      target: { claimName: 'r-missing' },
      cli: ['--to', 'r-missing-cli'],
      field: 'spec.snapshotName',
    },
    {
      title: 'Rollback on the everest class (generic CSI cannot roll back)',
      snapshot: 'pre-db-0',
      mode: 'Rollback',
      cli: ['--rollback'],
      field: 'spec.mode',
    },
  ];

  it.each(broken.map((rule, i) => [rule.title, i] as const))(
    'fails %s, naming the field, through the REST API and the CLI, creating nothing',
    async (_title, index) => {
      const rule = broken[index] as BrokenRule;
      const { sim } = cluster;
      const claimsBefore = claimNames(sim, ns);
      const db1Version = claimOf(sim, ns, 'db-1')?.metadata.resourceVersion;
      const mark = sim.requestLog.mark();

      const name = `broken-${index}`;
      const spec: Record<string, unknown> = { snapshotName: rule.snapshot };
      if (rule.mode) spec.mode = rule.mode;
      if (rule.target) spec.target = rule.target;
      const created = await restore(name, spec);
      expect(created.status).toBe(201);
      const final = await settled<RestoreView>(app, `/api/v1/restores/${ns}/${name}`);
      expect(final).toMatchObject({ phase: 'Failed', field: rule.field });
      expect(final.message).toBeTruthy();
      expect(final.claimName).toBeUndefined();

      const cli = await runCli(['restore', rule.snapshot, '-n', ns, ...rule.cli, '--wait'], cliEnv);
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain(`(${rule.field})`);

      // Nothing was created or changed in the cluster: no claim, no HwameiStor restore.
      expect(claimNames(sim, ns)).toEqual(claimsBefore);
      expect(claimOf(sim, ns, 'db-1')?.metadata.resourceVersion).toBe(db1Version);
      const writes = sim.requestLog
        .since(mark)
        .filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb))
        .filter((r) => r.resource === 'persistentvolumeclaims' || r.resource?.startsWith('local'));
      expect(writes).toEqual([]);
      expect(rollbacksOf(rule.snapshot)).toEqual([]);
    },
  );

  it('refuses a restore without the right token with 401, writing nothing', async () => {
    const refused = await restore(
      'unauthorized',
      { snapshotName: 'pre-db-0', target: { claimName: 'r-unauth' } },
      'not-the-token',
    );
    expect(refused.status).toBe(401);
    expect((await fetch(`${app.url}/api/v1/restores/${ns}/unauthorized`)).status).toBe(404);
    expect(claimOf(cluster.sim, ns, 'r-unauth')).toBeUndefined();
  });

  it('exits 2 on bad flags, creating nothing', async () => {
    const before = claimNames(cluster.sim, ns);
    const neither = await runCli(['restore', 'pre-db-0', '-n', ns], cliEnv);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/--to CLAIM and --rollback/);
    const both = await runCli(['restore', 'pre-db-0', '-n', ns, '--to', 'x', '--rollback'], cliEnv);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--to CLAIM and --rollback/);
    const unknown = await runCli(['restore', 'pre-db-0', '-n', ns, '--to', 'y', '--bogus'], cliEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    const timeout = await runCli(
      ['restore', 'pre-db-0', '-n', ns, '--to', 'z', '--wait', '--timeout', 'soon'],
      cliEnv,
    );
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toMatch(/--timeout/);
    const noNamespace = await runCli(['restore', 'pre-db-0', '--to', 'w'], cliEnv);
    expect(noNamespace.code).toBe(2);
    expect(claimNames(cluster.sim, ns)).toEqual(before);
  });

  it('rolls a HwameiStor claim back through a LocalVolumeSnapshotRestore (REST API and CLI)', async () => {
    const content = snapshot('pre-lv-0')?.status?.boundVolumeSnapshotContentName;
    expect(content).toBeDefined();
    const claimsBefore = claimNames(cluster.sim, ns);

    const created = await restore('lv-rollback', { snapshotName: 'pre-lv-0', mode: 'Rollback' });
    expect(created.status).toBe(201);
    const running = await eventually(
      async () => {
        const view = await getJson<RestoreView>(app, `/api/v1/restores/${ns}/lv-rollback`);
        return view.phase === 'Running' ? view : undefined;
      },
      5_000,
      'the rollback Running',
    );
    expect(running.claimName).toBeUndefined();
    const final = await settled<RestoreView>(app, `/api/v1/restores/${ns}/lv-rollback`);
    expect(final).toMatchObject({ phase: 'Succeeded', claimName: 'lv-0' });

    const [lvsr] = rollbacksOf('pre-lv-0');
    expect(lvsr?.spec).toMatchObject({ sourceVolumeSnapshot: content, restoreType: 'rollback' });
    expect(lvsr?.status?.state).toBe('Completed');
    expect(diskOf('lv-0')?.rolledBackTo).toBe(snapshotHandleOf('pre-lv-0'));

    const cli = await runCli(
      ['restore', 'pre-lv-0', '-n', ns, '--rollback', '--wait', '--output', 'json'],
      cliEnv,
    );
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ phase: 'Succeeded', claimName: 'lv-0' });
    const both = rollbacksOf('pre-lv-0');
    expect(both).toHaveLength(2);
    expect(both.every((r) => r.status?.state === 'Completed')).toBe(true);
    // A rollback creates no claim.
    expect(claimNames(cluster.sim, ns)).toEqual(claimsBefore);
  }, 30_000);

  it('does not let rotation delete a snapshot while a rollback reads it; rotation takes it afterwards', async () => {
    const { sim } = cluster;
    cluster.createPolicy('rotate', {
      schedule: '*/1 * * * * *',
      claimNames: ['lv-1'],
      snapshotClassName: 'hwameistor-snap',
      retention: { keepLast: 1 },
    });
    // The first ready snapshot of lv-1, labelled to be kept until the rollback is under way.
    const source = await eventually(
      () => Promise.resolve(cluster.managedSnapshotsOf('lv-1').find((s) => s.status?.readyToUse)),
      15_000,
      'a ready snapshot of lv-1',
    );
    const name = source.metadata.name ?? '';
    sim.store.mergeInto(source, { metadata: { labels: { 'snapwarden.io/keep': 'true' } } });

    const samples: { restoreState?: string; present: boolean; deleting: boolean }[] = [];
    const sampler = setInterval(() => {
      const current = snapshot(name);
      samples.push({
        restoreState: rollbacksOf(name)[0]?.status?.state,
        present: current !== undefined,
        deleting: current?.metadata.deletionTimestamp !== undefined,
      });
    }, 50);
    try {
      const created = await restore('rotation-guard', { snapshotName: name, mode: 'Rollback' });
      expect(created.status).toBe(201);
      await eventually(
        () => Promise.resolve(rollbacksOf(name)[0]?.status?.state === 'InProgress' || undefined),
        10_000,
        'the rollback InProgress',
      );
      // From now on only the rollback keeps the snapshot: rotation (keepLast 1) wants it gone.
      const labelled = snapshot(name);
      if (labelled) {
        sim.store.mergeInto(labelled, { metadata: { labels: { 'snapwarden.io/keep': null } } });
      }
      const final = await settled<RestoreView>(app, `/api/v1/restores/${ns}/rotation-guard`);
      expect(final).toMatchObject({ phase: 'Succeeded', claimName: 'lv-1' });
      // Afterwards rotation deletes it: the protection above was the rollback's, not luck.
      await eventually(
        () => Promise.resolve(snapshot(name) === undefined || undefined),
        15_000,
        `${name} rotated away after the rollback`,
      );
    } finally {
      clearInterval(sampler);
    }
    const whileRunning = samples.filter(
      (s) => s.restoreState !== undefined && s.restoreState !== 'Completed',
    );
    expect(whileRunning.length).toBeGreaterThan(ROLLBACK_MS / 50 / 2);
    expect(whileRunning.filter((s) => !s.present || s.deleting)).toEqual([]);
    const deleted = (await auditEvents(app, { namespace: ns, volume: 'lv-1' })).filter(
      (e) => e.type === 'snapshot.deleted' && e.snapshot === name,
    );
    expect(deleted).toHaveLength(1);
    expect(deleted[0]?.reason).toMatch(/^retention/);
  }, 45_000);

  function snapshotHandleOf(name: string): string | undefined {
    const contentName = snapshot(name)?.status?.boundVolumeSnapshotContentName ?? '';
    const content: ContentObject | undefined = cluster.sim.store.read(
      SNAPSHOT_API,
      'VolumeSnapshotContent',
      contentName,
    );
    return content?.status?.snapshotHandle;
  }
});

describe('kubernetes mode: a restored claim that provisions slowly', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    // Every claim takes 2.5 s to bind: a restored claim stays Pending, reading its snapshot.
    cluster = await startKubeCluster({ provisionDelayMs: 2500 });
    await cluster.boundClaims(['app-0'], { app: 'shop' });
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
  }, 30_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  // Invariant 2: a restored claim still provisioning reads its snapshot; rotation must wait
  // until the claim is Bound (the provisioner refuses a snapshot being deleted, and the
  // snapshot controller would keep it Terminating for the Pending claim: it would never bind).
  it('keeps the snapshot from rotation until the restored claim is Bound', async () => {
    const { sim, namespace: ns } = cluster;
    cluster.createPolicy('rotate', {
      schedule: '*/1 * * * * *',
      claimNames: ['app-0'],
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 1 },
    });
    const source = await eventually(
      () => Promise.resolve(cluster.managedSnapshotsOf('app-0').find((s) => s.status?.readyToUse)),
      15_000,
      'a ready snapshot of app-0',
    );
    const name = source.metadata.name ?? '';
    // Kept (by label) only until the restore has created its claim.
    sim.store.mergeInto(source, { metadata: { labels: { 'snapwarden.io/keep': 'true' } } });
    const created = await postJson(
      app,
      '/api/v1/restores',
      {
        metadata: { namespace: ns, name: 'slow-copy' },
        spec: { snapshotName: name, target: { claimName: 'app-0-copy', size: '10Gi' } },
      },
      TOKEN,
    );
    expect(created.status).toBe(201);
    await eventually(
      () => Promise.resolve(claimOf(sim, ns, 'app-0-copy')),
      10_000,
      'the restored claim created',
    );
    expect(claimOf(sim, ns, 'app-0-copy')?.status?.phase).toBe('Pending');
    // The restore is not over while its claim provisions.
    const running = await getJson<RestoreView>(app, `/api/v1/restores/${ns}/slow-copy`);
    expect(running).toMatchObject({ phase: 'Running', claimName: 'app-0-copy' });
    const labelled = sim.store.read(SNAPSHOT_API, 'VolumeSnapshot', name, ns);
    if (labelled) {
      sim.store.mergeInto(labelled, { metadata: { labels: { 'snapwarden.io/keep': null } } });
    }
    // Rotation (keepLast 1, a run every second) must wait until the claim no longer needs it.
    await untilBound(sim, ns, ['app-0-copy'], 8_000).catch(async (error: Error) => {
      const vs = sim.store.read(SNAPSHOT_API, 'VolumeSnapshot', name, ns);
      const provisioning = sim.store
        .items('v1', 'Event', ns)
        .filter((e) => (e as { reason?: string }).reason === 'ProvisioningFailed')
        .map((e) => (e as { message?: string }).message);
      const deletions = (await auditEvents(app, { namespace: ns, volume: 'app-0' })).filter(
        (e) => e.type === 'snapshot.deleted' && e.snapshot === name,
      );
      throw new Error(
        `${error.message}; snapshot ${name} deletionTimestamp=` +
          `${vs?.metadata.deletionTimestamp ?? 'none'}, deleted by: ` +
          `${JSON.stringify(deletions.map((d) => d.reason))}, provisioner: ` +
          `${provisioning.at(-1) ?? 'no ProvisioningFailed event'}`,
      );
    });
    const final = await settled<RestoreView>(app, `/api/v1/restores/${ns}/slow-copy`);
    expect(final).toMatchObject({ phase: 'Succeeded', claimName: 'app-0-copy' });
  }, 45_000);
});
