import type { AppProcess } from '../support/app-process.js';
import {
  auditOf,
  runsOf,
  sleep,
  startKubeCluster,
  untilRuns,
  type KubeCluster,
} from '../support/kube-cluster.js';

const CLAIMS = ['db-0', 'db-1', 'db-2'];
const POLICY = 'shop/nightly';
const SCHEDULED_AT = 'snapwarden.io/scheduled-at';

describe('kubernetes mode under API faults', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    await cluster.boundClaims(CLAIMS, { app: 'shop' });
    cluster.createPolicy('nightly', {
      schedule: '*/2 * * * * *',
      selector: { matchLabels: { app: 'shop' } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 3 },
    });
    app = await cluster.startApp();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('converges through dropped watches, 500s, 409s on status writes and 429s with no duplicate and no lost snapshot', async () => {
    await untilRuns(app, POLICY, 'succeeded', 1);
    const { faults } = cluster.sim;
    faults.dropWatches('abrupt');
    faults.failNext({ verb: 'create', resource: 'volumesnapshots', status: 500, times: 2 });
    faults.failNext({ resource: 'backuppolicies/status', status: 409, times: 3 });
    faults.failNext({ status: 429, times: 4, retryAfterSeconds: 1 });
    await sleep(2_500);
    faults.dropWatches('abrupt');
    faults.failNext({ verb: 'delete', resource: 'volumesnapshots', status: 500, times: 1 });
    faults.failNext({ verb: 'list', status: 500, times: 2 });
    await sleep(2_500);
    faults.dropWatches('graceful');
    const settled = (await runsOf(app, POLICY)).length;
    // Converged: several more runs, each with every claim snapshotted.
    await untilRuns(app, POLICY, 'succeeded', settled + 3, 30_000);
    // The faults were served, and the informers came back after every dropped watch.
    const served = cluster.sim.requestLog.all().map((r) => r.status);
    for (const status of [500, 409, 429]) expect(served).toContain(status);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    const runs = await runsOf(app, POLICY);
    const audit = await auditOf(app, POLICY);
    expect(await app.stop()).toBe(0);
    await sleep(300);

    for (const claim of CLAIMS) {
      const snapshots = cluster.managedSnapshotsOf(claim);
      // No duplicate: one snapshot per tick per claim.
      const ticks = snapshots.map((s) => s.metadata.labels?.[SCHEDULED_AT]);
      expect(new Set(ticks).size).toBe(ticks.length);
      expect(snapshots.length).toBeLessThanOrEqual(4);
      expect(snapshots.every((s) => s.status?.readyToUse === true)).toBe(true);
      // Nothing leaked at the provider either.
      const disk = cluster.sim.provider.snapshotsOf(volumeHandleOf(cluster, claim));
      expect(disk.length).toBe(cluster.snapshotsOf(claim).length);
    }
    // No lost snapshot: every snapshot a run reports is in the cluster, or rotation deleted it.
    const present = new Set(
      CLAIMS.flatMap((c) => cluster.managedSnapshotsOf(c).map((s) => s.metadata.name)),
    );
    const deleted = new Set(
      audit.filter((e) => e.type === 'snapshot.deleted').map((e) => e.snapshot),
    );
    const reported = runs.flatMap((r) =>
      r.volumes.filter((v) => v.state === 'succeeded').map((v) => v.snapshot),
    );
    expect(reported.length).toBeGreaterThan(0);
    for (const name of reported) expect(present.has(name ?? '') || deleted.has(name)).toBe(true);
    const [newest] = runs
      .filter((r) => r.state === 'succeeded')
      .sort((a, b) => b.scheduledAt.localeCompare(a.scheduledAt));
    for (const volume of newest?.volumes ?? [])
      expect(present.has(volume.snapshot ?? '')).toBe(true);
  }, 60_000);
});

function volumeHandleOf(cluster: KubeCluster, claim: string): string {
  const pvc = cluster.sim.store.read('v1', 'PersistentVolumeClaim', claim, cluster.namespace) as
    { spec?: { volumeName?: string } } | undefined;
  const pv = cluster.sim.store.read('v1', 'PersistentVolume', pvc?.spec?.volumeName ?? '') as
    { spec?: { csi?: { volumeHandle?: string } } } | undefined;
  return pv?.spec?.csi?.volumeHandle ?? '';
}
