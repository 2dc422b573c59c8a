import { eventually, type AppProcess } from '../support/app-process.js';
import {
  SNAPSHOT_API,
  startKubeCluster,
  untilRuns,
  type KubeCluster,
} from '../support/kube-cluster.js';

const POLICY = 'shop/nightly';

describe('kubernetes mode: a claim already at the everest cap', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    await cluster.boundClaims(['db-0', 'db-1', 'full'], { app: 'shop' });
    for (let i = 0; i < 7; i++) {
      cluster.sim.store.seed({
        apiVersion: SNAPSHOT_API,
        kind: 'VolumeSnapshot',
        metadata: { name: `manual-${i}`, namespace: cluster.namespace, labels: { by: 'hand' } },
        spec: {
          source: { persistentVolumeClaimName: 'full' },
          volumeSnapshotClassName: 'everest-snap',
        },
      });
    }
    await eventually(
      () =>
        Promise.resolve(
          cluster.snapshotsOf('full').filter((s) => s.status?.readyToUse === true).length === 7
            ? true
            : undefined,
        ),
      10_000,
      'seven manual snapshots ready',
    );
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('fails that claim’s run with a limit-reached reason, touches none of its snapshots, and snapshots the others', async () => {
    const before = new Map(
      cluster.snapshotsOf('full').map((s) => [s.metadata.name, s.metadata.uid] as const),
    );
    const mark = cluster.sim.requestLog.mark();
    cluster.createPolicy('nightly', {
      schedule: '*/2 * * * * *',
      selector: { matchLabels: { app: 'shop' } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 3 },
    });
    app = await cluster.startApp();
    const [run] = await untilRuns(app, POLICY, 'partial', 2);
    await app.stop();

    const byVolume = new Map(run?.volumes.map((v) => [v.volume, v]));
    expect(byVolume.get('db-0')?.state).toBe('succeeded');
    expect(byVolume.get('db-1')?.state).toBe('succeeded');
    expect(byVolume.get('full')?.state).toBe('failed');
    expect(byVolume.get('full')?.error).toMatch(/limit|cap/i);
    expect(byVolume.get('full')?.error).toMatch(/7/);

    // Not one of the hand-made snapshots was deleted, replaced or joined by another.
    const after = cluster.snapshotsOf('full');
    expect(new Map(after.map((s) => [s.metadata.name, s.metadata.uid] as const))).toEqual(before);
    expect(after.every((s) => s.metadata.deletionTimestamp === undefined)).toBe(true);
    const touched = cluster.sim.requestLog
      .since(mark)
      .filter((r) => r.name?.startsWith('manual-') && r.verb !== 'get');
    expect(touched).toEqual([]);
    for (const claim of ['db-0', 'db-1']) {
      expect(cluster.managedSnapshotsOf(claim).length).toBeGreaterThanOrEqual(2);
    }

    const status = cluster.policy('nightly')?.status;
    expect(status?.lastRun).toMatchObject({
      result: 'PartiallyFailed',
      volumes: { total: 3, succeeded: 2, failed: 1 },
    });
    const failed = cluster.policyEvents('nightly').find((e) => e.reason === 'RunFailed');
    expect(failed?.type).toBe('Warning');
    expect(failed?.message).toContain('full');
  }, 60_000);
});
