import { Informer, KubeClient, type VolumeSnapshot } from '#lib/kube';
import { type KubeSim, eventually, simKubeConfig, startKubeSim } from '../k8s-sim/index.js';

const GROUP = { group: 'snapshot.storage.k8s.io', version: 'v1', plural: 'volumesnapshots' };

function seedSnapshot(sim: KubeSim, name: string, namespace = 'default'): void {
  sim.store.seed({
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name, namespace, labels: { app: 'shop' } },
    spec: { source: { persistentVolumeClaimName: 'data' } },
  });
}

function snapshotNames(informer: Informer<VolumeSnapshot>, namespace?: string): string[] {
  return informer
    .list(namespace)
    .map((s) => s.metadata.name)
    .sort();
}

describe('Informer', () => {
  let sim: KubeSim;
  let client: KubeClient;
  let informer: Informer<VolumeSnapshot>;
  const seen: string[] = [];

  beforeEach(async () => {
    // No snapshot controller interference: a claim that does not exist only gets status.error.
    sim = await startKubeSim({ snapshotReadyDelayMs: 10, bookmarkIntervalMs: 50 });
    client = new KubeClient(simKubeConfig(sim), { retry: { baseDelayMs: 10 } });
    seen.length = 0;
    sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
    seedSnapshot(sim, 'before-1');
    seedSnapshot(sim, 'before-2', 'other');
    informer = new Informer(client, client.volumeSnapshotSource(), {
      initialBackoffMs: 20,
      maxBackoffMs: 200,
    });
    informer.on('add', (s) => seen.push(`add ${s.metadata.name}`));
    informer.on('update', (s) => seen.push(`update ${s.metadata.name}`));
    informer.on('delete', (s) => seen.push(`delete ${s.metadata.name}`));
  });

  afterEach(async () => {
    informer?.stop();
    await sim.stop();
  });

  it('lists everything, reports synced, and answers from its cache by namespace and name', async () => {
    let synced = 0;
    informer.on('synced', () => (synced += 1));
    await informer.start();
    expect(synced).toBe(1);
    expect(snapshotNames(informer)).toEqual(['before-1', 'before-2']);
    expect(snapshotNames(informer, 'other')).toEqual(['before-2']);
    expect(informer.get('other', 'before-2')?.metadata.namespace).toBe('other');
    expect(informer.get('default', 'before-2')).toBeUndefined();
    expect(informer.status()).toMatchObject({ synced: true, restarts: 0 });
    expect(informer.status().lastSyncAt).toBeInstanceOf(Date);
  });

  it('delivers add, update and delete from the watch, without listing again', async () => {
    await informer.start();
    const mark = sim.requestLog.mark();
    seedSnapshot(sim, 'new');
    await eventually(() => informer.get('default', 'new'));
    await client.patchCustomStatus(GROUP.group, GROUP.version, GROUP.plural, 'default', 'new', {
      readyToUse: true,
    });
    await eventually(() => informer.get('default', 'new')?.status?.readyToUse === true);
    await client.deleteVolumeSnapshot('default', 'new');
    await eventually(() => informer.get('default', 'new') === undefined);
    expect(seen).toEqual(expect.arrayContaining(['add new', 'update new', 'delete new']));
    expect(sim.requestLog.count('list', 'volumesnapshots', mark)).toBe(0);
  });

  it('watches again after the API server drops every watch, and misses nothing', async () => {
    await informer.start();
    const mark = sim.requestLog.mark();
    sim.faults.dropWatches('abrupt');
    seedSnapshot(sim, 'during-outage');
    await eventually(() => informer.get('default', 'during-outage'), 5000, 'event after restart');
    expect(sim.requestLog.count('watch', 'volumesnapshots', mark)).toBeGreaterThanOrEqual(1);
    // The resourceVersion was still in the server's history: no new list was needed.
    expect(sim.requestLog.count('list', 'volumesnapshots', mark)).toBe(0);
    await eventually(() => informer.status().synced);
  });

  it('asks the server to end each watch and simply watches again when it does', async () => {
    informer.stop();
    informer = new Informer(client, client.volumeSnapshotSource(), { watchTimeoutSeconds: 1 });
    await informer.start();
    const mark = sim.requestLog.mark();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    seedSnapshot(sim, 'after-timeout');
    await eventually(
      () => informer.get('default', 'after-timeout'),
      3000,
      'event on the next watch',
    );
    expect(sim.requestLog.count('watch', 'volumesnapshots', mark)).toBeGreaterThanOrEqual(1);
    expect(sim.requestLog.count('list', 'volumesnapshots', mark)).toBe(0);
    expect(informer.status()).toMatchObject({ synced: true, restarts: 0 });
  });

  it('counts a watch that fails to start as a restart and retries it with backoff', async () => {
    await informer.start();
    sim.faults.failNext({ verb: 'watch', resource: 'volumesnapshots', status: 500, times: 2 });
    sim.faults.dropWatches('abrupt');
    seedSnapshot(sim, 'after-failures');
    await eventually(() => informer.get('default', 'after-failures'), 5000, 'event after retries');
    expect(informer.status().restarts).toBeGreaterThanOrEqual(1);
    expect(informer.status().lastError).toBeDefined();
    await eventually(() => informer.status().synced);
  });

  it('lists again after 410 Gone and reports what changed in the gap as events', async () => {
    await informer.start();
    sim.faults.dropWatches('abrupt');
    seedSnapshot(sim, 'in-gap');
    sim.store.delete(
      sim.store.resourceFor('snapshot.storage.k8s.io/v1', 'VolumeSnapshot'),
      'default',
      'before-1',
    );
    sim.faults.compactHistory();
    await eventually(() => informer.get('default', 'in-gap'), 5000, 'relist after 410');
    await eventually(() => informer.get('default', 'before-1') === undefined);
    expect(seen).toEqual(expect.arrayContaining(['add in-gap', 'delete before-1']));
    expect(informer.status().lastError).toMatch(/410|Expired|too old/i);
    await eventually(() => informer.status().synced);
  });

  it('backs off and keeps retrying while listing fails, then syncs', async () => {
    sim.faults.failNext({ verb: 'list', resource: 'volumesnapshots', status: 500, times: 8 });
    await informer.start();
    expect(informer.status().restarts).toBeGreaterThanOrEqual(1);
    expect(snapshotNames(informer)).toEqual(['before-1', 'before-2']);
  });

  it('reports unsynced and stale after stop', async () => {
    await informer.start();
    const before = informer.status().lastEventAt;
    informer.stop();
    seedSnapshot(sim, 'after-stop');
    await new Promise((r) => setTimeout(r, 100));
    expect(informer.status().synced).toBe(false);
    expect(informer.status().lastEventAt).toEqual(before);
    expect(informer.get('default', 'after-stop')).toBeUndefined();
  });
});
