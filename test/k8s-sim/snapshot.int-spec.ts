import { startKubeSim, type KubeSim } from './server.js';
import { boundClaim, claim, EVEREST, seedStorage, type Snapshot, snapshots } from './scenario.js';
import { eventually, simClients, type SimClients, statusOf } from './sim-client.js';
import { SNAPSHOT_FINALIZERS } from './snapshot-controller.js';
import type { KubeObject } from './types.js';

describe('k8s-sim snapshot controller', () => {
  let sim: KubeSim;
  let c: SimClients;
  let vs: ReturnType<typeof snapshots>;
  const ns = 'snaps';

  beforeAll(async () => {
    sim = await startKubeSim({ snapshotReadyDelayMs: 150, provisionDelayMs: 10 });
    c = simClients(sim);
    seedStorage(sim);
    await c.core.createNamespace({ body: { metadata: { name: ns } } });
    vs = snapshots(c, ns);
  });
  afterAll(async () => {
    await sim.stop();
  });

  const content = (name: string | undefined): KubeObject | undefined =>
    name ? sim.store.read('snapshot.storage.k8s.io/v1', 'VolumeSnapshotContent', name) : undefined;

  it('binds a content, then becomes ready after the delay with restoreSize and creationTime', async () => {
    await boundClaim(c, ns, claim('data', 'csi-disk', '10Gi'));
    const started = Date.now();
    await vs.create('first', 'data');
    const bound = await vs.until(
      'first',
      (s) => s.status?.boundVolumeSnapshotContentName !== undefined,
      'bound',
    );
    expect(bound.status?.readyToUse).toBe(false);
    expect(bound.spec.volumeSnapshotClassName).toBe('everest-snap');
    const ready = await vs.until('first', (s) => s.status?.readyToUse === true, 'ready');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(ready.status?.restoreSize).toBe('10Gi');
    expect(Date.parse(ready.status?.creationTime ?? '')).not.toBeNaN();
    expect(ready.metadata.finalizers).toEqual([
      SNAPSHOT_FINALIZERS.asSource,
      SNAPSHOT_FINALIZERS.bound,
    ]);
    const vsc = content(ready.status?.boundVolumeSnapshotContentName);
    expect(vsc?.spec).toMatchObject({
      driver: EVEREST,
      deletionPolicy: 'Delete',
      volumeSnapshotClassName: 'everest-snap',
      volumeSnapshotRef: { name: 'first', namespace: ns, uid: ready.metadata.uid },
      source: { volumeHandle: expect.any(String) as string },
    });
    expect(vsc?.status).toMatchObject({
      readyToUse: true,
      restoreSize: 10 * 2 ** 30,
      snapshotHandle: expect.stringMatching(/^snap-/) as string,
    });
  });

  it('enforces the real CRD rules: one source, immutable source, no empty class name', async () => {
    const base = {
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      namespace: ns,
      plural: 'volumesnapshots',
    };
    const both = await statusOf(
      c.custom.createNamespacedCustomObject({
        ...base,
        body: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: 'both' },
          spec: { source: { persistentVolumeClaimName: 'a', volumeSnapshotContentName: 'b' } },
        },
      }),
    );
    expect(both.code).toBe(422);
    expect(both.status.message).toContain('spec.source');
    const empty = await statusOf(
      c.custom.createNamespacedCustomObject({
        ...base,
        body: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name: 'empty' },
          spec: { source: { persistentVolumeClaimName: 'a' }, volumeSnapshotClassName: '' },
        },
      }),
    );
    expect(empty.status.message).toContain(
      'volumeSnapshotClassName must not be the empty string when set',
    );
    const changed = await statusOf(
      c.custom.patchNamespacedCustomObject({
        ...base,
        name: 'first',
        body: [{ op: 'replace', path: '/spec/source/persistentVolumeClaimName', value: 'other' }],
      }),
    );
    expect(changed.code).toBe(422);
    expect(changed.status.message).toContain('persistentVolumeClaimName is immutable');
  });

  it('reports a missing claim and an unbound claim in status.error', async () => {
    await vs.create('orphan', 'nope');
    const missing = await vs.until('orphan', (s) => s.status?.error !== undefined, 'error');
    expect(missing.status?.readyToUse).toBe(false);
    expect(missing.status?.error?.message).toContain(
      'persistentvolumeclaim \\\\\\"nope\\\\\\" not found',
    );
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('unbound', 'no-such-class'),
    });
    await vs.create('early', 'unbound');
    const early = await vs.until('early', (s) => s.status?.error !== undefined, 'error');
    expect(early.status?.error?.message).toContain('the PVC unbound is not yet bound to a PV');
  });

  it('enforces the per-disk cap with the provider error and never readies the extra snapshot', async () => {
    await boundClaim(c, ns, claim('capped', 'csi-disk', '5Gi'));
    for (let i = 1; i <= 7; i += 1) await vs.create(`cap-${i}`, 'capped');
    await Promise.all(
      [1, 2, 3, 4, 5, 6, 7].map((i) =>
        vs.until(`cap-${i}`, (s) => s.status?.readyToUse === true, `cap-${i} ready`),
      ),
    );
    await vs.create('cap-8', 'capped');
    const over = await vs.until('cap-8', (s) => s.status?.error !== undefined, 'cap error');
    expect(over.status?.readyToUse).toBe(false);
    expect(over.status?.error?.message).toContain('maximum number of snapshots reached');
    await new Promise((r) => setTimeout(r, 300));
    expect((await vs.get('cap-8')).status?.readyToUse).toBe(false);
  });

  it('retries a capped snapshot once a slot frees up', async () => {
    await vs.delete('cap-1');
    const ready = await vs.until(
      'cap-8',
      (s) => s.status?.readyToUse === true,
      'cap-8 ready after a slot freed',
    );
    expect(ready.status?.error).toBeUndefined();
  });

  it('honours a cap from the snapshot class annotation', async () => {
    sim.store.seed({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: {
        name: 'two-per-disk',
        annotations: { 'snapwarden.io/max-snapshots-per-volume': '2' },
      },
      driver: 'hostpath.csi.k8s.io',
      deletionPolicy: 'Delete',
    });
    await boundClaim(c, ns, claim('small', 'hostpath', '1Gi'));
    await vs.create('two-1', 'small', 'two-per-disk');
    await vs.create('two-2', 'small', 'two-per-disk');
    await vs.create('two-3', 'small', 'two-per-disk');
    const over = await vs.until('two-3', (s) => s.status?.error !== undefined, 'cap error');
    expect(over.status?.error?.message).toContain('the limit is 2 per disk');
  });

  it('deletes the content and the provider snapshot with deletionPolicy Delete', async () => {
    const ready = await vs.until('first', (s) => s.status?.readyToUse === true, 'ready');
    const name = ready.status?.boundVolumeSnapshotContentName;
    const handle = content(name)?.status as { snapshotHandle: string };
    await vs.delete('first');
    await eventually(
      () =>
        !content(name) &&
        !sim.store.read('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'first', ns),
      2000,
      'gone',
    );
    expect(sim.provider.snapshots.has(handle.snapshotHandle)).toBe(false);
  });

  it('keeps the content (and the provider snapshot) with deletionPolicy Retain', async () => {
    await boundClaim(c, ns, claim('kept', 'hostpath', '2Gi'));
    const ready = await (async () => {
      await vs.create('retained', 'kept');
      return vs.until('retained', (s) => s.status?.readyToUse === true, 'ready');
    })();
    const name = ready.status?.boundVolumeSnapshotContentName;
    await vs.delete('retained');
    await eventually(
      () => !sim.store.read('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'retained', ns),
      2000,
      'snapshot gone',
    );
    const kept = content(name);
    expect(kept?.spec).toMatchObject({ deletionPolicy: 'Retain' });
    expect(kept?.metadata.finalizers ?? []).not.toContain(SNAPSHOT_FINALIZERS.content);
    expect(
      sim.provider.snapshots.has((kept?.status as { snapshotHandle: string }).snapshotHandle),
    ).toBe(true);
  });

  it('imports a pre-provisioned snapshot by handle (static binding)', async () => {
    const handle =
      [...sim.provider.snapshots.values()].find((s) => s.sizeBytes === 2 * 2 ** 30)?.handle ?? '';
    sim.store.seed({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotContent',
      metadata: { name: 'imported-content' },
      spec: {
        deletionPolicy: 'Retain',
        driver: 'hostpath.csi.k8s.io',
        source: { snapshotHandle: handle },
        volumeSnapshotRef: { name: 'imported', namespace: ns },
      },
    });
    await vs.createStatic('imported', 'imported-content');
    const ready = await vs.until(
      'imported',
      (s) => s.status?.readyToUse === true,
      'imported ready',
    );
    expect(ready.status).toMatchObject({
      boundVolumeSnapshotContentName: 'imported-content',
      restoreSize: '2Gi',
    });
    expect(content('imported-content')?.spec).toMatchObject({
      volumeSnapshotRef: { uid: ready.metadata.uid },
    });
  });

  it('keeps a snapshot Terminating while stuck, and lets it go when released', async () => {
    await vs.create('sticky', 'data');
    await vs.until('sticky', (s) => s.status?.readyToUse === true, 'ready');
    sim.faults.stickTerminating('sticky', ns);
    await vs.delete('sticky');
    await new Promise((r) => setTimeout(r, 100));
    const terminating: Snapshot = await vs.get('sticky');
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    sim.faults.unstick('sticky', ns);
    await eventually(async () => (await statusOf(vs.get('sticky'))).code === 404, 2000, 'released');
  });
});
