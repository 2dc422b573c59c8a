import type { CoreV1Event, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { RESTORED_FROM_ANNOTATION } from './provisioner.js';
import { boundClaim, claim, EVEREST, GENERIC, seedStorage, snapshots } from './scenario.js';
import { startKubeSim, type KubeSim } from './server.js';
import { eventually, simClients, type SimClients, statusOf } from './sim-client.js';

const fromSnapshot = (
  name: string,
  snapshot: string,
  storageClassName: string,
  size: string,
  accessModes = ['ReadWriteOnce'],
): V1PersistentVolumeClaim => ({
  metadata: { name },
  spec: {
    accessModes,
    resources: { requests: { storage: size } },
    storageClassName,
    dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: snapshot },
  },
});

describe('k8s-sim provisioner, restores and events', () => {
  let sim: KubeSim;
  let c: SimClients;
  let vs: ReturnType<typeof snapshots>;
  const ns = 'restore';

  beforeAll(async () => {
    sim = await startKubeSim({
      snapshotReadyDelayMs: 50,
      provisionDelayMs: 20,
      restoreDelayMs: 20,
    });
    c = simClients(sim);
    seedStorage(sim);
    await c.core.createNamespace({ body: { metadata: { name: ns } } });
    vs = snapshots(c, ns);
    await boundClaim(c, ns, claim('src-everest', 'csi-disk', '10Gi'));
    await boundClaim(c, ns, claim('src-generic', 'hostpath', '4Gi'));
    await vs.create('everest-snap', 'src-everest');
    await vs.create('generic-snap', 'src-generic');
    await vs.until('everest-snap', (s) => s.status?.readyToUse === true, 'ready');
    await vs.until('generic-snap', (s) => s.status?.readyToUse === true, 'ready');
  });
  afterAll(async () => {
    await sim.stop();
  });

  const eventsFor = async (name: string): Promise<CoreV1Event[]> =>
    (
      await c.core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.name=${name}`,
      })
    ).items;

  const failedWith = async (name: string, text: string): Promise<void> => {
    const events = await eventually(
      async () => {
        const found = (await eventsFor(name)).filter(
          (e) => e.reason === 'ProvisioningFailed' && (e.message ?? '').includes(text),
        );
        return found.length > 0 ? found : undefined;
      },
      2000,
      `ProvisioningFailed for ${name}`,
    );
    expect(events[0]?.type).toBe('Warning');
    const pvc = await c.core.readNamespacedPersistentVolumeClaim({ name, namespace: ns });
    expect(pvc.status?.phase).toBe('Pending');
    expect(pvc.spec?.volumeName).toBeUndefined();
  };

  it('binds a claim of an existing class to a new PersistentVolume', async () => {
    const bound = await boundClaim(c, ns, claim('plain', 'hostpath', '3Gi'));
    expect(bound.status?.capacity?.storage).toBe('3Gi');
    const pv = await c.core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' });
    expect(pv.spec?.claimRef).toMatchObject({
      name: 'plain',
      namespace: ns,
      uid: bound.metadata?.uid,
    });
    expect(pv.spec?.csi?.driver).toBe(GENERIC);
    expect(pv.status?.phase).toBe('Bound');
    expect((await eventsFor('plain')).map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Provisioning', 'ProvisioningSucceeded']),
    );
  });

  it('keeps a claim of an unknown class Pending until the class appears', async () => {
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: claim('later', 'later-class', '1Gi'),
    });
    await failedWith('later', 'storageclass.storage.k8s.io "later-class" not found');
    await c.storage.createStorageClass({
      body: { metadata: { name: 'later-class' }, provisioner: GENERIC },
    });
    await eventually(
      async () =>
        (await c.core.readNamespacedPersistentVolumeClaim({ name: 'later', namespace: ns })).status
          ?.phase === 'Bound',
      2000,
      'bound',
    );
  });

  it('restores a claim from a ready snapshot and records the provenance', async () => {
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: fromSnapshot('restored', 'everest-snap', 'csi-disk', '10Gi'),
    });
    const pvc = await eventually(
      async () => {
        const read = await c.core.readNamespacedPersistentVolumeClaim({
          name: 'restored',
          namespace: ns,
        });
        return read.status?.phase === 'Bound' ? read : undefined;
      },
      2000,
      'restored bound',
    );
    expect(pvc.metadata?.annotations?.[RESTORED_FROM_ANNOTATION]).toBe('everest-snap');
    expect(pvc.spec?.dataSourceRef).toMatchObject({ kind: 'VolumeSnapshot', name: 'everest-snap' });
    const pv = await c.core.readPersistentVolume({ name: pvc.spec?.volumeName ?? '' });
    expect(sim.provider.volumes.get(pv.spec?.csi?.volumeHandle ?? '')?.sourceSnapshot).toMatch(
      /^snap-/,
    );
  });

  it.each([
    [
      'a missing snapshot',
      fromSnapshot('r-missing', 'ghost', 'hostpath', '4Gi'),
      'volumesnapshots.snapshot.storage.k8s.io "ghost" not found',
    ],
    [
      'a size below restoreSize',
      fromSnapshot('r-small', 'generic-snap', 'hostpath', '1Gi'),
      'requested volume size 1073741824 is less than the size 4294967296',
    ],
    [
      'a different size on everest',
      fromSnapshot('r-bigger', 'everest-snap', 'csi-disk', '20Gi'),
      `${EVEREST} restores a snapshot only to a disk of the same capacity`,
    ],
    [
      'another storage class',
      fromSnapshot('r-class', 'everest-snap', 'csi-disk-ssd', '10Gi'),
      'storage class "csi-disk-ssd" differs from the source volume\'s storage class "csi-disk"',
    ],
    [
      'other access modes',
      fromSnapshot('r-modes', 'generic-snap', 'hostpath', '4Gi', ['ReadWriteMany']),
      'access modes [ReadWriteMany] differ',
    ],
  ])(
    'keeps a restore Pending with a ProvisioningFailed event for %s',
    async (_what, body, message) => {
      await c.core.createNamespacedPersistentVolumeClaim({ namespace: ns, body });
      await failedWith(body.metadata?.name ?? '', message);
    },
  );

  it('waits for the snapshot to become ready before restoring', async () => {
    await vs.create('fresh', 'src-generic');
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: fromSnapshot('r-fresh', 'fresh', 'hostpath', '4Gi'),
    });
    await eventually(
      async () =>
        (await c.core.readNamespacedPersistentVolumeClaim({ name: 'r-fresh', namespace: ns }))
          .status?.phase === 'Bound',
      2000,
      'bound',
    );
  });

  it('keeps a snapshot that a pending claim restores from Terminating, as the real controllers do', async () => {
    await vs.create('in-use', 'src-generic');
    await c.core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: fromSnapshot('r-in-use', 'in-use', 'hostpath', '1Gi'),
    });
    await failedWith('r-in-use', 'is less than the size');
    await vs.delete('in-use');
    await new Promise((r) => setTimeout(r, 100));
    expect((await vs.get('in-use')).metadata.deletionTimestamp).toBeDefined();
    await c.core.deleteNamespacedPersistentVolumeClaim({ name: 'r-in-use', namespace: ns });
    await eventually(
      async () => (await statusOf(vs.get('in-use'))).code === 404,
      2000,
      'snapshot released',
    );
  });

  it('keeps a deleted claim Terminating while a pod mounts it (pvc-protection)', async () => {
    await boundClaim(c, ns, claim('mounted', 'hostpath', '1Gi'));
    await c.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'user' },
        spec: {
          containers: [{ name: 'app', image: 'busybox' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'mounted' } }],
        },
      },
    });
    await c.core.deleteNamespacedPersistentVolumeClaim({ name: 'mounted', namespace: ns });
    await new Promise((r) => setTimeout(r, 50));
    const terminating = await c.core.readNamespacedPersistentVolumeClaim({
      name: 'mounted',
      namespace: ns,
    });
    expect(terminating.metadata?.deletionTimestamp).toBeDefined();
    expect(terminating.metadata?.finalizers).toEqual(['kubernetes.io/pvc-protection']);
    const pvName = terminating.spec?.volumeName ?? '';
    await c.core.deleteNamespacedPod({ name: 'user', namespace: ns });
    await eventually(
      async () =>
        (
          await statusOf(
            c.core.readNamespacedPersistentVolumeClaim({ name: 'mounted', namespace: ns }),
          )
        ).code === 404,
      2000,
      'claim gone',
    );
    await eventually(
      async () => (await statusOf(c.core.readPersistentVolume({ name: pvName }))).code === 404,
      2000,
      'volume reclaimed',
    );
  });

  it('lists events created by clients, by field selector', async () => {
    await c.core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { generateName: 'snapwarden-' },
        involvedObject: {
          kind: 'PersistentVolumeClaim',
          name: 'plain',
          namespace: ns,
          apiVersion: 'v1',
        },
        reason: 'SnapshotTaken',
        message: 'snapshot nightly-1 is ready',
        type: 'Normal',
        source: { component: 'snapwarden' },
      },
    });
    const mine = await c.core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: 'reason=SnapshotTaken,involvedObject.name=plain',
    });
    expect(mine.items.map((e) => e.message)).toEqual(['snapshot nightly-1 is ready']);
  });

  it('completes a HwameiStor rollback restore', async () => {
    const ready = await vs.get('generic-snap');
    const content = sim.store.read(
      'snapshot.storage.k8s.io/v1',
      'VolumeSnapshotContent',
      ready.status?.boundVolumeSnapshotContentName ?? '',
    );
    const handle = (content?.status as { snapshotHandle: string }).snapshotHandle;
    const base = {
      group: 'hwameistor.io',
      version: 'v1alpha1',
      plural: 'localvolumesnapshotrestores',
    };
    await c.custom.createClusterCustomObject({
      ...base,
      body: {
        apiVersion: 'hwameistor.io/v1alpha1',
        kind: 'LocalVolumeSnapshotRestore',
        metadata: { name: 'rollback-1' },
        spec: { sourceVolumeSnapshot: handle, restoreType: 'rollback' },
      },
    });
    await eventually(
      async () => {
        const restore = (await c.custom.getClusterCustomObject({
          ...base,
          name: 'rollback-1',
        })) as { status?: { state?: string } };
        return restore.status?.state === 'Completed';
      },
      2000,
      'Completed',
    );
    const volume = sim.provider.volumes.get(sim.provider.snapshots.get(handle)?.volumeHandle ?? '');
    expect(volume?.rolledBackTo).toBe(handle);
  });

  it('empties a deleted namespace before removing it, and collects owned objects', async () => {
    await c.core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    const owner = await c.core.createNamespacedConfigMap({
      namespace: 'doomed',
      body: { metadata: { name: 'owner' } },
    });
    await c.core.createNamespacedSecret({
      namespace: 'doomed',
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' },
          ],
        },
      },
    });
    await c.core.deleteNamespacedConfigMap({ name: 'owner', namespace: 'doomed' });
    await eventually(
      async () =>
        (await statusOf(c.core.readNamespacedSecret({ name: 'owned', namespace: 'doomed' })))
          .code === 404,
      2000,
      'owned collected',
    );
    await c.core.createNamespacedConfigMap({
      namespace: 'doomed',
      body: { metadata: { name: 'left' } },
    });
    await c.core.deleteNamespace({ name: 'doomed' });
    const creating = await statusOf(
      c.core.createNamespacedConfigMap({
        namespace: 'doomed',
        body: { metadata: { name: 'late' } },
      }),
    );
    expect([403, 404]).toContain(creating.code);
    await eventually(
      async () => (await statusOf(c.core.readNamespace({ name: 'doomed' }))).code === 404,
      2000,
      'namespace gone',
    );
  });
});
