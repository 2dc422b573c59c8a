import { Redis } from 'ioredis';
import { eventually, type AppProcess } from '../support/app-process.js';
import { startKubeCluster, untilRuns, type KubeCluster } from '../support/kube-cluster.js';

const POLICY = 'shop/daily';

/** A daily six-field cron that fires once, `leadS` seconds from now (UTC). */
function onceSoon(leadS: number): string {
  const at = new Date(Math.ceil((Date.now() + leadS * 1000) / 1000) * 1000);
  return `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

describe('kubernetes mode: a run whose status write was lost', () => {
  let cluster: KubeCluster;
  let app: AppProcess;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    await cluster.boundClaims(['db-0', 'db-1'], { app: 'shop' });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('reaches the policy once the API server takes writes again, though the policy does not run again', async () => {
    app = await cluster.startApp({
      SNAPWARDEN_RESYNC_INTERVAL: '1s',
      SNAPWARDEN_STATUS_CATCH_UP_AFTER: '1s',
    });
    // The catch-up's first pass has taken the (no) runs before it as told.
    const redis = new Redis(cluster.redis.url);
    try {
      await eventually(
        async () => ((await redis.exists('snapwarden:status-told:seeded')) ? true : undefined),
        20_000,
        'the first catch-up pass',
      );
    } finally {
      redis.disconnect();
    }
    // Every status write refused from here on, the run's end included.
    const mark = cluster.sim.requestLog.mark();
    cluster.sim.faults.failNext({ resource: 'backuppolicies/status', status: 500, times: 100_000 });
    // Runs once: without the catch-up, its status would wait for tomorrow's run.
    cluster.createPolicy('daily', {
      schedule: onceSoon(8),
      timeZone: 'UTC',
      selector: { matchLabels: { app: 'shop' } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 3 },
    });
    const [run] = await untilRuns(app, POLICY, 'succeeded', 1);
    // The worker tried (with its retries) and gave up: the run is closed, its status not written.
    await eventually(
      () =>
        Promise.resolve(
          app.output().includes(`BackupPolicy ${POLICY}: patch status for run ${run!.id} failed`)
            ? true
            : undefined,
        ),
      30_000,
      'the failed status write logged',
    );
    const refused = cluster.sim.requestLog
      .since(mark)
      .filter((r) => r.resource === 'backuppolicies/status' && r.status === 500);
    expect(refused.length).toBeGreaterThan(0);
    expect(cluster.policy('daily')?.status?.lastRun).toBeUndefined();

    cluster.sim.faults.reset();
    const status = await eventually(
      () => {
        const current = cluster.policy('daily')?.status;
        return Promise.resolve(current?.lastRun?.id === run!.id ? current : undefined);
      },
      30_000,
      `status.lastRun ${run!.id}`,
    );
    expect(status.lastRun).toMatchObject({
      result: 'Succeeded',
      volumes: { total: 2, succeeded: 2, failed: 0 },
    });
    expect(Date.parse(status.lastSuccessTime ?? '')).not.toBeNaN();
    expect(cluster.policyEvents('daily')).toContainEqual(
      expect.objectContaining({ type: 'Normal', reason: 'RunSucceeded' }),
    );
    // Loud: the catch-up says which run it wrote late.
    expect(app.output()).toContain(`status and Event of run ${run!.id} had not been written`);
  }, 120_000);
});
