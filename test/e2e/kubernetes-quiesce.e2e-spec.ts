import type { KubeObject } from '../k8s-sim/index.js';
import { eventually, getJson, type AppProcess } from '../support/app-process.js';
import { SNAPSHOT_API, startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import {
  auditEvents,
  postJson,
  seedClaim,
  settled,
  untilBound,
  type RestoreView,
  type SnapshotRequestView,
} from '../support/kube-requests.js';
import { deployment, seedHwameiStor, statefulSet } from '../support/kube-workloads.js';

const TOKEN = 'e2e-kube-quiesce-token-0123456789';
const LVSR_API = 'hwameistor.io/v1alpha1';
const REPLICAS = 'snapwarden.io/quiesced-replicas';
/** How long the simulated HwameiStor keeps a rollback InProgress. */
const ROLLBACK_MS = 1500;

interface WorkloadObject extends KubeObject {
  spec: { replicas?: number };
}

interface PodObject extends KubeObject {
  spec?: { volumes?: { persistentVolumeClaim?: { claimName: string } }[] };
}

interface BoundSnapshot {
  status?: { boundVolumeSnapshotContentName?: string };
}

interface ContentObject {
  status?: { snapshotHandle?: string };
}

interface QuiesceView extends RestoreView {
  quiesce?: string;
}

describe('kubernetes mode: rollback with quiesce ScaleDown', () => {
  let cluster: KubeCluster;
  let app: AppProcess;
  let ns: string;
  /** `spec.replicas` of each workload, every time it changed. */
  const history = new Map<string, number[]>();
  /** Pods mounting the rolled-back claim when each LocalVolumeSnapshotRestore was created. */
  const mountedAtRollback: { web: string[]; db: string[] }[] = [];

  beforeAll(async () => {
    cluster = await startKubeCluster({ restoreDelayMs: ROLLBACK_MS, podStopDelayMs: 200 });
    ns = cluster.namespace;
    const { sim } = cluster;
    seedHwameiStor(sim);
    for (const name of ['lv-web', 'lv-db-0']) {
      seedClaim(sim, ns, name, { storageClassName: 'hwameistor-lvm', size: '1Gi' });
    }
    await untilBound(sim, ns, ['lv-web', 'lv-db-0']);
    sim.store.seed(deployment(ns, 'web', { claim: 'lv-web', replicas: 2 }));
    sim.store.seed(statefulSet(ns, 'db', 'lv'));
    for (const resource of ['deployments.apps', 'statefulsets.apps']) {
      sim.store.objects.subscribe(resource, (event) => {
        const object = event.object as WorkloadObject;
        const key = object.metadata.name ?? '';
        const seen = history.get(key) ?? [];
        const replicas = object.spec.replicas ?? 1;
        if (seen.at(-1) !== replicas) history.set(key, [...seen, replicas]);
      });
    }
    sim.store.objects.subscribe('localvolumesnapshotrestores.hwameistor.io', (event) => {
      if (event.type === 'ADDED')
        mountedAtRollback.push({ web: mounting('lv-web'), db: mounting('lv-db-0') });
    });
    await untilPods(3);
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
    for (const name of ['snap-a', 'snap-b']) {
      const request = await postJson(
        app,
        '/api/v1/snapshot-requests',
        { metadata: { namespace: ns, name }, spec: { claimNames: ['lv-web', 'lv-db-0'] } },
        TOKEN,
      );
      expect(request.status).toBe(201);
      const done = await settled<SnapshotRequestView>(
        app,
        `/api/v1/snapshot-requests/${ns}/${name}`,
      );
      expect(done.phase).toBe('Succeeded');
    }
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  function mounting(claim: string): string[] {
    return (cluster.sim.store.items('v1', 'Pod', ns) as PodObject[])
      .filter((p) =>
        (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim),
      )
      .map((p) => p.metadata.name ?? '');
  }

  function workload(kind: 'Deployment' | 'StatefulSet', name: string): WorkloadObject | undefined {
    return cluster.sim.store.read('apps/v1', kind, name, ns) as WorkloadObject | undefined;
  }

  function untilPods(count: number) {
    return eventually(
      () =>
        Promise.resolve(
          cluster.sim.store.items('v1', 'Pod', ns).length === count ? true : undefined,
        ),
      10_000,
      `${count} pods`,
    );
  }

  /** The on-demand snapshot of a claim taken by request `request`. */
  async function snapshotOf(request: string, claim: string): Promise<string> {
    const view = await getJson<SnapshotRequestView>(
      app,
      `/api/v1/snapshot-requests/${ns}/${request}`,
    );
    return view.snapshots.find((s) => s.claim === claim)?.snapshotName ?? '';
  }

  async function rollback(name: string, snapshotName: string, quiesce?: string) {
    const posted = await postJson(
      app,
      '/api/v1/restores',
      { metadata: { namespace: ns, name }, spec: { snapshotName, mode: 'Rollback', quiesce } },
      TOKEN,
    );
    expect(posted.status).toBe(201);
  }

  it('refuses to roll back a mounted claim without quiesce, naming spec.quiesce', async () => {
    await rollback('no-quiesce', await snapshotOf('snap-a', 'lv-web'));
    const done = await settled<RestoreView>(app, `/api/v1/restores/${ns}/no-quiesce`);
    expect(done).toMatchObject({ phase: 'Failed', field: 'spec.quiesce' });
    expect(done.message).toMatch(
      /mounted by running pod\(s\) web-sim-0, web-sim-1.*spec\.quiesce: ScaleDown/,
    );
    expect(cluster.sim.store.items(LVSR_API, 'LocalVolumeSnapshotRestore')).toHaveLength(0);
    expect(history.get('web')).toEqual([2]);
  });

  it('ScaleDown: replicas to 0, the rollback runs with no pod mounting, replicas back to the recorded count', async () => {
    await rollback('quiesced', await snapshotOf('snap-a', 'lv-web'), 'ScaleDown');
    const done = await settled<QuiesceView>(app, `/api/v1/restores/${ns}/quiesced`, 30_000);
    expect(done).toMatchObject({ phase: 'Succeeded', quiesce: 'Restored: Deployment/web=2' });
    expect(history.get('web')).toEqual([2, 0, 2]);
    expect(mountedAtRollback.map((m) => m.web)).toEqual([[]]);
    expect(workload('Deployment', 'web')?.metadata.annotations?.[REPLICAS]).toBeUndefined();
    await untilPods(3);
    const types = (await auditEvents(app, { namespace: ns }))
      .filter((e) => e.type.startsWith('quiesce.'))
      .map((e) => e.type);
    expect(types).toEqual(['quiesce.scaled-down', 'quiesce.drained', 'quiesce.restored']);
  }, 40_000);

  it('a rollback that fails still returns the replicas', async () => {
    const snapshotName = await snapshotOf('snap-b', 'lv-web');
    const vs = cluster.sim.store.read(SNAPSHOT_API, 'VolumeSnapshot', snapshotName, ns) as
      BoundSnapshot | undefined;
    const content = cluster.sim.store.read(
      SNAPSHOT_API,
      'VolumeSnapshotContent',
      vs?.status?.boundVolumeSnapshotContentName ?? '',
    ) as ContentObject | undefined;
    // The provider lost the snapshot: HwameiStor reports the rollback Failed.
    expect(cluster.sim.provider.snapshots.delete(content?.status?.snapshotHandle ?? '')).toBe(true);
    await rollback('broken', snapshotName, 'ScaleDown');
    const done = await settled<QuiesceView>(app, `/api/v1/restores/${ns}/broken`, 30_000);
    expect(done.phase).toBe('Failed');
    expect(done.message).toMatch(/rollback of .* failed: source volume snapshot .* not found/);
    expect(history.get('web')).toEqual([2, 0, 2, 0, 2]);
    expect(workload('Deployment', 'web')?.metadata.annotations?.[REPLICAS]).toBeUndefined();
    await untilPods(3);
  }, 40_000);

  it('a worker killed mid-rollback: the next attempt rolls back and returns the recorded replicas', async () => {
    const before = mountedAtRollback.length;
    await rollback('crashed', await snapshotOf('snap-a', 'lv-db-0'), 'ScaleDown');
    await eventually(
      () => Promise.resolve(mountedAtRollback.length > before ? true : undefined),
      20_000,
      'the rollback started',
    );
    await app.kill();
    expect(workload('StatefulSet', 'db')).toMatchObject({
      spec: { replicas: 0 },
      metadata: { annotations: expect.objectContaining({ [REPLICAS]: '1' }) },
    });
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
    const done = await settled<QuiesceView>(app, `/api/v1/restores/${ns}/crashed`, 45_000);
    expect(done).toMatchObject({ phase: 'Succeeded', quiesce: 'Restored: StatefulSet/db=1' });
    expect(history.get('db')).toEqual([1, 0, 1]);
    expect(mountedAtRollback.slice(before).map((m) => m.db)).toEqual([[], []]);
    await untilPods(3);
  }, 90_000);
});
