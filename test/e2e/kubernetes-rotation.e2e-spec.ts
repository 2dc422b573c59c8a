import type { AppProcess } from '../support/app-process.js';
import { startKubeCluster, sleep, untilRuns, type KubeCluster } from '../support/kube-cluster.js';

const CLAIMS = ['db-0', 'db-1', 'db-2'];
const POLICY = 'shop/nightly';

describe('kubernetes mode: one policy over three everest claims (cap 7)', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    await cluster.boundClaims(CLAIMS, { app: 'shop' });
    cluster.createPolicy('nightly', {
      schedule: '*/2 * * * * *',
      selector: { matchLabels: { app: 'shop' } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 5 },
      reservedSlots: 1,
    });
    app = await cluster.startApp();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('keeps at most six ready snapshots per claim, writes the policy status and Events, and lists nothing per job', async () => {
    // The first finished run proves the informers synced; measure from there.
    await untilRuns(app, POLICY, 'succeeded', 1);
    const log = cluster.sim.requestLog;
    const mark = log.mark();
    let peak = 0;
    const sampler = setInterval(() => {
      for (const claim of CLAIMS) peak = Math.max(peak, cluster.snapshotsOf(claim).length);
    }, 100);
    const runs = await untilRuns(app, POLICY, 'succeeded', 9, 35_000).finally(() =>
      clearInterval(sampler),
    );
    const window = log.since(mark);
    expect(await app.stop()).toBe(0);
    await sleep(300);

    // Rotation happened (more snapshots were taken than kept) and never crossed keepLast+1.
    expect(runs.length).toBeGreaterThanOrEqual(9);
    expect(peak).toBeLessThanOrEqual(6);
    for (const claim of CLAIMS) {
      const snapshots = cluster.managedSnapshotsOf(claim);
      expect(snapshots.length).toBeGreaterThanOrEqual(5);
      expect(snapshots.length).toBeLessThanOrEqual(6);
      expect(snapshots.every((s) => s.status?.readyToUse === true)).toBe(true);
    }

    const status = cluster.policy('nightly')?.status;
    expect(status).toMatchObject({
      observedGeneration: 1,
      lastRun: { result: 'Succeeded', volumes: { total: 3, succeeded: 3, failed: 0 } },
    });
    expect(Date.parse(status?.lastSuccessTime ?? '')).not.toBeNaN();
    expect(Date.parse(status?.lastRunTime ?? '')).not.toBeNaN();
    expect(status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'True' }),
        expect.objectContaining({ type: 'Scheduled', status: 'True' }),
      ]),
    );
    const events = cluster.policyEvents('nightly');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'Normal', reason: 'RunSucceeded' }),
    );
    // A Normal Event only when it is news: the first success, and the first after each Warning.
    const successes = events.filter((e) => e.reason === 'RunSucceeded').length;
    const warnings = events.filter((e) => e.type === 'Warning').length;
    expect(successes).toBeLessThanOrEqual(1 + warnings);

    // After the informers synced: no LIST per job, and few requests per snapshot lifecycle.
    const resourceRequests = window.filter((r) => r.resource !== undefined);
    const lists = resourceRequests.filter((r) => r.verb === 'list');
    expect(lists).toEqual([]);
    const created = resourceRequests.filter(
      (r) => r.verb === 'create' && r.resource === 'volumesnapshots' && r.status === 201,
    ).length;
    const snapshotRequests = resourceRequests.filter(
      (r) =>
        r.verb !== 'watch' && r.resource !== 'events' && !r.resource?.startsWith('backuppolicies'),
    );
    const perLifecycle = snapshotRequests.length / created;
    const withStatus = resourceRequests.filter((r) => r.verb !== 'watch').length / created;
    process.stdout.write(
      `API requests per snapshot lifecycle: ${perLifecycle.toFixed(2)} ` +
        `(${snapshotRequests.length} for ${created} snapshots; ${withStatus.toFixed(2)} with policy status and Events) ` +
        `${JSON.stringify(cluster.sim.requestLog.counts(mark).byVerbResource)}\n`,
    );
    expect(created).toBeGreaterThan(0);
    expect(perLifecycle).toBeLessThanOrEqual(3);
    expect(withStatus).toBeLessThanOrEqual(3);
  }, 60_000);
});
