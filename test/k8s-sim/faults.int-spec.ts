import {
  makeInformer,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { startKubeSim, type KubeSim } from './server.js';
import { eventually, simClients, type SimClients, statusOf } from './sim-client.js';

describe('k8s-sim fault injection and request log', () => {
  let sim: KubeSim;
  let c: SimClients;

  beforeAll(async () => {
    sim = await startKubeSim();
    c = simClients(sim);
  });
  afterEach(() => sim.faults.reset());
  afterAll(async () => {
    await sim.stop();
  });

  it('fails the next matching requests with 500, then lets them through', async () => {
    sim.faults.failNext({ verb: 'create', resource: 'configmaps', status: 500, times: 2 });
    const body = { metadata: { name: 'flaky' } };
    const first = await statusOf(c.core.createNamespacedConfigMap({ namespace: 'default', body }));
    expect(first.code).toBe(500);
    expect(first.status).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect(
      (await statusOf(c.core.createNamespacedConfigMap({ namespace: 'default', body }))).code,
    ).toBe(500);
    const created = await c.core.createNamespacedConfigMap({ namespace: 'default', body });
    expect(created.metadata?.name).toBe('flaky');
  });

  it('answers 429 with Retry-After and 503, matching only the targeted resource', async () => {
    sim.faults.failNext({ verb: 'list', resource: 'secrets', status: 429, retryAfterSeconds: 3 });
    sim.faults.failNext({ resource: 'secrets', status: 503 });
    await c.core.listNamespacedConfigMap({ namespace: 'default' });
    const throttled = await statusOf(c.core.listNamespacedSecret({ namespace: 'default' }));
    expect(throttled.code).toBe(429);
    expect(throttled.headers['retry-after']).toBe('3');
    expect(throttled.status).toMatchObject({
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 3 },
    });
    expect((await statusOf(c.core.listNamespacedSecret({ namespace: 'default' }))).code).toBe(503);
    await c.core.listNamespacedSecret({ namespace: 'default' });
  });

  it('injects a 409 Conflict on updates', async () => {
    sim.faults.failNext({ verb: 'patch', resource: 'configmaps', name: 'flaky', status: 409 });
    const patch = (): Promise<unknown> =>
      c.core.patchNamespacedConfigMap(
        { name: 'flaky', namespace: 'default', body: { data: { a: '1' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    const conflict = await statusOf(patch());
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
    await patch();
  });

  it('adds latency to matching requests', async () => {
    sim.faults.latency(120, { verb: 'get' });
    const started = Date.now();
    await c.core.readNamespacedConfigMap({ name: 'flaky', namespace: 'default' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    sim.faults.reset();
    const quick = Date.now();
    await c.core.readNamespacedConfigMap({ name: 'flaky', namespace: 'default' });
    expect(Date.now() - quick).toBeLessThan(100);
  });

  it('logs every request with its verb, resource, namespace, name and status', async () => {
    const mark = sim.requestLog.mark();
    await c.core.listNamespacedConfigMap({ namespace: 'default' });
    await c.core.listConfigMapForAllNamespaces();
    await statusOf(c.core.readNamespacedConfigMap({ name: 'missing', namespace: 'default' }));
    await c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'logged' } },
    });
    await c.core.replaceNamespacedConfigMap({
      name: 'logged',
      namespace: 'default',
      body: { metadata: { name: 'logged' }, data: { x: 'y' } },
    });
    await c.core
      .patchNamespacedPersistentVolumeClaimStatus(
        { name: 'nothing', namespace: 'default', body: {} },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .catch(() => undefined);
    await c.core.deleteNamespacedConfigMap({ name: 'logged', namespace: 'default' });
    await c.core.deleteCollectionNamespacedConfigMap({
      namespace: 'default',
      labelSelector: 'none=here',
    });
    const records = sim.requestLog.since(mark);
    expect(records.map((r) => `${r.verb} ${r.resource ?? ''} ${r.status}`)).toEqual([
      'list configmaps 200',
      'list configmaps 200',
      'get configmaps 404',
      'create configmaps 201',
      'update configmaps 200',
      'patch persistentvolumeclaims/status 404',
      'delete configmaps 200',
      'deletecollection configmaps 200',
    ]);
    expect(records[2]).toMatchObject({ namespace: 'default', name: 'missing' });
    expect(records[1]?.namespace).toBeUndefined();
    expect(sim.requestLog.counts(mark).byVerb).toEqual({
      list: 2,
      get: 1,
      create: 1,
      update: 1,
      patch: 1,
      delete: 1,
      deletecollection: 1,
    });
    expect(sim.requestLog.counts(mark).byVerbResource['list configmaps']).toBe(2);
  });

  it('shows that a synced informer does no further LISTs', async () => {
    const informer = makeInformer<KubernetesObject>(
      c.kc,
      '/api/v1/namespaces/default/configmaps',
      () => c.core.listNamespacedConfigMap({ namespace: 'default' }),
    );
    const seen = new Set<string>();
    informer.on('add', (o) => seen.add(o.metadata?.name ?? ''));
    await informer.start();
    try {
      await eventually(() => seen.has('flaky'), 2000, 'synced');
      const mark = sim.requestLog.mark();
      for (const name of ['job-1', 'job-2', 'job-3']) {
        await c.core.createNamespacedConfigMap({
          namespace: 'default',
          body: { metadata: { name } },
        });
      }
      await eventually(() => seen.has('job-3'), 2000, 'informer saw the jobs');
      const counts = sim.requestLog.counts(mark);
      expect(counts.byVerb.list).toBeUndefined();
      expect(counts.byVerb.create).toBe(3);
      expect(sim.requestLog.count('watch', 'configmaps')).toBe(1);
    } finally {
      await informer.stop();
    }
  });
});
