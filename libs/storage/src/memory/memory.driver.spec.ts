import {
  InvalidRequestError,
  MemoryDriver,
  SnapshotFailedError,
  SnapshotLimitError,
  TransientDriverError,
  VolumeNotFoundError,
  type Volume,
} from '#lib/storage';

const ref = (name: string, namespace = 'default') => ({ namespace, name });

describe('MemoryDriver', () => {
  let driver: MemoryDriver;

  afterEach(() => driver.close());

  describe('stats', () => {
    it('counts creates, adopts and deletes', async () => {
      driver = new MemoryDriver();
      const volume = driver.addVolume({ name: 'db' });
      await driver.createSnapshot({ volume, name: 'db-1', labels: {} });
      await driver.createSnapshot({ volume, name: 'db-1', labels: {} });
      await driver.deleteSnapshot(ref('db-1'));
      await driver.deleteSnapshot(ref('db-1'));

      expect(driver.stats()).toEqual({
        creates: 1,
        adopts: 1,
        deletes: 1,
        maxConcurrentOpsPerVolume: 1,
        currentOps: 0,
      });
    });

    it('sees two operations in flight on one volume when a caller does not serialise them', async () => {
      driver = new MemoryDriver({ createLatencyMs: 5, maxSnapshotsPerVolume: 100 });
      const volume = driver.addVolume({ name: 'db' });
      const pending = [
        driver.createSnapshot({ volume, name: 'db-1', labels: {} }),
        driver.createSnapshot({ volume, name: 'db-2', labels: {} }),
      ];
      expect(driver.stats().currentOps).toBe(2);
      await Promise.all(pending);

      expect(driver.stats()).toMatchObject({ maxConcurrentOpsPerVolume: 2, currentOps: 0 });
    });

    it('stays at one per volume when operations overlap only across volumes', async () => {
      driver = new MemoryDriver({ createLatencyMs: 5 });
      const volumes = ['a', 'b', 'c'].map((name) => driver.addVolume({ name }));
      await Promise.all(
        volumes.map((volume) =>
          driver.createSnapshot({ volume, name: `${volume.name}-1`, labels: {} }),
        ),
      );
      expect(driver.stats().maxConcurrentOpsPerVolume).toBe(1);
    });
  });

  describe('readiness', () => {
    it('creates Creating snapshots that a timer makes Ready with the volume size', async () => {
      driver = new MemoryDriver({ readyDelayMs: 20 });
      const volume = driver.addVolume({ name: 'db', sizeBytes: 5000 });
      const { snapshot } = await driver.createSnapshot({ volume, name: 'db-1', labels: {} });
      expect(snapshot).toMatchObject({ state: 'Creating', readyToUse: false });

      const ready = await driver.waitUntilReady(snapshot, 1000);
      expect(ready).toMatchObject({ state: 'Ready', readyToUse: true, restoreSizeBytes: 5000 });
    });

    it('turns the next snapshot Failed when readiness failure is injected', async () => {
      driver = new MemoryDriver({ readyDelayMs: 5 });
      const volume = driver.addVolume({ name: 'db' });
      driver.injectFailure('ready', new Error('quota exceeded'));
      const { snapshot } = await driver.createSnapshot({ volume, name: 'db-1', labels: {} });

      await expect(driver.waitUntilReady(snapshot, 1000)).rejects.toThrow(SnapshotFailedError);
      expect(await driver.getSnapshot(ref('db-1'))).toMatchObject({
        state: 'Failed',
        error: 'quota exceeded',
      });
      const next = await driver.createSnapshot({ volume, name: 'db-2', labels: {} });
      await expect(driver.waitUntilReady(next.snapshot, 1000)).resolves.toMatchObject({
        state: 'Ready',
      });
    });

    it('tells a waiter that the snapshot was deleted while it waited', async () => {
      driver = new MemoryDriver({ readyDelayMs: 10_000 });
      const volume = driver.addVolume({ name: 'db' });
      const { snapshot } = await driver.createSnapshot({ volume, name: 'db-1', labels: {} });
      const waiting = expect(driver.waitUntilReady(snapshot, 5000)).rejects.toThrow(
        SnapshotFailedError,
      );
      await driver.deleteSnapshot(snapshot);
      await waiting;
    });
  });

  describe('injected failures', () => {
    it.each([
      [
        'create',
        (d: MemoryDriver, v: Volume) => d.createSnapshot({ volume: v, name: 'x-1', labels: {} }),
      ],
      ['delete', (d: MemoryDriver) => d.deleteSnapshot(ref('seeded'))],
      ['list', (d: MemoryDriver, v: Volume) => d.listSnapshots(v)],
      [
        'restore',
        (d: MemoryDriver) => d.restoreToNewVolume({ snapshot: ref('seeded'), target: ref('copy') }),
      ],
      ['rollback', (d: MemoryDriver) => d.rollback(ref('seeded'))],
    ] as const)('fails the next %s calls as many times as asked, then works', async (op, call) => {
      driver = new MemoryDriver();
      const volume = driver.addVolume({ name: 'x' });
      driver.addSnapshot({ name: 'seeded', volumeName: 'x' });
      driver.injectFailure(op, new TransientDriverError('503 from the provider'), 2);

      await expect(call(driver, volume)).rejects.toThrow('503 from the provider');
      await expect(call(driver, volume)).rejects.toThrow('503 from the provider');
      await expect(call(driver, volume)).resolves.not.toThrow();
    });
  });

  describe('deletion', () => {
    it('keeps a deleted snapshot Terminating, counted toward the cap, until the delete completes', async () => {
      driver = new MemoryDriver({ deleteLatencyMs: 30, maxSnapshotsPerVolume: 1 });
      const volume = driver.addVolume({ name: 'db' });
      await driver.createSnapshot({ volume, name: 'db-1', labels: {} });

      const deleting = driver.deleteSnapshot(ref('db-1'));
      expect((await driver.listSnapshots(volume)).map((s) => s.state)).toEqual(['Terminating']);
      await expect(
        driver.createSnapshot({ volume, name: 'db-2', labels: {} }),
      ).rejects.toBeInstanceOf(SnapshotLimitError);
      await deleting;
      await expect(
        driver.createSnapshot({ volume, name: 'db-2', labels: {} }),
      ).resolves.toMatchObject({
        adopted: false,
      });
    });
  });

  describe('volumes and restores', () => {
    it('refuses to snapshot a volume that is not Bound', async () => {
      driver = new MemoryDriver();
      const volume = driver.addVolume({ name: 'db', phase: 'Pending' });
      await expect(
        driver.createSnapshot({ volume, name: 'db-1', labels: {} }),
      ).rejects.toBeInstanceOf(VolumeNotFoundError);
    });

    it('restores with the source class and access modes, and refuses others', async () => {
      driver = new MemoryDriver();
      const volume = driver.addVolume({
        name: 'db',
        storageClassName: 'ssd',
        accessModes: ['ReadWriteOnce'],
      });
      await driver.createSnapshot({ volume, name: 'db-1', labels: {} });

      const refused = driver.restoreToNewVolume({
        snapshot: ref('db-1'),
        target: { namespace: 'default', name: 'copy', storageClassName: 'hdd' },
      });
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ field: 'target.storageClassName' });

      const restored = await driver.restoreToNewVolume({
        snapshot: ref('db-1'),
        target: ref('copy'),
      });
      expect(restored).toMatchObject({
        storageClassName: 'ssd',
        accessModes: ['ReadWriteOnce'],
        sizeBytes: volume.sizeBytes,
      });
    });

    it('keeps snapshots of a removed volume, and refuses to roll them back', async () => {
      driver = new MemoryDriver();
      const volume = driver.addVolume({ name: 'db' });
      await driver.createSnapshot({ volume, name: 'db-1', labels: {} });
      expect(driver.removeVolume(volume)).toBe(true);

      expect(await driver.listSnapshots(volume)).toHaveLength(1);
      await expect(driver.rollback(ref('db-1'))).rejects.toBeInstanceOf(VolumeNotFoundError);
    });
  });

  // Its speed is measured by `npm run bench`, not asserted here.
  it('runs thousands of create, wait and delete cycles across volumes without overlap', async () => {
    driver = new MemoryDriver({ maxSnapshotsPerVolume: 10_000 });
    const volumes = Array.from({ length: 50 }, (_, i) => driver.addVolume({ name: `v-${i}` }));
    await Promise.all(
      volumes.map(async (volume) => {
        for (let i = 0; i < 100; i++) {
          const { snapshot } = await driver.createSnapshot({
            volume,
            name: `${volume.name}-${i}`,
            labels: {},
          });
          await driver.waitUntilReady(snapshot, 1000);
          await driver.deleteSnapshot(snapshot);
        }
      }),
    );
    expect(driver.stats()).toMatchObject({
      creates: 5000,
      deletes: 5000,
      maxConcurrentOpsPerVolume: 1,
    });
  });
});
