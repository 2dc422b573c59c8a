import {
  auditOf,
  runsOf,
  startKubeCluster,
  untilRuns,
  type KubeCluster,
} from '../support/kube-cluster.js';

const CLAIMS = ['db-0', 'db-1', 'db-2'];
const POLICY = 'shop/nightly';
const SCHEDULED_AT = 'snapwarden.io/scheduled-at';

describe('kubernetes mode with two scheduler and two worker replicas', () => {
  let cluster: KubeCluster;

  beforeAll(async () => {
    cluster = await startKubeCluster();
    await cluster.boundClaims(CLAIMS, { app: 'shop' });
    cluster.createPolicy('nightly', {
      schedule: '*/2 * * * * *',
      selector: { matchLabels: { app: 'shop' } },
      snapshotClassName: 'everest-snap',
      retention: { keepLast: 5 },
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('takes exactly one snapshot per tick per claim', async () => {
    const mark = cluster.sim.requestLog.mark();
    const [api, , ...workers] = await Promise.all([
      cluster.startApp({ SNAPWARDEN_ROLES: 'scheduler,api' }),
      cluster.startApp({ SNAPWARDEN_ROLES: 'scheduler' }),
      cluster.startApp({ SNAPWARDEN_ROLES: 'worker' }),
      cluster.startApp({ SNAPWARDEN_ROLES: 'worker' }),
    ]);
    await untilRuns(api, POLICY, 'succeeded', 6, 30_000);
    // Workers finish their active jobs on SIGTERM, so every accepted creation is audited.
    await Promise.all(workers.map((w) => w.stop()));
    const runs = await runsOf(api, POLICY);
    const audit = await auditOf(api, POLICY);

    // One run per tick, each volume done once. Ticks that fell before the workers were up
    // never ran: they are recorded as missed, with no volumes. A tick that fires while the
    // previous run's job of a claim is still queued or running (every 2 s, on a loaded machine)
    // skips that claim, as concurrencyPolicy Forbid (the default) says; nothing else may keep a
    // volume from succeeding.
    expect(new Set(runs.map((r) => r.scheduledAt)).size).toBe(runs.length);
    for (const run of runs.filter((r) => r.state !== 'running' && r.state !== 'missed')) {
      expect(run.volumes.map((v) => v.volume).sort()).toEqual(CLAIMS);
      const forbidden = (v: { state: string; reason?: string }) =>
        v.state === 'skipped' && /concurrencyPolicy Forbid/.test(v.reason ?? '');
      expect(run.volumes.filter((v) => v.state !== 'succeeded' && !forbidden(v))).toEqual([]);
    }
    // Every creation the API server accepted is a distinct (claim, tick).
    const creations = audit.filter((e) => e.type === 'snapshot.created');
    const names = creations.map((e) => e.snapshot);
    expect(new Set(names).size).toBe(names.length);
    const accepted = cluster.sim.requestLog
      .since(mark)
      .filter((r) => r.verb === 'create' && r.resource === 'volumesnapshots' && r.status === 201);
    expect(accepted.length).toBe(new Set(names).size);
    for (const claim of CLAIMS) {
      const ticks = cluster.managedSnapshotsOf(claim).map((s) => s.metadata.labels?.[SCHEDULED_AT]);
      expect(new Set(ticks).size).toBe(ticks.length);
    }
  }, 60_000);
});
