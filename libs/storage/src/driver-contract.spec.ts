import {
  InvalidRequestError,
  MemoryDriver,
  SnapshotConflictError,
  SnapshotFailedError,
  SnapshotLimitError,
  SnapshotNotFoundError,
  SnapshotTimeoutError,
  VolumeNotFoundError,
  type SnapshotDriver,
  type SnapshotState,
  type Volume,
} from '#lib/storage';
import { testLocalDriver, writeLocalVolume, writeManifest } from './testing/local-harness.js';
import { makeTempDir } from './testing/temp-dir.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

interface SeedSnapshot {
  namespace?: string;
  name: string;
  volumeName: string;
  state: SnapshotState;
  error?: string;
}

interface Harness {
  driver: SnapshotDriver;
  addVolume(input: {
    namespace?: string;
    name: string;
    labels?: Record<string, string>;
  }): Promise<Volume>;
  /** Replaces the volume's labels, as its owner would (outside the driver). */
  relabelVolume(
    ref: { namespace: string; name: string },
    labels: Record<string, string>,
  ): Promise<void>;
  /** Deletes the volume, as its owner would (outside the driver). */
  removeVolume(ref: { namespace: string; name: string }): Promise<void>;
  /** A snapshot made by someone else, in any state; a Creating one stays Creating. */
  seedSnapshot(input: SeedSnapshot): Promise<void>;
  cleanup(): Promise<void>;
}

type HarnessFactory = (options: { maxSnapshotsPerVolume?: number }) => Promise<Harness>;

const localHarness: HarnessFactory = async ({ maxSnapshotsPerVolume }) => {
  const tmp = await makeTempDir();
  const driver = testLocalDriver({ dataDir: tmp.path, maxSnapshotsPerVolume });
  return {
    driver,
    async addVolume(input) {
      await writeLocalVolume(tmp.path, input);
      const volume = await driver.getVolume({
        namespace: input.namespace ?? 'default',
        name: input.name,
      });
      if (!volume) throw new Error('volume not visible');
      return volume;
    },
    async relabelVolume(ref, labels) {
      await writeLocalVolume(tmp.path, { ...ref, labels });
    },
    async removeVolume(ref) {
      await rm(join(tmp.path, 'volumes', ref.name), { recursive: true });
      await rm(join(tmp.path, 'volumes', `${ref.name}.volume.yaml`), { force: true });
    },
    async seedSnapshot(input) {
      await writeManifest(tmp.path, { ...input, builder: 'live' });
    },
    async cleanup() {
      await driver.close();
      await tmp.cleanup();
    },
  };
};

const memoryHarness: HarnessFactory = ({ maxSnapshotsPerVolume }) => {
  const driver = new MemoryDriver({ maxSnapshotsPerVolume });
  return Promise.resolve({
    driver,
    addVolume: (input) => Promise.resolve(driver.addVolume(input)),
    relabelVolume: (ref, labels) => {
      if (!driver.relabelVolume(ref, labels)) throw new Error(`no volume ${ref.name}`);
      return Promise.resolve();
    },
    removeVolume: (ref) => {
      if (!driver.removeVolume(ref)) throw new Error(`no volume ${ref.name}`);
      return Promise.resolve();
    },
    seedSnapshot: (input) => {
      driver.addSnapshot(input);
      return Promise.resolve();
    },
    cleanup: () => driver.close(),
  });
};

