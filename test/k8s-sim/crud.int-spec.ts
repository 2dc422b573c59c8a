import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { startKubeSim, type KubeSim } from './server.js';
import { simClients, type SimClients, statusOf } from './sim-client.js';

function claim(name: string, labels: Record<string, string> = {}): V1PersistentVolumeClaim {
  return {
    metadata: { name, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      storageClassName: 'none',
    },
  };
}

describe('k8s-sim CRUD through @kubernetes/client-node', () => {
  let sim: KubeSim;
  let c: SimClients;

  beforeAll(async () => {
    sim = await startKubeSim();
    c = simClients(sim);
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('creates with server-set metadata and reads it back', async () => {
    const created = await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: claim('crud-a'),
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.status?.phase).toBe('Pending');
    expect(created.spec?.volumeMode).toBe('Filesystem');
    const read = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'crud-a',
      namespace: 'default',
    });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('answers 404 with a NotFound Status naming the object', async () => {
    const caught = await statusOf(
      c.core.readNamespacedPersistentVolumeClaim({ name: 'missing', namespace: 'default' }),
    );
    expect(caught.code).toBe(404);
    expect(caught.status).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      message: 'persistentvolumeclaims "missing" not found',
      details: { name: 'missing', kind: 'persistentvolumeclaims' },
      code: 404,
    });
  });

  it('answers 409 AlreadyExists on a duplicate create', async () => {
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: claim('crud-dup'),
    });
    const caught = await statusOf(
      c.core.createNamespacedPersistentVolumeClaim({
        namespace: 'default',
        body: claim('crud-dup'),
      }),
    );
    expect(caught.code).toBe(409);
    expect(caught.status.reason).toBe('AlreadyExists');
  });

  it('generates names from generateName', async () => {
    const body = { ...claim(''), metadata: { generateName: 'gen-' } };
    const created = await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body,
    });
    expect(created.metadata?.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('requires the namespace to exist and rejects invalid objects with 422', async () => {
    const missingNs = await statusOf(
      c.core.createNamespacedPersistentVolumeClaim({ namespace: 'nowhere', body: claim('x') }),
    );
    expect(missingNs.code).toBe(404);
    expect(missingNs.status.message).toBe('namespaces "nowhere" not found');
    const bad = await statusOf(
      c.core.createNamespacedPersistentVolumeClaim({
        namespace: 'default',
        body: { metadata: { name: 'Bad_Name' }, spec: {} },
      }),
    );
    expect(bad.code).toBe(422);
    expect(bad.status.reason).toBe('Invalid');
    const fields = (bad.status.details as { causes: { field: string }[] }).causes.map(
      (cause) => cause.field,
    );
    expect(fields).toEqual(
      expect.arrayContaining(['metadata.name', 'spec.accessModes', 'spec.resources[storage]']),
    );
  });

  it('lists with label selectors of every operator', async () => {
    await c.core.createNamespace({ body: { metadata: { name: 'sel' } } });
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'sel',
      body: claim('a', { app: 'shop', tier: 'db' }),
    });
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'sel',
      body: claim('b', { app: 'shop', tier: 'web' }),
    });
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'sel',
      body: claim('c', { app: 'blog' }),
    });
    const names = async (labelSelector: string): Promise<string[]> =>
      (
        await c.core.listNamespacedPersistentVolumeClaim({ namespace: 'sel', labelSelector })
      ).items.map((i) => i.metadata?.name ?? '');
    expect(await names('app=shop')).toEqual(['a', 'b']);
    expect(await names('app==shop,tier!=db')).toEqual(['b']);
    expect(await names('tier in (db,cache)')).toEqual(['a']);
    expect(await names('tier notin (db)')).toEqual(['b', 'c']);
    expect(await names('tier')).toEqual(['a', 'b']);
    expect(await names('!tier')).toEqual(['c']);
    const bad = await statusOf(
      c.core.listNamespacedPersistentVolumeClaim({ namespace: 'sel', labelSelector: 'a in b' }),
    );
    expect(bad.code).toBe(400);
  });

  it('lists across namespaces, by field selector, and in pages', async () => {
    const all = await c.core.listPersistentVolumeClaimForAllNamespaces({
      fieldSelector: 'metadata.namespace=sel',
    });
    expect(all.items.map((i) => i.metadata?.name)).toEqual(['a', 'b', 'c']);
    expect(Number(all.metadata?.resourceVersion)).toBeGreaterThan(0);
    const byName = await c.core.listNamespacedPersistentVolumeClaim({
      namespace: 'sel',
      fieldSelector: 'metadata.name=b',
    });
    expect(byName.items.map((i) => i.metadata?.name)).toEqual(['b']);
    const first = await c.core.listNamespacedPersistentVolumeClaim({ namespace: 'sel', limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.metadata?.remainingItemCount).toBe(1);
    const second = await c.core.listNamespacedPersistentVolumeClaim({
      namespace: 'sel',
      limit: 2,
      _continue: first.metadata?._continue,
    });
    expect(second.items.map((i) => i.metadata?.name)).toEqual(['c']);
    expect(second.metadata?._continue).toBeUndefined();
    const unsupported = await statusOf(
      c.core.listNamespacedPersistentVolumeClaim({
        namespace: 'sel',
        fieldSelector: 'spec.volumeName=x',
      }),
    );
    expect(unsupported.code).toBe(400);
  });

  it('rejects a stale resourceVersion on update with 409 Conflict', async () => {
    const created = await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'occ' }, data: { a: '1' } },
    });
    const updated = await c.core.replaceNamespacedConfigMap({
      name: 'occ',
      namespace: 'default',
      body: { ...created, data: { a: '2' } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    const caught = await statusOf(
      c.core.replaceNamespacedConfigMap({
        name: 'occ',
        namespace: 'default',
        body: { ...created, data: { a: '3' } },
      }),
    );
    expect(caught.code).toBe(409);
    expect(caught.status.reason).toBe('Conflict');
    expect(caught.status.message).toContain('the object has been modified');
  });

  it('applies merge patches and JSON patches, honouring the test op', async () => {
    await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'patchy' }, data: { a: '1', b: '2' } },
    });
    const merged = await c.core.patchNamespacedConfigMap(
      { name: 'patchy', namespace: 'default', body: { data: { a: null, c: '3' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.data).toEqual({ b: '2', c: '3' });
    const patched = await c.core.patchNamespacedConfigMap({
      name: 'patchy',
      namespace: 'default',
      body: [
        { op: 'test', path: '/data/b', value: '2' },
        { op: 'replace', path: '/data/b', value: '20' },
      ],
    });
    expect(patched.data).toEqual({ b: '20', c: '3' });
    const failed = await statusOf(
      c.core.patchNamespacedConfigMap({
        name: 'patchy',
        namespace: 'default',
        body: [{ op: 'test', path: '/data/b', value: 'nope' }],
      }),
    );
    expect(failed.code).toBe(422);
    expect(failed.status.message).toContain('test failed');
  });

  it('refuses data changes to an immutable ConfigMap', async () => {
    await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'frozen' }, data: { a: '1' }, immutable: true },
    });
    const caught = await statusOf(
      c.core.patchNamespacedConfigMap(
        { name: 'frozen', namespace: 'default', body: { data: { a: '2' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(caught.code).toBe(422);
    expect((caught.status.details as { causes: { field: string }[] }).causes[0]?.field).toBe(
      'data',
    );
  });

  it('skips no-op updates: same resourceVersion, no new revision', async () => {
    const created = await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'noop' }, data: { a: '1' } },
    });
    const again = await c.core.patchNamespacedConfigMap(
      { name: 'noop', namespace: 'default', body: { data: { a: '1' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(again.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  it('keeps status out of main-resource writes and spec out of status writes', async () => {
    const created = await c.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: claim('status-split'),
    });
    const mainWrite = await c.core.patchNamespacedPersistentVolumeClaim(
      {
        name: 'status-split',
        namespace: 'default',
        body: { metadata: { labels: { x: 'y' } }, status: { phase: 'Bound' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(mainWrite.status?.phase).toBe('Pending');
    expect(mainWrite.metadata?.labels).toEqual({ x: 'y' });
    const statusWrite = await c.core.patchNamespacedPersistentVolumeClaimStatus(
      {
        name: 'status-split',
        namespace: 'default',
        body: { metadata: { labels: { x: 'z' } }, status: { phase: 'Lost' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(statusWrite.status?.phase).toBe('Lost');
    expect(statusWrite.metadata?.labels).toEqual({ x: 'y' });
    expect(statusWrite.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('keeps an object with finalizers until they are removed', async () => {
    await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
    });
    await c.core.deleteNamespacedConfigMap({ name: 'fin', namespace: 'default' });
    const still = await c.core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' });
    expect(still.metadata?.deletionTimestamp).toBeDefined();
    const blocked = await statusOf(
      c.core.patchNamespacedConfigMap(
        {
          name: 'fin',
          namespace: 'default',
          body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(blocked.code).toBe(422);
    await c.core.patchNamespacedConfigMap(
      { name: 'fin', namespace: 'default', body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const gone = await statusOf(
      c.core.readNamespacedConfigMap({ name: 'fin', namespace: 'default' }),
    );
    expect(gone.code).toBe(404);
  });

  it('applies strategic merge patches to built-ins, merging lists by key', async () => {
    await c.apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'smp' },
        spec: {
          selector: { matchLabels: { app: 'smp' } },
          template: {
            metadata: { labels: { app: 'smp' } },
            spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }] }] },
          },
        },
      },
    });
    const patched = await c.apps.patchNamespacedDeployment(
      {
        name: 'smp',
        namespace: 'default',
        body: {
          spec: {
            template: { spec: { containers: [{ name: 'a', env: [{ name: 'B', value: '2' }] }] } },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(patched.spec?.template.spec?.containers[0]?.image).toBe('x');
    expect(patched.spec?.template.spec?.containers[0]?.env?.map((e) => e.name)).toEqual(['A', 'B']);
    expect(patched.metadata?.generation).toBe(2);
  });

  it('writes a kubeconfig that client-node loads as is', async () => {
    const kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig({ namespace: 'sel' }));
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('sel');
    const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(['default', 'kube-system', 'sel']),
    );
  });

  it('serves discovery for built-ins and preinstalled snapshot CRDs', async () => {
    const res = await fetch(`${sim.url}/apis/snapshot.storage.k8s.io/v1`);
    const list = (await res.json()) as { resources: { name: string; shortNames?: string[] }[] };
    expect(list.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'volumesnapshots',
        'volumesnapshots/status',
        'volumesnapshotcontents',
        'volumesnapshotclasses',
      ]),
    );
    expect(list.resources.find((r) => r.name === 'volumesnapshots')?.shortNames).toEqual(['vs']);
    const core = (await (await fetch(`${sim.url}/api/v1`)).json()) as {
      resources: { name: string; shortNames?: string[] }[];
    };
    expect(core.resources.find((r) => r.name === 'persistentvolumeclaims')?.shortNames).toEqual([
      'pvc',
    ]);
  });
});
