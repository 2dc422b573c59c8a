import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../k8s-sim/index.js';
import { eventually, type AppProcess } from '../support/app-process.js';
import { SNAPSHOT_API, startKubeCluster, type KubeCluster } from '../support/kube-cluster.js';
import {
  postJson,
  seedClaim,
  settled,
  untilBound,
  type RestoreView,
} from '../support/kube-requests.js';

const TOKEN = 'e2e-hwameistor-example-token-0123456789';
const EXAMPLES = 'deploy/kustomize/overlays/examples';
const LVSR_API = 'hwameistor.io/v1alpha1';

async function exampleDocs(file: string): Promise<KubeObject[]> {
  const text = await readFile(`${EXAMPLES}/${file}`, 'utf8');
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject);
}

/**
 * The shipped examples as an operator applies them: the HwameiStor snapshot class is not the
 * default class (the everest one is), and a rollback of a snapshot taken with it must still be
 * possible, because what a restore can do follows the snapshot's own class.
 */
describe('kubernetes mode: the shipped HwameiStor example rolls back', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster({ restoreDelayMs: 200 });
    const { sim } = cluster;
    for (const doc of await exampleDocs('volumesnapshotclasses.yaml')) sim.store.seed(doc);
    sim.store.seed({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'hwameistor-storage-lvm-hdd' },
      provisioner: 'lvm.hwameistor.io',
    });
    seedClaim(sim, cluster.namespace, 'db-data', {
      storageClassName: 'hwameistor-storage-lvm-hdd',
      size: '1Gi',
    });
    await untilBound(sim, cluster.namespace, ['db-data']);
    const hourly = (await exampleDocs('backuppolicies.yaml')).find(
      (doc) => doc.metadata.name === 'hourly-db',
    );
    if (hourly === undefined) throw new Error('the example policy hourly-db is gone');
    // As shipped, except every 2 seconds instead of hourly, in the suite's namespace.
    const spec = { ...(hourly as KubeObject & { spec: object }).spec, schedule: '*/2 * * * * *' };
    const metadata = { ...hourly.metadata, namespace: cluster.namespace };
    sim.store.seed({ ...hourly, metadata, spec });
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('snapshots db-data with the example class and rolls it back through HwameiStor', async () => {
    const defaultClass = cluster.sim.store.read(
      SNAPSHOT_API,
      'VolumeSnapshotClass',
      'hwameistor-storage-lvm-snapshot',
    );
    expect(
      defaultClass?.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'],
    ).toBeUndefined();
    const snapshot = await eventually(
      () =>
        Promise.resolve(cluster.managedSnapshotsOf('db-data').find((s) => s.status?.readyToUse)),
      20_000,
      'a ready snapshot of db-data',
    );
    expect(snapshot.spec).toMatchObject({
      volumeSnapshotClassName: 'hwameistor-storage-lvm-snapshot',
    });

    const created = await postJson<RestoreView>(
      app,
      '/api/v1/restores',
      {
        metadata: { namespace: cluster.namespace, name: 'roll-back-db-data' },
        spec: { snapshotName: snapshot.metadata.name, mode: 'Rollback' },
      },
      TOKEN,
    );
    expect(created.status).toBe(201);
    const final = await settled<RestoreView>(
      app,
      `/api/v1/restores/${cluster.namespace}/roll-back-db-data`,
    );
    expect(final).toMatchObject({ phase: 'Succeeded', claimName: 'db-data' });
    const rollbacks = cluster.sim.store
      .items(LVSR_API, 'LocalVolumeSnapshotRestore')
      .filter((r) => r.metadata.labels?.['snapwarden.io/snapshot'] === snapshot.metadata.name);
    expect(rollbacks).toHaveLength(1);
  }, 40_000);
});