describe.each([
  ['local', localHarness],
  ['memory', memoryHarness],
])('SnapshotDriver contract: %s', (_kind, makeHarness) => {
  let h: Harness;
  let driver: SnapshotDriver;

  beforeEach(async () => {
    h = await makeHarness({ maxSnapshotsPerVolume: 3 });
    driver = h.driver;
  });

  afterEach(() => h.cleanup());

  const ref = (name: string, namespace = 'shop') => ({ namespace, name });

  async function readySnapshot(volume: Volume, name: string) {
    const { snapshot } = await driver.createSnapshot({ volume, name, labels: {} });
    return driver.waitUntilReady(snapshot, 5000);
  }

  describe('volumes', () => {
    it('lists volumes with their namespace and labels, filtered by namespace', async () => {
      await h.addVolume({ namespace: 'shop', name: 'db', labels: { app: 'shop' } });
      await h.addVolume({ namespace: 'blog', name: 'posts' });

      const shop = await driver.listVolumes('shop');
      expect(shop).toEqual([
        expect.objectContaining({
          namespace: 'shop',
          name: 'db',
          labels: { app: 'shop' },
          phase: 'Bound',
        }),
      ]);
      expect((await driver.listVolumes()).map((v) => v.name).sort()).toEqual(['db', 'posts']);
    });

    it('finds the volumes a selector matches and the claims named, by name, in one namespace', async () => {
      await h.addVolume({ namespace: 'shop', name: 'web', labels: { app: 'shop', tier: 'web' } });
      await h.addVolume({ namespace: 'shop', name: 'db', labels: { app: 'shop', tier: 'db' } });
      await h.addVolume({ namespace: 'shop', name: 'cache', labels: { app: 'other' } });
      await h.addVolume({ namespace: 'blog', name: 'posts', labels: { app: 'shop' } });
      const names = async (query: Parameters<SnapshotDriver['findVolumes']>[0]) =>
        (await driver.findVolumes(query)).map((v) => `${v.namespace}/${v.name}`);

      expect(
        await names({ namespace: 'shop', selector: { matchLabels: { app: 'shop' } } }),
      ).toEqual(['shop/db', 'shop/web']);
      const notWeb = {
        matchExpressions: [
          { key: 'app', operator: 'Exists' as const },
          { key: 'tier', operator: 'NotIn' as const, values: ['web'] },
        ],
      };
      expect(await names({ namespace: 'shop', selector: notWeb })).toEqual([
        'shop/cache',
        'shop/db',
      ]);
      expect(await names({ namespace: 'shop', names: ['web', 'ghost'] })).toEqual(['shop/web']);
      expect(await names({ namespace: 'shop', selector: {} })).toEqual([
        'shop/cache',
        'shop/db',
        'shop/web',
      ]);
      expect(await names({ namespace: 'shop' })).toEqual([]);
      expect(await driver.findVolumes({ namespace: 'shop', names: ['db'] })).toEqual([
        expect.objectContaining({ labels: { app: 'shop', tier: 'db' }, phase: 'Bound' }),
      ]);
    });

    it('sees a volume added, relabelled or removed after its index was built', async () => {
      const selector = { matchLabels: { app: 'shop' } };
      const found = async () =>
        (await driver.findVolumes({ namespace: 'shop', selector })).map((v) => v.name);
      await h.addVolume({ namespace: 'shop', name: 'db', labels: { app: 'shop' } });
      expect(await found()).toEqual(['db']);

      const web = await h.addVolume({ namespace: 'shop', name: 'web', labels: { app: 'shop' } });
      expect(await found()).toEqual(['db', 'web']);
      expect((await driver.findVolumes({ namespace: 'shop', names: ['web'] }))[0]?.uid).toBe(
        web.uid,
      );

      await h.relabelVolume(ref('db'), { app: 'legacy' });
      expect(await found()).toEqual(['web']);
      await h.relabelVolume(ref('db'), { app: 'shop' });
      expect(await found()).toEqual(['db', 'web']);

      await h.removeVolume(ref('web'));
      expect(await found()).toEqual(['db']);
      expect(await driver.findVolumes({ namespace: 'shop', names: ['web'] })).toEqual([]);
    });

    it('finds a volume only in its own namespace', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      expect(await driver.getVolume(ref('db'))).toMatchObject({ uid: db.uid });
      expect(await driver.getVolume(ref('db', 'blog'))).toBeUndefined();
      expect(await driver.getVolume(ref('nope'))).toBeUndefined();
    });
  });

  describe('createSnapshot', () => {
    it('creates a snapshot of the volume that becomes ready with a restore size', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      const { snapshot, adopted } = await driver.createSnapshot({
        volume: db,
        name: 'db-1',
        labels: { 'snapwarden.io/policy': 'nightly' },
      });

      expect(adopted).toBe(false);
      expect(snapshot).toMatchObject({ namespace: 'shop', name: 'db-1', volumeName: 'db' });
      const ready = await driver.waitUntilReady(snapshot, 5000);
      expect(ready).toMatchObject({
        state: 'Ready',
        readyToUse: true,
        labels: { 'snapwarden.io/policy': 'nightly' },
      });
      expect(ready.restoreSizeBytes).toBeGreaterThan(0);
      expect(await driver.getSnapshot(ref('db-1'))).toMatchObject({
        uid: ready.uid,
        state: 'Ready',
      });
    });

    it('adopts a name created twice for the same volume, leaving one snapshot', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      const first = await readySnapshot(db, 'db-1');
      const again = await driver.createSnapshot({ volume: db, name: 'db-1', labels: {} });

      expect(again.adopted).toBe(true);
      expect(again.snapshot.uid).toBe(first.uid);
      expect(await driver.listSnapshots(db)).toHaveLength(1);
    });

    it('refuses a name that belongs to a snapshot of another volume', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      const cache = await h.addVolume({ namespace: 'shop', name: 'cache' });
      await readySnapshot(db, 'shared-name');

      await expect(
        driver.createSnapshot({ volume: cache, name: 'shared-name', labels: {} }),
      ).rejects.toBeInstanceOf(SnapshotConflictError);
    });

    it('refuses a volume that does not exist', async () => {
      await expect(
        driver.createSnapshot({ volume: ref('ghost'), name: 'ghost-1', labels: {} }),
      ).rejects.toBeInstanceOf(VolumeNotFoundError);
    });

    it('refuses a snapshot name that is not a DNS-1123 subdomain, naming the field', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      const refused = driver.createSnapshot({ volume: db, name: '../escape', labels: {} });
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ field: 'name' });
    });

    it('refuses past the cap, counting foreign, failed and terminating snapshots', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'manual',
        volumeName: 'db',
        state: 'Terminating',
      });
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'broken',
        volumeName: 'db',
        state: 'Failed',
      });
      await readySnapshot(db, 'db-1');

      const refused = driver.createSnapshot({ volume: db, name: 'db-2', labels: {} });
      await expect(refused).rejects.toBeInstanceOf(SnapshotLimitError);
      expect(await driver.listSnapshots(db)).toHaveLength(3);
      expect((await driver.capabilities(db)).maxSnapshotsPerVolume).toBe(3);
    });

    it('still adopts an existing name when the volume is at its cap', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      for (const name of ['db-1', 'db-2', 'db-3']) await readySnapshot(db, name);
      await expect(
        driver.createSnapshot({ volume: db, name: 'db-3', labels: {} }),
      ).resolves.toMatchObject({
        adopted: true,
      });
    });
  });

  describe('listing', () => {
    it('lists every snapshot of a volume in every state, and all snapshots by namespace', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.addVolume({ namespace: 'blog', name: 'posts' });
      await readySnapshot(db, 'db-1');
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'db-creating',
        volumeName: 'db',
        state: 'Creating',
      });
      await h.seedSnapshot({
        namespace: 'blog',
        name: 'posts-1',
        volumeName: 'posts',
        state: 'Ready',
      });

      const states = (await driver.listSnapshots(db)).map((s) => [s.name, s.state]).sort();
      expect(states).toEqual([
        ['db-1', 'Ready'],
        ['db-creating', 'Creating'],
      ]);
      expect((await driver.listAllSnapshots('blog')).map((s) => s.name)).toEqual(['posts-1']);
      expect(await driver.listAllSnapshots()).toHaveLength(3);
    });
  });

  describe('deleteSnapshot', () => {
    it('deletes a snapshot, and succeeds again when it is already gone', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      await readySnapshot(db, 'db-1');

      await driver.deleteSnapshot(ref('db-1'));
      await driver.deleteSnapshot(ref('db-1'));
      await driver.deleteSnapshot(ref('never-existed'));
      expect(await driver.listSnapshots(db)).toEqual([]);
      expect(await driver.getSnapshot(ref('db-1'))).toBeUndefined();
    });
  });

  describe('waitUntilReady', () => {
    it('rejects with the error text of a failed snapshot', async () => {
      await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'bad',
        volumeName: 'db',
        state: 'Failed',
        error: 'disk on fire',
      });
      const waiting = driver.waitUntilReady(ref('bad'), 1000);
      await expect(waiting).rejects.toBeInstanceOf(SnapshotFailedError);
      await expect(waiting).rejects.toThrow(/disk on fire/);
    });

    it('times out with a transient error while the snapshot stays Creating', async () => {
      await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'slow',
        volumeName: 'db',
        state: 'Creating',
      });
      const waiting = driver.waitUntilReady(ref('slow'), 50);
      await expect(waiting).rejects.toBeInstanceOf(SnapshotTimeoutError);
      await expect(waiting).rejects.toMatchObject({ transient: true });
    });

    it('rejects with the abort reason when the caller aborts', async () => {
      await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'slow',
        volumeName: 'db',
        state: 'Creating',
      });
      const controller = new AbortController();
      const reason = new Error('shutting down');
      const waiting = driver.waitUntilReady(ref('slow'), 10_000, controller.signal);
      setTimeout(() => controller.abort(reason), 20);
      await expect(waiting).rejects.toBe(reason);
    });

    it('rejects at once for a snapshot that does not exist', async () => {
      await expect(driver.waitUntilReady(ref('ghost'), 10_000)).rejects.toBeInstanceOf(
        SnapshotNotFoundError,
      );
    });
  });

  describe('restoreToNewVolume', () => {
    it('creates a new volume in the snapshot namespace, labelled with its origin', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      const snapshot = await readySnapshot(db, 'db-1');

      const restored = await driver.restoreToNewVolume({
        snapshot: ref('db-1'),
        target: { namespace: 'shop', name: 'db-copy', sizeBytes: snapshot.restoreSizeBytes },
      });

      expect(restored).toMatchObject({
        namespace: 'shop',
        name: 'db-copy',
        labels: { 'snapwarden.io/restored-from': 'db-1' },
      });
      expect(restored.uid).not.toBe(db.uid);
      expect(await driver.getVolume(ref('db-copy'))).toMatchObject({ uid: restored.uid });
    });

    it.each([
      ['target.namespace', { namespace: 'blog', name: 'db-copy' }],
      ['target.name', { namespace: 'shop', name: 'other' }],
      ['target.size', { namespace: 'shop', name: 'db-copy', sizeBytes: 1 }],
    ])('refuses a request that breaks the %s rule and creates nothing', async (field, target) => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.addVolume({ namespace: 'shop', name: 'other' });
      await readySnapshot(db, 'db-1');
      const before = (await driver.listVolumes()).map((v) => v.uid).sort();

      const refused = driver.restoreToNewVolume({ snapshot: ref('db-1'), target });
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ field });
      expect((await driver.listVolumes()).map((v) => v.uid).sort()).toEqual(before);
    });

    it('refuses a snapshot that does not exist', async () => {
      await expect(
        driver.restoreToNewVolume({
          snapshot: ref('ghost'),
          target: { namespace: 'shop', name: 'x' },
        }),
      ).rejects.toBeInstanceOf(SnapshotNotFoundError);
    });
  });

  describe('rollback', () => {
    it('rolls the source volume back and keeps its uid', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      await readySnapshot(db, 'db-1');

      await driver.rollback(ref('db-1'));
      expect(await driver.getVolume(ref('db'))).toMatchObject({ uid: db.uid });
    });
  });

  describe('capabilities and close', () => {
    it('declares rollback, restore and one operation in flight per volume', async () => {
      const db = await h.addVolume({ namespace: 'shop', name: 'db' });
      // Driver-specific capabilities (the local driver's inline deletes) may come on top.
      expect(await driver.capabilities(db)).toMatchObject({
        maxSnapshotsPerVolume: 3,
        rollback: true,
        restoreToNewVolume: true,
        oneInFlightPerVolume: true,
      });
    });

    it('rejects pending waiters when it is closed', async () => {
      await h.addVolume({ namespace: 'shop', name: 'db' });
      await h.seedSnapshot({
        namespace: 'shop',
        name: 'slow',
        volumeName: 'db',
        state: 'Creating',
      });
      const waiting = driver.waitUntilReady(ref('slow'), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await driver.close();
      await expect(waiting).rejects.toMatchObject({ transient: true });
    });
  });
});
