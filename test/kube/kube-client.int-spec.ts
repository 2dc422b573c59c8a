import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KubeApiError,
  KubeClient,
  TokenBucket,
  loadKubeConfig,
  type VolumeSnapshot,
} from '#lib/kube';
import { type KubeSim, eventually, simKubeConfig, startKubeSim } from '../k8s-sim/index.js';
import { seedStorage } from '../k8s-sim/scenario.js';

const FAST_RETRY = { baseDelayMs: 10, maxDelayMs: 50 };

function snapshotBody(name: string, namespace: string, claimName: string): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name, namespace },
    spec: { source: { persistentVolumeClaimName: claimName } },
  };
}

describe('KubeClient against the API-server simulator', () => {
  let sim: KubeSim;
  let client: KubeClient;

  beforeEach(async () => {
    sim = await startKubeSim({ snapshotReadyDelayMs: 20, provisionDelayMs: 10 });
    seedStorage(sim);
    client = new KubeClient(simKubeConfig(sim), { retry: FAST_RETRY });
  });

  afterEach(async () => {
    await sim.stop();
  });

  it('reads claims, storage classes and snapshot classes as plain typed objects', async () => {
    await client.createClaim({
      metadata: { name: 'data', namespace: 'default' },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '10Gi' } },
        storageClassName: 'csi-disk',
      },
    });
    const read = await client.getClaim('default', 'data');
    expect(read?.spec.storageClassName).toBe('csi-disk');
    expect(typeof read?.metadata.creationTimestamp).toBe('string');
    expect((await client.listClaims('default')).map((c) => c.metadata.name)).toEqual(['data']);
    expect((await client.getStorageClass('csi-disk'))?.provisioner).toBe('disk.csi.everest.io');
    expect(await client.getStorageClass('missing')).toBeUndefined();
    const classes = await client.listVolumeSnapshotClasses();
    expect(classes.map((c) => c.metadata.name).sort()).toEqual(['everest-snap', 'hostpath-retain']);
  });

  it('maps API failures to KubeApiError with status code and reason', async () => {
    await client.createVolumeSnapshot(snapshotBody('s1', 'default', 'data'));
    const error = await client
      .createVolumeSnapshot(snapshotBody('s1', 'default', 'data'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ statusCode: 409, reason: 'AlreadyExists', alreadyExists: true });
  });

  it('treats deleting a snapshot that is gone as success', async () => {
    await expect(client.deleteVolumeSnapshot('default', 'never-existed')).resolves.toBeUndefined();
  });

  it('retries a read that gets 500 and succeeds', async () => {
    sim.faults.failNext({ verb: 'get', resource: 'storageclasses', status: 500, times: 2 });
    const mark = sim.requestLog.mark();
    expect((await client.getStorageClass('csi-disk'))?.provisioner).toBe('disk.csi.everest.io');
    expect(sim.requestLog.count('get', 'storageclasses', mark)).toBe(3);
  });

  it('does not retry a create that gets 500 (it may have happened)', async () => {
    sim.faults.failNext({ verb: 'create', resource: 'volumesnapshots', status: 500 });
    const mark = sim.requestLog.mark();
    await expect(
      client.createVolumeSnapshot(snapshotBody('s2', 'default', 'data')),
    ).rejects.toMatchObject({
      statusCode: 500,
    });
    expect(sim.requestLog.count('create', 'volumesnapshots', mark)).toBe(1);
  });

  it('retries a 429 after the Retry-After the server sent, for writes too', async () => {
    sim.faults.failNext({
      verb: 'create',
      resource: 'volumesnapshots',
      status: 429,
      retryAfterSeconds: 1,
    });
    const started = Date.now();
    const created = await client.createVolumeSnapshot(snapshotBody('s3', 'default', 'data'));
    expect(created.metadata.name).toBe('s3');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up after the configured attempts and reports the last error', async () => {
    const limited = new KubeClient(simKubeConfig(sim), {
      retry: { ...FAST_RETRY, maxAttempts: 2 },
    });
    sim.faults.failNext({ verb: 'get', resource: 'storageclasses', status: 503, times: 5 });
    await expect(limited.getStorageClass('csi-disk')).rejects.toMatchObject({ statusCode: 503 });
  });

  it('rate-limits requests: N requests take at least (N - burst) / qps seconds', async () => {
    const limited = new KubeClient(simKubeConfig(sim), { qps: 20, burst: 5 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 15 }, () => limited.getStorageClass('csi-disk')));
    // 10 requests beyond the burst at 20/s: at least 500 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(480);
  });

  it('retries a status patch that conflicts, re-reading the object before each attempt', async () => {
    const created = await client.createVolumeSnapshot(snapshotBody('s4', 'default', 'data'));
    expect(created.metadata.uid).toBeDefined();
    sim.faults.failNext({
      verb: 'patch',
      resource: 'volumesnapshots/status',
      status: 409,
      times: 2,
    });
    const mark = sim.requestLog.mark();
    let computed = 0;
    const patched = await client.patchCustomStatus<VolumeSnapshot>(
      'snapshot.storage.k8s.io',
      'v1',
      'volumesnapshots',
      'default',
      's4',
      (current) => {
        computed += 1;
        return { ...current.status, readyToUse: false, error: { message: 'patched' } };
      },
    );
    expect(patched.status?.error?.message).toBe('patched');
    expect(computed).toBe(3);
    expect(sim.requestLog.count('patch', 'volumesnapshots/status', mark)).toBe(3);
  });

  it('gives up on a status conflict that never clears', async () => {
    await client.createVolumeSnapshot(snapshotBody('s5', 'default', 'data'));
    sim.faults.failNext({
      verb: 'patch',
      resource: 'volumesnapshots/status',
      status: 409,
      times: 10,
    });
    await expect(
      client.patchCustomStatus(
        'snapshot.storage.k8s.io',
        'v1',
        'volumesnapshots',
        'default',
        's5',
        {
          readyToUse: false,
        },
      ),
    ).rejects.toMatchObject({ statusCode: 409, conflict: true });
  });

  it('records an event once and bumps its count when it repeats', async () => {
    const input = {
      involvedObject: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        name: 'data',
        namespace: 'default',
        uid: 'u1',
      },
      type: 'Warning' as const,
      reason: 'SnapshotFailed',
      message: 'limit reached',
      source: 'snapwarden-test',
    };
    await client.createEvent(input);
    await client.createEvent(input);
    const events = await eventually(async () => {
      const list = await client.core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: 'reason=SnapshotFailed',
      });
      return list.items.length === 1 && list.items[0]?.count === 2 ? list.items : undefined;
    });
    expect(events[0]).toMatchObject({
      type: 'Warning',
      message: 'limit reached',
      source: { component: 'snapwarden-test' },
    });
  });
});

describe('loadKubeConfig', () => {
  it('loads the kubeconfig file it is given, and the client works with it', async () => {
    const sim = await startKubeSim();
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    try {
      const path = join(dir, 'config');
      await sim.writeKubeconfig(path);
      const kc = loadKubeConfig({ kubeconfigPath: path, inCluster: true });
      expect(kc.getCurrentCluster()?.server).toBe(sim.url);
      expect(await new KubeClient(kc).getStorageClass('none')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
      await sim.stop();
    }
  });

  it('fails clearly when the kubeconfig file does not exist', () => {
    expect(() => loadKubeConfig({ kubeconfigPath: '/nonexistent/kubeconfig' })).toThrow(
      /ENOENT|no such file/,
    );
  });
});

describe('TokenBucket', () => {
  it('lets a burst through at once, then spaces requests by 1/qps', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    expect(bucket.reserve()).toBe(100);
    expect(bucket.reserve()).toBe(200);
    now = 1000;
    expect(bucket.reserve()).toBe(0);
  });

  it('rejects a limit that would never let a request through', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
  });
});
