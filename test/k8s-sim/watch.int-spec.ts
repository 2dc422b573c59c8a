import { makeInformer, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { startKubeSim, type KubeSim } from './server.js';
import { eventually, simClients, type SimClients } from './sim-client.js';

interface Seen {
  type: string;
  name: string;
  rv: string;
  code?: number;
}

/** Opens a raw watch and collects its events until stopped. */
async function collect(
  c: SimClients,
  path: string,
  params: Record<string, string | number | boolean | undefined>,
): Promise<{ seen: Seen[]; done: Promise<unknown>; stop: () => void }> {
  const seen: Seen[] = [];
  let finish: (err: unknown) => void = () => undefined;
  const done = new Promise((resolve) => (finish = resolve));
  const controller = await c.watch.watch(
    path,
    params,
    (
      type: string,
      obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number },
    ) => {
      seen.push({
        type,
        name: obj.metadata?.name ?? '',
        rv: obj.metadata?.resourceVersion ?? '',
        code: obj.code,
      });
    },
    (err: unknown) => finish(err),
  );
  return { seen, done, stop: () => controller.abort() };
}

describe('k8s-sim watches and informers', () => {
  let sim: KubeSim;
  let c: SimClients;
  const path = '/api/v1/namespaces/default/configmaps';

  beforeAll(async () => {
    sim = await startKubeSim({ watchHistoryLimit: 50, bookmarkIntervalMs: 50 });
    c = simClients(sim);
  });
  afterAll(async () => {
    await sim.stop();
  });

  const put = (name: string, labels: Record<string, string> = {}): Promise<V1ConfigMap> =>
    c.core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name, labels }, data: { v: '1' } },
    });

  it('replays events after a resourceVersion, then streams live ones', async () => {
    const first = await put('w-a');
    await put('w-b');
    const watch = await collect(c, path, { resourceVersion: first.metadata?.resourceVersion });
    await c.core.deleteNamespacedConfigMap({ name: 'w-a', namespace: 'default' });
    await eventually(() => watch.seen.length >= 2, 2000, 'two events');
    watch.stop();
    expect(watch.seen.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED w-b', 'DELETED w-a']);
    expect(Number(watch.seen[1]?.rv)).toBeGreaterThan(Number(watch.seen[0]?.rv));
  });

  it('sends the current state as ADDED when no resourceVersion is given', async () => {
    const watch = await collect(c, path, {});
    await eventually(() => watch.seen.some((e) => e.name === 'w-b'), 2000, 'w-b');
    watch.stop();
    expect(watch.seen.every((e) => e.type === 'ADDED')).toBe(true);
  });

  it('filters by label selector and turns selector transitions into ADDED/DELETED', async () => {
    const list = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    const watch = await collect(c, path, {
      resourceVersion: list.metadata?.resourceVersion,
      labelSelector: 'team=a',
    });
    await put('w-sel', { team: 'b' });
    await c.core.patchNamespacedConfigMap({
      name: 'w-sel',
      namespace: 'default',
      body: [{ op: 'replace', path: '/metadata/labels/team', value: 'a' }],
    });
    await c.core.patchNamespacedConfigMap({
      name: 'w-sel',
      namespace: 'default',
      body: [{ op: 'replace', path: '/metadata/labels/team', value: 'c' }],
    });
    await eventually(() => watch.seen.length >= 2, 2000, 'selector events');
    watch.stop();
    expect(watch.seen.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
  });

  it('answers a too-old resourceVersion with an ERROR event carrying 410 Expired, then ends', async () => {
    const list = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    const oldRv = list.metadata?.resourceVersion;
    await put('w-compact');
    sim.faults.compactHistory();
    const watch = await collect(c, path, { resourceVersion: oldRv });
    await watch.done;
    expect(watch.seen).toEqual([expect.objectContaining({ type: 'ERROR', code: 410 })]);
  });

  it('also expires history beyond the retention window', async () => {
    const list = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    for (let i = 0; i < 60; i += 1) await put(`w-many-${i}`);
    const watch = await collect(c, path, { resourceVersion: list.metadata?.resourceVersion });
    await watch.done;
    expect(watch.seen[0]?.code).toBe(410);
  });

  it('sends BOOKMARKs when allowed and ends the stream after timeoutSeconds', async () => {
    const list = await c.core.listNamespacedConfigMap({ namespace: 'default' });
    const watch = await collect(c, path, {
      resourceVersion: list.metadata?.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
    });
    const err = await watch.done;
    expect(err).toBeNull();
    expect(watch.seen.filter((e) => e.type === 'BOOKMARK').length).toBeGreaterThan(3);
    expect(
      watch.seen.every(
        (e) => e.type !== 'BOOKMARK' || Number(e.rv) >= Number(list.metadata?.resourceVersion),
      ),
    ).toBe(true);
  });

  it('serves an informer that relists after 410 Gone and resumes after dropped watches', async () => {
    await c.core.createNamespace({ body: { metadata: { name: 'inf' } } });
    const informerPath = '/api/v1/namespaces/inf/configmaps';
    const informer = makeInformer<KubernetesObject>(c.kc, informerPath, () =>
      c.core.listNamespacedConfigMap({ namespace: 'inf' }),
    );
    const names = new Set<string>();
    let stopped = false;
    informer.on('add', (o) => names.add(o.metadata?.name ?? ''));
    informer.on('delete', (o) => names.delete(o.metadata?.name ?? ''));
    // client-node stops on a watch error; restarting is the documented recovery.
    informer.on('error', () => {
      if (!stopped) setTimeout(() => void informer.start(), 20);
    });
    try {
      await informer.start();
      const create = (name: string, namespace = 'inf'): Promise<V1ConfigMap> =>
        c.core.createNamespacedConfigMap({ namespace, body: { metadata: { name } } });
      await create('one');
      await eventually(() => names.has('one'), 2000, 'informer add');

      const lists = sim.requestLog.count('list', 'configmaps');
      // A change the informer does not see moves the history past its resourceVersion.
      await create('elsewhere', 'default');
      sim.faults.compactHistory();
      expect(sim.faults.dropWatches()).toBeGreaterThan(0);
      await create('two');
      await eventually(() => names.has('two'), 3000, 'informer after drop');
      expect(sim.requestLog.count('list', 'configmaps')).toBeGreaterThan(lists);
      await c.core.deleteNamespacedConfigMap({ name: 'one', namespace: 'inf' });
      await eventually(() => !names.has('one'), 3000, 'informer delete');
      const watches = sim.requestLog.count('watch', 'configmaps');
      sim.faults.dropWatches('graceful');
      await create('three');
      await eventually(() => names.has('three'), 3000, 'informer after graceful end');
      expect(sim.requestLog.count('watch', 'configmaps')).toBeGreaterThan(watches);
    } finally {
      stopped = true;
      await informer.stop();
    }
  });
});
