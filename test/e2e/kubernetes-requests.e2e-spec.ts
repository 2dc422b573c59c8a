import type { KubeObject } from '../k8s-sim/index.js';
import { eventually, getJson, type AppProcess } from '../support/app-process.js';
import { runCli } from '../support/cli-process.js';
import {
  POLICY_API,
  SNAPSHOT_API,
  startKubeCluster,
  type KubeCluster,
} from '../support/kube-cluster.js';

const TOKEN = 'kube-requests-token-0123456789';

interface RequestObject extends KubeObject {
  status?: {
    phase?: string;
    message?: string;
    field?: string;
    claimName?: string;
    runId?: string;
    expiryTime?: string;
    snapshots?: {
      claim: string;
      snapshotName?: string;
      readyToUse: boolean;
      state: string;
      error?: string;
    }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

/**
 * SnapshotRequest and RestoreRequest custom resources against the API-server simulator: the
 * objects are created the way `kubectl apply` creates them, the built app runs in kubernetes
 * mode, and everything is read back from the simulator (status, Events, VolumeSnapshots,
 * claims) and from the REST API (requests, runs, audit events).
 */
describe('kubernetes mode: SnapshotRequest and RestoreRequest resources', () => {
  let cluster: KubeCluster;
  let app: AppProcess;
  let ns: string;

  function create(kind: 'SnapshotRequest' | 'RestoreRequest', name: string, spec: unknown) {
    return cluster.sim.store.seed({
      apiVersion: POLICY_API,
      kind,
      metadata: { name, namespace: ns },
      spec,
    });
  }

  function read(kind: 'SnapshotRequest' | 'RestoreRequest', name: string) {
    const obj: RequestObject | undefined = cluster.sim.store.read(POLICY_API, kind, name, ns);
    return obj;
  }

  /** A ready VolumeSnapshot labelled as on-demand for `request`, with an expiry label. */
  function expectOnDemandSnapshot(name: string, request: string) {
    const snapshot: (KubeObject & { status?: { readyToUse?: boolean } }) | undefined =
      cluster.sim.store.read(SNAPSHOT_API, 'VolumeSnapshot', name, ns);
    expect(snapshot?.status?.readyToUse).toBe(true);
    expect(snapshot?.metadata.labels?.['snapwarden.io/on-demand']).toBe(request);
    expect(snapshot?.metadata.labels?.['snapwarden.io/expires-at']).toBeDefined();
  }

  /** Waits until the object's phase is final and returns it. */
  function finished(kind: 'SnapshotRequest' | 'RestoreRequest', name: string, timeoutMs = 20_000) {
    return eventually(
      () => {
        const obj = read(kind, name);
        const phase = obj?.status?.phase;
        return Promise.resolve(phase === 'Succeeded' || phase === 'Failed' ? obj : undefined);
      },
      timeoutMs,
      `${kind} ${name} finished`,
    );
  }

  /** The Events of an object, once there is at least one (they follow the status write). */
  function eventsOf(kind: string, name: string) {
    return eventually(
      () => Promise.resolve(eventsNow(kind, name).length > 0 ? eventsNow(kind, name) : undefined),
      10_000,
      `an Event on ${kind} ${name}`,
    );
  }

  function eventsNow(kind: string, name: string) {
    type EventObject = KubeObject & {
      involvedObject?: { kind?: string; name?: string };
      type: string;
      reason: string;
      message: string;
    };
    return (cluster.sim.store.items('v1', 'Event', ns) as unknown as EventObject[]).filter(
      (e) => e.involvedObject?.kind === kind && e.involvedObject.name === name,
    );
  }

  beforeAll(async () => {
    cluster = await startKubeCluster();
    ns = cluster.namespace;
    await cluster.boundClaims(['db-0', 'db-1'], { app: 'shop' });
    // Created while snapwarden is not running: picked up from the informer's first list.
    create('SnapshotRequest', 'before-start', {
      selector: { matchLabels: { app: 'shop' } },
      reason: 'pre-upgrade shop 2.4',
      ttl: '72h',
    });
    app = await cluster.startApp({ SNAPWARDEN_API_TOKEN: TOKEN });
  }, 30_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('snapshots every selected claim and reports Succeeded with each snapshot, an Event and the run', async () => {
    const obj = await finished('SnapshotRequest', 'before-start');
    expect(obj.status).toMatchObject({
      phase: 'Succeeded',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded' }],
    });
    const claims = obj.status?.snapshots ?? [];
    expect(claims.map((c) => c.claim).sort()).toEqual(['db-0', 'db-1']);
    for (const claim of claims) {
      expect(claim).toMatchObject({ readyToUse: true, state: 'succeeded' });
      expectOnDemandSnapshot(claim.snapshotName ?? '', 'before-start');
    }
    const expiry = Date.parse(obj.status?.expiryTime ?? '');
    const created = Date.parse(obj.metadata.creationTimestamp ?? '');
    expect(expiry - created).toBeGreaterThan(71 * 3_600_000);
    expect(expiry - created).toBeLessThan(73 * 3_600_000);
    expect(
      (await eventsOf('SnapshotRequest', 'before-start')).map((e) => [e.type, e.reason]),
    ).toEqual([['Normal', 'Succeeded']]);
    // The same request through the REST API and in the job history.
    const viaApi = await getJson<{ phase: string; trigger: string; uid?: string }>(
      app,
      `/api/v1/snapshot-requests/${ns}/before-start`,
    );
    expect(viaApi).toMatchObject({ phase: 'Succeeded', trigger: 'kube', uid: obj.metadata.uid });
    const run = await getJson<{ kind: string; state: string; message?: string }>(
      app,
      `/api/v1/runs/${obj.status?.runId ?? ''}`,
    );
    expect(run).toMatchObject({ kind: 'on-demand', state: 'succeeded' });
  }, 30_000);

  it('fails when one claim cannot be snapshotted, naming that claim, and still snapshots the other', async () => {
    create('SnapshotRequest', 'one-missing', { claimNames: ['db-0', 'gone'] });
    const obj = await finished('SnapshotRequest', 'one-missing');
    expect(obj.status?.phase).toBe('Failed');
    expect(obj.status?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Failed' });
    expect(obj.status?.message).toContain('gone');
    expect(obj.status?.message).not.toContain('db-0');
    const byClaim = new Map(obj.status?.snapshots?.map((s) => [s.claim, s]));
    expect(byClaim.get('db-0')).toMatchObject({ readyToUse: true, state: 'succeeded' });
    expect(byClaim.get('gone')).toMatchObject({ readyToUse: false, state: 'failed' });
    expect(byClaim.get('gone')?.error).toBeTruthy();
    const warning = (await eventsOf('SnapshotRequest', 'one-missing')).find(
      (e) => e.type === 'Warning',
    );
    expect(warning?.reason).toBe('Failed');
    expect(warning?.message).toContain('gone');
  }, 30_000);

  it('fails with DeadlineExceeded when the snapshots are not ready within timeoutSeconds', async () => {
    // Every VolumeSnapshot create now takes 8 s: the request's 2 s deadline passes first.
    cluster.sim.faults.latency(8_000, { verb: 'create', resource: 'volumesnapshots' });
    try {
      create('SnapshotRequest', 'too-slow', { claimNames: ['db-1'], timeoutSeconds: 2 });
      const obj = await finished('SnapshotRequest', 'too-slow');
      expect(obj.status?.phase).toBe('Failed');
      expect(obj.status?.conditions?.[0]).toMatchObject({
        status: 'False',
        reason: 'DeadlineExceeded',
      });
      expect(obj.status?.message).toMatch(/timed out after 2s; not ready: db-1/);
    } finally {
      cluster.sim.faults.reset();
    }
  }, 30_000);

  it.each([
    ['bad-ttl', { claimNames: ['db-0'], ttl: 'soon' }, 'spec.ttl'],
    ['far-ttl', { claimNames: ['db-0'], ttl: '99999999d' }, 'spec.ttl'],
    ['no-policy', { claimNames: ['db-0'], policyRef: { name: 'ghost' } }, 'spec.policyRef.name'],
  ])(
    'refuses %s, a spec the CRD lets through but snapwarden cannot use, naming the field, creating nothing',
    async (name, spec, field) => {
      const before = cluster.sim.store.items(SNAPSHOT_API, 'VolumeSnapshot', ns).length;
      create('SnapshotRequest', name, spec);
      const obj = await finished('SnapshotRequest', name);
      expect(obj.status).toMatchObject({
        phase: 'Failed',
        field,
        conditions: [{ status: 'False', reason: 'InvalidSpec' }],
      });
      expect(obj.status?.message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
      expect((await eventsOf('SnapshotRequest', name)).map((e) => e.reason)).toEqual([
        'InvalidSpec',
      ]);
      const response = await fetch(`${app.url}/api/v1/snapshot-requests/${ns}/${name}`);
      expect(response.status).toBe(404);
      expect(cluster.sim.store.items(SNAPSHOT_API, 'VolumeSnapshot', ns)).toHaveLength(before);
    },
    30_000,
  );

  it('refuses a name already used through the REST API without touching that request', async () => {
    const post = await fetch(`${app.url}/api/v1/snapshot-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        metadata: { namespace: ns, name: 'taken' },
        spec: { claimNames: ['db-0'] },
      }),
    });
    expect(post.status).toBe(201);
    create('SnapshotRequest', 'taken', { claimNames: ['db-1'] });
    const obj = await finished('SnapshotRequest', 'taken');
    expect(obj.status?.conditions?.[0]?.reason).toBe('NameTaken');
    expect(obj.status?.message).toContain('REST API');
    const original = await eventually(
      async () => {
        const r = await getJson<{ phase: string; spec: { claimNames: string[] } }>(
          app,
          `/api/v1/snapshot-requests/${ns}/taken`,
        );
        return r.phase === 'Succeeded' ? r : undefined;
      },
      20_000,
      'the API request finished',
    );
    expect(original.spec.claimNames).toEqual(['db-0']);
  }, 30_000);

  it('restores into a new claim from a RestoreRequest', async () => {
    const source = await finished('SnapshotRequest', 'before-start');
    const snapshot = source.status?.snapshots?.find((s) => s.claim === 'db-0')?.snapshotName;
    create('RestoreRequest', 'db-0-back', {
      snapshotName: snapshot,
      target: { claimName: 'db-0-restored', size: '10Gi' },
    });
    const obj = await finished('RestoreRequest', 'db-0-back');
    expect(obj.status).toMatchObject({
      phase: 'Succeeded',
      claimName: 'db-0-restored',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded' }],
    });
    const claim = cluster.sim.store.read('v1', 'PersistentVolumeClaim', 'db-0-restored', ns) as
      (KubeObject & { spec: { dataSource?: { kind: string; name: string } } }) | undefined;
    expect(claim?.spec.dataSource).toMatchObject({ kind: 'VolumeSnapshot', name: snapshot });
    expect((await eventsOf('RestoreRequest', 'db-0-back')).map((e) => e.reason)).toEqual([
      'Succeeded',
    ]);
  }, 30_000);

  it('fails a restore that breaks a rule, naming the field, and creates no claim', async () => {
    const source = await finished('SnapshotRequest', 'before-start');
    const snapshot = source.status?.snapshots?.find((s) => s.claim === 'db-1')?.snapshotName;
    create('RestoreRequest', 'too-small', {
      snapshotName: snapshot,
      target: { claimName: 'db-1-small', size: '1Gi' },
    });
    create('RestoreRequest', 'no-rollback', { snapshotName: snapshot, mode: 'Rollback' });
    const small = await finished('RestoreRequest', 'too-small');
    expect(small.status).toMatchObject({
      phase: 'Failed',
      field: 'spec.target.size',
      conditions: [{ status: 'False', reason: 'RestoreRuleViolated' }],
    });
    const rollback = await finished('RestoreRequest', 'no-rollback');
    expect(rollback.status).toMatchObject({ phase: 'Failed', field: 'spec.mode' });
    expect(cluster.sim.store.read('v1', 'PersistentVolumeClaim', 'db-1-small', ns)).toBeUndefined();
    const warning = (await eventsOf('RestoreRequest', 'too-small')).find(
      (e) => e.type === 'Warning',
    );
    expect(warning?.message).toBe(small.status?.message);
  }, 30_000);

  describe('the CLI with --kubeconfig, against the running app', () => {
    const kube = () => ['--kubeconfig', cluster.kubeconfigPath, '-n', ns];

    it('snapshot --wait prints each claim as it changes and exits 0', async () => {
      const result = await runCli([
        'snapshot',
        ...kube(),
        '-l',
        'app=shop',
        '--name',
        'cli-ok',
        '--wait',
        '--timeout',
        '30s',
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^db-0: ready \(cli-ok-db-0\)$/m);
      expect(result.stdout).toMatch(/^db-1: ready \(cli-ok-db-1\)$/m);
      // One line per change: each claim is reported ready exactly once.
      expect(result.stdout.match(/: ready /g)).toHaveLength(2);
      expect(read('SnapshotRequest', 'cli-ok')?.status?.phase).toBe('Succeeded');
    }, 30_000);

    it('snapshot --wait exits 3 when snapwarden fails the request at its deadline', async () => {
      cluster.sim.faults.latency(8_000, { verb: 'create', resource: 'volumesnapshots' });
      try {
        const result = await runCli([
          'snapshot',
          ...kube(),
          '--claim',
          'db-0',
          '--name',
          'cli-slow',
          '--wait',
          '--timeout',
          '2s',
        ]);
        expect(result.code).toBe(3);
        expect(result.stderr).toMatch(/timed out/);
        expect(result.stderr).toContain('db-0');
        const obj = read('SnapshotRequest', 'cli-slow');
        expect(obj?.status?.conditions?.[0]?.reason).toBe('DeadlineExceeded');
      } finally {
        cluster.sim.faults.reset();
      }
    }, 30_000);

    it('restore --wait exits 1 naming the broken rule, and 0 for a good restore', async () => {
      const source = await finished('SnapshotRequest', 'before-start');
      const snapshot = source.status?.snapshots?.find((s) => s.claim === 'db-1')?.snapshotName;
      const bad = await runCli([
        'restore',
        snapshot ?? '',
        ...kube(),
        '--to',
        'db-1-cli-small',
        '--size',
        '2Gi',
        '--wait',
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('spec.target.size');
      expect(
        cluster.sim.store.read('v1', 'PersistentVolumeClaim', 'db-1-cli-small', ns),
      ).toBeUndefined();
      const good = await runCli([
        'restore',
        snapshot ?? '',
        ...kube(),
        '--to',
        'db-1-cli-copy',
        '--size',
        '10Gi',
        '--wait',
        '-o',
        'json',
      ]);
      expect(good.code).toBe(0);
      expect(JSON.parse(good.stdout)).toMatchObject({
        phase: 'Succeeded',
        claimName: 'db-1-cli-copy',
      });
    }, 30_000);

    it('bad input exits 2 naming the problem, and creates no object', async () => {
      const before = cluster.sim.store.items(POLICY_API, 'SnapshotRequest', ns).length;
      const ttl = await runCli(['snapshot', ...kube(), '--claim', 'db-0', '--ttl', 'soon']);
      expect(ttl.code).toBe(2);
      expect(ttl.stderr).toContain('spec.ttl');
      const both = await runCli(['snapshot', ...kube(), '--claim', 'db-0', '-l', 'app=shop']);
      expect(both.code).toBe(2);
      const flag = await runCli(['snapshot', ...kube(), '--claim', 'db-0', '--bogus']);
      expect(flag.code).toBe(2);
      expect(flag.stderr).toContain('--bogus');
      expect(cluster.sim.store.items(POLICY_API, 'SnapshotRequest', ns)).toHaveLength(before);
    }, 30_000);
  });

  it('is ready only with both request informers synced', async () => {
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
