import {
  CsiDriver,
  InvalidRequestError,
  SnapshotConflictError,
  SnapshotFailedError,
  SnapshotLimitError,
  SnapshotNotFoundError,
  SnapshotTimeoutError,
  VolumeNotFoundError,
  createDriver,
} from '#lib/storage';
import { eventually } from '../k8s-sim/index.js';
import { ACK, type CsiWorld, seedForeignSnapshot, startCsiWorld } from './csi-fixtures.js';

const ref = (name: string, namespace = 'shop') => ({ namespace, name });
const MANAGED = { 'app.kubernetes.io/managed-by': 'snapwarden', 'snapwarden.io/policy': 'nightly' };

describe('CsiDriver against the API-server simulator', () => {
  let w: CsiWorld;

  beforeEach(async () => {
    w = await startCsiWorld();
  });

  afterEach(async () => {
    await w.stop();
  });

  async function readySnapshot(claimName: string, name: string, snapshotClassName?: string) {
    const { snapshot } = await w.driver.createSnapshot({
      volume: ref(claimName),
      name,
      labels: MANAGED,
      snapshotClassName,
    });
    return w.driver.waitUntilReady(snapshot, 5000);
  }

  describe('volumes', () => {
    it('lists claims with phase, capacity, class and access modes, by namespace', async () => {
      await w.boundClaim('db', 'csi-disk');
      await w.kube.createClaim({
        metadata: { name: 'waiting', namespace: 'shop' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      await eventually(async () => (await w.driver.listVolumes('shop')).length === 2);
      const volumes = await w.driver.listVolumes('shop');
      expect(volumes.find((v) => v.name === 'db')).toMatchObject({
        namespace: 'shop',
        phase: 'Bound',
        sizeBytes: 10 * 2 ** 30,
        storageClassName: 'csi-disk',
        accessModes: ['ReadWriteOnce'],
        labels: { app: 'shop' },
      });
      expect(volumes.find((v) => v.name === 'waiting')?.phase).toBe('Pending');
      expect(await w.driver.getVolume(ref('db', 'blog'))).toBeUndefined();
    });
  });

  describe('findVolumes', () => {
    it('answers from the claim watch: added, relabelled and deleted claims, and no API request', async () => {
      await w.boundClaim('db', 'csi-disk');
      await w.boundClaim('web', 'csi-disk');
      const selector = { matchLabels: { app: 'shop' } };
      const found = async () =>
        (await w.driver.findVolumes({ namespace: 'shop', selector })).map((v) => v.name);
      const mark = w.sim.requestLog.mark();
      expect(await found()).toEqual(['db', 'web']);
      expect(w.sim.requestLog.since(mark).filter((r) => r.verb !== 'watch')).toEqual([]);

      const claim = w.sim.store.read('v1', 'PersistentVolumeClaim', 'db', 'shop');
      if (!claim) throw new Error('claim db missing');
      w.sim.store.mergeInto(claim, { metadata: { labels: { app: 'legacy' } } });
      await eventually(async () => ((await found()).join() === 'web' ? true : undefined));
      const pv = w.sim.store.resourceFor('v1', 'PersistentVolumeClaim');
      w.sim.store.delete(pv, 'shop', 'web');
      await eventually(async () => ((await found()).length === 0 ? true : undefined));
      expect(await w.driver.findVolumes({ namespace: 'shop', names: ['db', 'web'] })).toEqual([
        expect.objectContaining({ name: 'db', labels: { app: 'legacy' }, phase: 'Bound' }),
      ]);
    });
  });

  describe('snapshot lifecycle', () => {
    it('creates, becomes ready from the watch and deletes with at most 3 API requests and no LIST', async () => {
      await w.boundClaim('db', 'csi-disk');
      const mark = w.sim.requestLog.mark();

      const { snapshot, adopted } = await w.driver.createSnapshot({
        volume: ref('db'),
        name: 'db-nightly-1',
        labels: MANAGED,
      });
      const ready = await w.driver.waitUntilReady(snapshot, 5000);
      await w.driver.deleteSnapshot(ready);

      const requests = w.sim.requestLog.since(mark).filter((r) => r.verb !== 'watch');
      expect(adopted).toBe(false);
      expect(ready).toMatchObject({
        state: 'Ready',
        readyToUse: true,
        volumeName: 'db',
        labels: MANAGED,
        restoreSizeBytes: 10 * 2 ** 30,
      });
      expect(requests.length).toBeLessThanOrEqual(3);
      expect(requests.filter((r) => r.verb === 'list')).toEqual([]);
      expect(requests.map((r) => `${r.verb} ${r.resource ?? ''}`)).toEqual([
        'create volumesnapshots',
        'delete volumesnapshots',
      ]);
    });

    it('names the default class of the claim’s driver in the VolumeSnapshot', async () => {
      await w.boundClaim('db', 'csi-disk');
      await readySnapshot('db', 'db-1');
      const vs = await w.kube.getVolumeSnapshot('shop', 'db-1');
      expect(vs?.spec).toEqual({
        source: { persistentVolumeClaimName: 'db' },
        volumeSnapshotClassName: 'everest-snap',
      });
    });

    it('adopts a snapshot of the same claim created twice, and refuses one of another claim', async () => {
      await w.boundClaim('db', 'csi-disk');
      await w.boundClaim('cache', 'csi-disk');
      const first = await readySnapshot('db', 'db-1');

      const again = await w.driver.createSnapshot({ volume: ref('db'), name: 'db-1', labels: {} });
      expect(again).toMatchObject({ adopted: true, snapshot: { uid: first.uid } });
      await expect(
        w.driver.createSnapshot({ volume: ref('cache'), name: 'db-1', labels: {} }),
      ).rejects.toBeInstanceOf(SnapshotConflictError);
    });

    it('adopts a snapshot another worker created just before (AlreadyExists), whether or not the cache saw it', async () => {
      await w.boundClaim('db', 'csi-disk');
      seedForeignSnapshot(w.sim, 'db-race', 'db', 'everest-snap');
      const result = await w.driver.createSnapshot({
        volume: ref('db'),
        name: 'db-race',
        labels: {},
      });
      expect(result.adopted).toBe(true);
      expect(result.snapshot.volumeName).toBe('db');
    });

    it('refuses a claim that does not exist, and one that is not Bound, saying why', async () => {
      await expect(
        w.driver.createSnapshot({ volume: ref('ghost'), name: 'ghost-1', labels: {} }),
      ).rejects.toBeInstanceOf(VolumeNotFoundError);
      await w.kube.createClaim({
        metadata: { name: 'unbound', namespace: 'shop' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      });
      await eventually(() => w.driver.getVolume(ref('unbound')));
      const refused = w.driver.createSnapshot({ volume: ref('unbound'), name: 'u-1', labels: {} });
      await expect(refused).rejects.toBeInstanceOf(VolumeNotFoundError);
      await expect(refused).rejects.toThrow(/Pending, not Bound/);
      await expect(refused).rejects.toMatchObject({ transient: false });
    });

    it('refuses a name that is not a DNS-1123 subdomain, naming the field', async () => {
      await w.boundClaim('db', 'csi-disk');
      await expect(
        w.driver.createSnapshot({ volume: ref('db'), name: 'Bad_Name', labels: {} }),
      ).rejects.toMatchObject({ field: 'name' });
    });

    it('refuses a snapshot class that does not exist, naming the field', async () => {
      await w.boundClaim('db', 'csi-disk');
      const refused = w.driver.createSnapshot({
        volume: ref('db'),
        name: 'db-1',
        labels: {},
        snapshotClassName: 'nope',
      });
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ field: 'snapshotClassName' });
    });

    it('deletes a snapshot that is already gone without complaint', async () => {
      await w.driver.deleteSnapshot(ref('never-existed'));
    });
  });

  describe('listing', () => {
    it('lists every snapshot of the claim: managed or not, failed and terminating ones too', async () => {
      await w.boundClaim('db', 'csi-disk');
      await w.boundClaim('other', 'csi-disk');
      await readySnapshot('db', 'db-1');
      await readySnapshot('db', 'db-stuck');
      w.sim.faults.stickTerminating('db-stuck', 'shop');
      await w.driver.deleteSnapshot(ref('db-stuck'));
      seedForeignSnapshot(w.sim, 'manual', 'db');
      seedForeignSnapshot(w.sim, 'broken', 'db', 'no-such-class');
      await readySnapshot('other', 'other-1');

      const states = await eventually(async () => {
        const list = (await w.driver.listSnapshots(ref('db')))
          .map((s) => `${s.name} ${s.state}`)
          .sort();
        return list.length === 4 &&
          !list.includes('broken Creating') &&
          !list.includes('manual Creating')
          ? list
          : undefined;
      });
      expect(states).toEqual([
        'broken Failed',
        'db-1 Ready',
        'db-stuck Terminating',
        'manual Ready',
      ]);
      const broken = (await w.driver.listSnapshots(ref('db'))).find((s) => s.name === 'broken');
      expect(broken?.error).toMatch(/no-such-class/);
      expect(await w.driver.listAllSnapshots('shop')).toHaveLength(5);
    });
  });

  describe('waitUntilReady', () => {
    it('rejects with the snapshot controller’s error text so the audit log can show it', async () => {
      await w.boundClaim('db', 'csi-disk');
      seedForeignSnapshot(w.sim, 'bad', 'db', 'no-such-class');
      const waiting = w.driver.waitUntilReady(ref('bad'), 3000);
      await expect(waiting).rejects.toBeInstanceOf(SnapshotFailedError);
      await expect(waiting).rejects.toThrow(/no-such-class/);
    });

    it('times out with a transient error while the snapshot is still being taken', async () => {
      await w.boundClaim('db', 'csi-disk');
      const { snapshot } = await w.driver.createSnapshot({
        volume: ref('db'),
        name: 'db-1',
        labels: {},
      });
      const waiting = w.driver.waitUntilReady(snapshot, 1);
      await expect(waiting).rejects.toBeInstanceOf(SnapshotTimeoutError);
      await expect(waiting).rejects.toMatchObject({ transient: true });
    });

    it('rejects at once for a snapshot that does not exist, and rejects waiters on close', async () => {
      await expect(w.driver.waitUntilReady(ref('ghost'), 10_000)).rejects.toBeInstanceOf(
        SnapshotNotFoundError,
      );
      await w.boundClaim('db', 'csi-disk');
      w.sim.faults.failNext({
        verb: 'create',
        resource: 'volumesnapshotcontents',
        status: 500,
        times: 100,
      });
      const { snapshot } = await w.driver.createSnapshot({
        volume: ref('db'),
        name: 'db-1',
        labels: {},
      });
      const waiting = w.driver.waitUntilReady(snapshot, 10_000);
      await w.driver.close();
      await expect(waiting).rejects.toMatchObject({ transient: true });
      w.sim.faults.reset();
    });
  });

  describe('Huawei everest (disk.csi.everest.io)', () => {
    it('caps a disk at 7 snapshots, counting unmanaged ones, and touches none of them', async () => {
      await w.boundClaim('db', 'csi-disk');
      for (let i = 1; i <= 7; i += 1) seedForeignSnapshot(w.sim, `manual-${i}`, 'db');
      await eventually(async () => (await w.driver.listSnapshots(ref('db'))).length === 7);

      const caps = await w.driver.capabilities(ref('db'));
      expect(caps).toMatchObject({
        maxSnapshotsPerVolume: 7,
        rollback: false,
        restoreToNewVolume: true,
        oneInFlightPerVolume: true,
        minRestoreBytes: 10 * 2 ** 30,
      });
      const refused = w.driver.createSnapshot({ volume: ref('db'), name: 'db-8', labels: MANAGED });
      await expect(refused).rejects.toBeInstanceOf(SnapshotLimitError);
      await expect(refused).rejects.toThrow(/holds 7 snapshots.*limit.*7/);
      expect(await w.kube.getVolumeSnapshot('shop', 'db-8')).toBeUndefined();
      expect(await w.kube.listVolumeSnapshots('shop')).toHaveLength(7);
    });

    it('restores only to the source capacity, requesting the restore size when none is named', async () => {
      await w.boundClaim('db', 'csi-disk');
      const snapshot = await readySnapshot('db', 'db-1');

      const refused = w.driver.restoreToNewVolume({
        snapshot: ref('db-1'),
        target: { namespace: 'shop', name: 'bigger', sizeBytes: 20 * 2 ** 30 },
      });
      await expect(refused).rejects.toMatchObject({ field: 'target.size' });
      expect(await w.kube.getClaim('shop', 'bigger')).toBeUndefined();

      const restored = await w.driver.restoreToNewVolume({
        snapshot: ref('db-1'),
        target: { namespace: 'shop', name: 'db-copy' },
      });
      expect(restored).toMatchObject({
        name: 'db-copy',
        labels: { 'snapwarden.io/restored-from': 'db-1' },
      });
      const claim = await w.kube.getClaim('shop', 'db-copy');
      expect(claim?.spec.resources?.requests?.storage).toBe('10Gi');
      expect(claim?.spec.dataSource).toEqual({
        kind: 'VolumeSnapshot',
        apiGroup: 'snapshot.storage.k8s.io',
        name: 'db-1',
      });
      expect(snapshot.restoreSizeBytes).toBe(10 * 2 ** 30);
      await eventually(async () => (await w.driver.getVolume(ref('db-copy')))?.phase === 'Bound');
    });
  });

  describe('cap annotation', () => {
    it('takes the cap from the class annotation snapwarden.io/max-snapshots-per-volume', async () => {
      await w.boundClaim('files', 'hostpath');
      expect((await w.driver.capabilities(ref('files'))).maxSnapshotsPerVolume).toBe(1000);
      expect(
        (await w.driver.capabilities(ref('files'), 'hostpath-capped')).maxSnapshotsPerVolume,
      ).toBe(2);
      await readySnapshot('files', 'f-1', 'hostpath-capped');
      await readySnapshot('files', 'f-2', 'hostpath-capped');
      await expect(
        w.driver.createSnapshot({
          volume: ref('files'),
          name: 'f-3',
          labels: {},
          snapshotClassName: 'hostpath-capped',
        }),
      ).rejects.toBeInstanceOf(SnapshotLimitError);
    });

    it('tells the cap of a class by name from its cache, and none for an unknown class', async () => {
      const mark = w.sim.requestLog.mark();
      expect(await w.driver.snapshotClassCap('hostpath-capped')).toBe(2);
      expect(await w.driver.snapshotClassCap('no-such-class')).toBeUndefined();
      expect(w.sim.requestLog.count('get', 'volumesnapshotclasses', mark)).toBe(0);
    });
  });

  describe('Alibaba ACK static import', () => {
    it.each([
      ['Retain', 'ack-retain', true],
      ['Delete', 'ack-delete', false],
    ] as const)(
      'imports a provider snapshot; deletionPolicy %s decides whether its content stays',
      async (_policy, className, contentStays) => {
        const imported = await CsiDriver.importSnapshot(w.kube, {
          namespace: 'shop',
          name: 'legacy',
          snapshotHandle: 's-2ze0123456789abcdef',
          driver: ACK,
          snapshotClassName: className,
          labels: { origin: 'import' },
          deletionPolicy: className === 'ack-retain' ? 'Retain' : 'Delete',
        });
        expect(imported).toMatchObject({
          name: 'legacy',
          volumeName: '',
          labels: { origin: 'import' },
        });
        const ready = await w.driver.waitUntilReady(imported, 5000);
        expect(ready.state).toBe('Ready');
        const vs = await w.kube.getVolumeSnapshot('shop', 'legacy');
        const contentName = vs?.status?.boundVolumeSnapshotContentName ?? '';
        expect(contentName).not.toBe('');

        await w.driver.deleteSnapshot(ref('legacy'));
        await eventually(
          async () => (await w.kube.getVolumeSnapshot('shop', 'legacy')) === undefined,
        );
        if (contentStays) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(await w.kube.getVolumeSnapshotContent(contentName)).toBeDefined();
        } else {
          await eventually(
            async () => (await w.kube.getVolumeSnapshotContent(contentName)) === undefined,
          );
        }
      },
    );
  });

  describe('CephFS restore matching', () => {
    beforeEach(async () => {
      await w.boundClaim('shared', 'cephfs', { accessModes: ['ReadWriteMany'] });
      await readySnapshot('shared', 'shared-1');
    });

    it.each([
      ['target.storageClassName', { storageClassName: 'cephfs-other' }],
      ['target.accessModes', { accessModes: ['ReadWriteOnce'] }],
      ['target.size', { sizeBytes: 1 }],
      ['target.namespace', { namespace: 'blog' }],
      ['target.name', { name: 'shared' }],
    ])('refuses a restore that breaks the %s rule and creates nothing', async (field, change) => {
      const refused = w.driver.restoreToNewVolume({
        snapshot: ref('shared-1'),
        target: { namespace: 'shop', name: 'copy', ...change },
      });
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ field });
      expect(await w.kube.getClaim('shop', 'copy')).toBeUndefined();
    });

    it('restores with the source class and access modes, and the new claim binds', async () => {
      const restored = await w.driver.restoreToNewVolume({
        snapshot: ref('shared-1'),
        target: {
          namespace: 'shop',
          name: 'copy',
          storageClassName: 'cephfs',
          accessModes: ['ReadWriteMany'],
        },
      });
      expect(restored).toMatchObject({
        storageClassName: 'cephfs',
        accessModes: ['ReadWriteMany'],
      });
      await eventually(async () => (await w.driver.getVolume(ref('copy')))?.phase === 'Bound');
    });

    it('refuses a snapshot that is not ready, and one that does not exist', async () => {
      const { snapshot } = await w.driver.createSnapshot({
        volume: ref('shared'),
        name: 'shared-2',
        labels: {},
      });
      await eventually(() => w.driver.getSnapshot(snapshot));
      await expect(
        w.driver.restoreToNewVolume({
          snapshot: ref('shared-2'),
          target: { namespace: 'shop', name: 'c2' },
        }),
      ).rejects.toMatchObject({ field: 'snapshot' });
      await expect(
        w.driver.restoreToNewVolume({
          snapshot: ref('ghost'),
          target: { namespace: 'shop', name: 'c3' },
        }),
      ).rejects.toBeInstanceOf(SnapshotNotFoundError);
    });
  });

  describe('HwameiStor rollback', () => {
    it('rolls the source volume back through a LocalVolumeSnapshotRestore', async () => {
      const volume = await w.boundClaim('local-db', 'hwameistor-lvm');
      expect((await w.driver.capabilities(volume)).rollback).toBe(true);
      await readySnapshot('local-db', 'local-db-1');

      await w.driver.rollback(ref('local-db-1'));

      const restores = await w.kube.listCustom<{
        metadata: { name: string };
        spec: { restoreType: string };
      }>('hwameistor.io', 'v1alpha1', 'localvolumesnapshotrestores');
      expect(restores.map((r) => r.spec.restoreType)).toEqual(['rollback']);
      const disks = [...w.sim.provider.volumes.values()];
      expect(disks.some((d) => d.rolledBackTo !== undefined)).toBe(true);
      expect(await w.driver.getVolume(ref('local-db'))).toMatchObject({ uid: volume.uid });
    });

    it('refuses to roll back a snapshot of a driver that cannot', async () => {
      await w.boundClaim('db', 'csi-disk');
      await readySnapshot('db', 'db-1');
      const refused = w.driver.rollback(ref('db-1'));
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toThrow('driver disk.csi.everest.io cannot roll back');
    });
  });

  describe('startup', () => {
    it('fails with a transient error while the API server cannot be listed, instead of hanging', async () => {
      w.sim.faults.failNext({
        verb: 'list',
        resource: 'persistentvolumeclaims',
        status: 500,
        times: 1000,
      });
      const driver = new CsiDriver({ kube: w.kube, syncTimeoutMs: 200 });
      const refused = driver.listVolumes('shop');
      await expect(refused).rejects.toMatchObject({ transient: true });
      await expect(refused).rejects.toThrow(/not synced within 200 ms/);
      await driver.close();
      w.sim.faults.reset();
    });
  });

  describe('createDriver', () => {
    it('builds a csi driver from its settings', async () => {
      const driver = createDriver({ kind: 'csi', kube: w.kube });
      expect(driver).toBeInstanceOf(CsiDriver);
      expect(driver.name).toBe('csi');
      await driver.close();
    });
  });
});
