import {
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  truncate,
  writeFile,
  appendFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import {
  InvalidRequestError,
  MalformedFileError,
  SnapshotCorruptedError,
  SnapshotLimitError,
  type LocalDriver,
  type Volume,
} from '#lib/storage';
import { readTreeEntries, treeDifferences, writeVariedTree } from '../testing/file-tree.js';
import {
  deadPid,
  testLocalDriver,
  writeLocalVolume,
  writeManifest,
} from '../testing/local-harness.js';
import { makeTempDir } from '../testing/temp-dir.js';
import type { SnapshotManifest } from './manifest.js';

const NOW = new Date('2031-05-06T07:08:09.000Z');

describe('LocalDriver', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dataDir: string;
  let driver: LocalDriver;

  beforeEach(async () => {
    tmp = await makeTempDir();
    dataDir = tmp.path;
    driver = testLocalDriver({ dataDir, clock: () => NOW });
  });

  afterEach(async () => {
    await driver.close();
    await tmp.cleanup();
  });

  const volumesDir = () => join(dataDir, 'volumes');
  const snapshotsDir = (ns = 'default') => join(dataDir, 'snapshots', ns);
  const ref = (name: string, namespace = 'default') => ({ namespace, name });

  async function variedVolume(name: string, namespace = 'default'): Promise<Volume> {
    await writeLocalVolume(dataDir, { name, namespace, labels: { app: name } }, {});
    await writeVariedTree(join(volumesDir(), name), 3);
    const volume = await driver.getVolume(ref(name, namespace));
    if (!volume) throw new Error(`volume ${name} missing`);
    return volume;
  }

  async function snapshotOf(volume: Volume, name: string) {
    const { snapshot } = await driver.createSnapshot({ volume, name, labels: {} });
    return driver.waitUntilReady(snapshot, 10_000);
  }

  async function readManifest(name: string, ns = 'default'): Promise<SnapshotManifest> {
    return JSON.parse(
      await readFile(join(snapshotsDir(ns), `${name}.json`), 'utf8'),
    ) as SnapshotManifest;
  }

  describe('invariant 7: a restore returns exactly the bytes that were snapshotted', () => {
    it('restores to a new volume and rolls back, byte for byte, after the source changed', async () => {
      const volume = await variedVolume('shop-db', 'shop');
      const original = await readTreeEntries(join(volumesDir(), 'shop-db'));
      await snapshotOf(volume, 'shop-db-1');

      // Change the source after the snapshot: edit, delete, add.
      const source = join(volumesDir(), 'shop-db');
      await appendFile(join(source, 'notes with spaces.txt'), 'changed');
      await rm(join(source, 'nested'), { recursive: true });
      await writeFile(join(source, 'new-file'), 'not in the snapshot');

      await driver.restoreToNewVolume({
        snapshot: ref('shop-db-1', 'shop'),
        target: { namespace: 'shop', name: 'shop-db-restored' },
      });
      const restored = await readTreeEntries(join(volumesDir(), 'shop-db-restored'));
      expect(treeDifferences(restored, original)).toEqual([]);

      await driver.rollback(ref('shop-db-1', 'shop'));
      expect(treeDifferences(await readTreeEntries(source), original)).toEqual([]);
      expect(await driver.getVolume(ref('shop-db', 'shop'))).toMatchObject({ uid: volume.uid });
      expect(await readdir(volumesDir())).toEqual(
        [
          'shop-db',
          'shop-db-restored',
          'shop-db-restored.volume.yaml',
          'shop-db.volume.yaml',
        ].sort(),
      );
    });

    it('records in the manifest what the archive holds, and commits it last', async () => {
      const volume = await variedVolume('db');
      await driver.createSnapshot({ volume, name: 'db-1', labels: { tier: 'gold' } });

      const manifest = await readManifest('db-1');
      expect(manifest).toMatchObject({
        name: 'db-1',
        namespace: 'default',
        volumeName: 'db',
        volumeUid: volume.uid,
        createdAt: NOW.toISOString(),
        state: 'Ready',
        labels: { tier: 'gold' },
        archive: { bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
        restoreSizeBytes: volume.sizeBytes,
      });
      expect(manifest.builder).toBeUndefined();
      expect(manifest.files?.map((f) => f.path)).toEqual(
        expect.arrayContaining([
          'big.bin',
          'empty.txt',
          'nested/deeper/small.bin',
          'notes with spaces.txt',
        ]),
      );
      expect(manifest.files?.find((f) => f.path === 'empty.txt')).toMatchObject({ bytes: 0 });
    });
  });

  describe('createSnapshot', () => {
    it('adopts on the second call and keeps one archive on disk', async () => {
      const volume = await variedVolume('db');
      const first = await driver.createSnapshot({ volume, name: 'db-1', labels: {} });
      const second = await driver.createSnapshot({ volume, name: 'db-1', labels: {} });

      expect([first.adopted, second.adopted]).toEqual([false, true]);
      expect(await readdir(snapshotsDir())).toEqual(['db-1.json', 'db-1.tar.gz']);
    });

    it('redoes a snapshot whose builder died while it was Creating', async () => {
      const volume = await variedVolume('db');
      await writeManifest(dataDir, {
        name: 'db-1',
        volumeName: 'db',
        volumeUid: volume.uid,
        state: 'Creating',
        builder: 'dead',
      });
      await writeFile(
        join(snapshotsDir(), '.db-1.tar.gz.tmp-999999999-0badf00d'),
        'half an archive',
      );

      const { snapshot, adopted } = await driver.createSnapshot({
        volume,
        name: 'db-1',
        labels: {},
      });
      expect(adopted).toBe(false);
      expect(snapshot.state).toBe('Ready');
      expect(await readdir(snapshotsDir())).toEqual(['db-1.json', 'db-1.tar.gz']);
      await driver.restoreToNewVolume({ snapshot: ref('db-1'), target: ref('db-copy') });
    });

    it('finishes an orphaned snapshot for a caller that only waits for it', async () => {
      const volume = await variedVolume('db');
      await writeManifest(dataDir, {
        name: 'db-1',
        volumeName: 'db',
        volumeUid: volume.uid,
        state: 'Creating',
        builder: 'dead',
      });

      const ready = await driver.waitUntilReady(ref('db-1'), 10_000);
      expect(ready).toMatchObject({ state: 'Ready', restoreSizeBytes: volume.sizeBytes });
    });

    it('counts a snapshot another process is still building toward the cap', async () => {
      const capped = testLocalDriver({ dataDir, maxSnapshotsPerVolume: 1 });
      const volume = await variedVolume('db');
      try {
        await writeManifest(dataDir, {
          name: 'db-1',
          volumeName: 'db',
          volumeUid: volume.uid,
          state: 'Creating',
          builder: 'live',
        });
        const refused = capped.createSnapshot({ volume, name: 'db-2', labels: {} });
        await expect(refused).rejects.toBeInstanceOf(SnapshotLimitError);
        await expect(
          capped.createSnapshot({ volume, name: 'db-1', labels: {} }),
        ).resolves.toMatchObject({
          adopted: true,
          snapshot: { state: 'Creating' },
        });
      } finally {
        await capped.close();
      }
    });

    it('serialises concurrent creates of one volume, so the cap holds', async () => {
      const capped = testLocalDriver({ dataDir, maxSnapshotsPerVolume: 1 });
      const volume = await variedVolume('db');
      const results = await Promise.allSettled(
        ['db-1', 'db-2', 'db-3'].map((name) => capped.createSnapshot({ volume, name, labels: {} })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await capped.listSnapshots(volume)).toHaveLength(1);
      await capped.close();
    });

    it('does not fail when files vanish while the volume is archived', async () => {
      const dir = await writeLocalVolume(dataDir, { name: 'busy' }, {});
      const names = Array.from({ length: 400 }, (_, i) => `f-${i}.txt`);
      for (const name of names) await writeFile(join(dir, name), `content ${name}`.repeat(50));
      const volume = (await driver.getVolume(ref('busy'))) as Volume;

      const creating = driver.createSnapshot({ volume, name: 'busy-1', labels: {} });
      for (const name of names.filter((_, i) => i % 2 === 0))
        await rm(join(dir, name), { force: true });
      const { snapshot } = await creating;

      expect(snapshot.state).toBe('Ready');
      // Whatever the archive caught, the manifest describes it exactly: the restore verifies.
      await driver.restoreToNewVolume({ snapshot: ref('busy-1'), target: ref('busy-copy') });
    });

    it('keeps the snapshots of a namespace under snapshots/<namespace>/', async () => {
      const volume = await variedVolume('cart', 'shop');
      await snapshotOf(volume, 'cart-1');
      expect(await readdir(snapshotsDir('shop'))).toEqual(['cart-1.json', 'cart-1.tar.gz']);
    });
  });

  describe('deleteSnapshot', () => {
    it('never lets a snapshot reference reach outside the snapshots directory', async () => {
      await writeFile(join(dataDir, 'precious.json'), '{}');
      await writeFile(join(dataDir, 'precious.tar.gz'), 'keep me');

      await driver.deleteSnapshot({ namespace: 'default', name: '../../precious' });
      await driver.deleteSnapshot({ namespace: '..', name: 'precious' });
      expect(await driver.getSnapshot({ namespace: '..', name: 'precious' })).toBeUndefined();
      expect((await readdir(dataDir)).sort()).toEqual(['precious.json', 'precious.tar.gz']);
    });

    it('removes the archive and the manifest', async () => {
      const volume = await variedVolume('db');
      await snapshotOf(volume, 'db-1');
      await driver.deleteSnapshot(ref('db-1'));
      expect(await readdir(snapshotsDir())).toEqual([]);
    });
  });

  describe('restoreToNewVolume leaves nothing behind when it refuses or fails', () => {
    async function contents() {
      return { volumes: (await readdir(volumesDir())).sort(), all: await driver.listVolumes() };
    }

    it.each([
      ['target.namespace', { namespace: 'blog', name: 'copy' }],
      ['target.name', { namespace: 'default', name: 'db' }],
      ['target.name', { namespace: 'default', name: 'Not_A_Label' }],
      ['target.size', { namespace: 'default', name: 'copy', sizeBytes: 10 }],
      ['target.storageClassName', { namespace: 'default', name: 'copy', storageClassName: 'fast' }],
      [
        'target.accessModes',
        { namespace: 'default', name: 'copy', accessModes: ['ReadWriteMany'] },
      ],
    ])('refuses with an InvalidRequestError naming %s', async (field, target) => {
      const volume = await variedVolume('db');
      await snapshotOf(volume, 'db-1');
      const before = await contents();

      const refused = driver.restoreToNewVolume({ snapshot: ref('db-1'), target });
      await expect(refused).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(refused).rejects.toMatchObject({ field });
      expect(await contents()).toEqual(before);
    });

    it('refuses an archive that was corrupted on disk', async () => {
      const volume = await variedVolume('db');
      await snapshotOf(volume, 'db-1');
      const before = await contents();
      const archive = join(snapshotsDir(), 'db-1.tar.gz');
      const bytes = await readFile(archive);
      const middle = Math.floor(bytes.length / 2);
      bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
      await writeFile(archive, bytes);

      const refused = driver.restoreToNewVolume({ snapshot: ref('db-1'), target: ref('copy') });
      await expect(refused).rejects.toBeInstanceOf(SnapshotCorruptedError);
      expect(await contents()).toEqual(before);
    });

    it('refuses data that does not match a file checksum, naming the file', async () => {
      const volume = await variedVolume('db');
      await snapshotOf(volume, 'db-1');
      const manifest = await readManifest('db-1');
      const small = manifest.files?.find((f) => f.path === 'nested/deeper/small.bin');
      if (small) small.sha256 = '0'.repeat(64);
      await writeFile(join(snapshotsDir(), 'db-1.json'), JSON.stringify(manifest));
      const before = await contents();

      const refused = driver.restoreToNewVolume({ snapshot: ref('db-1'), target: ref('copy') });
      await expect(refused).rejects.toThrow(/nested\/deeper\/small\.bin: checksum mismatch/);
      expect(await contents()).toEqual(before);
    });

    it('refuses a truncated archive in a rollback and leaves the volume as it was', async () => {
      const volume = await variedVolume('db');
      await snapshotOf(volume, 'db-1');
      await writeFile(join(volumesDir(), 'db', 'after.txt'), 'written after the snapshot');
      const current = await readTreeEntries(join(volumesDir(), 'db'));
      await truncate(join(snapshotsDir(), 'db-1.tar.gz'), 100);

      await expect(driver.rollback(ref('db-1'))).rejects.toBeInstanceOf(SnapshotCorruptedError);
      expect(treeDifferences(await readTreeEntries(join(volumesDir(), 'db')), current)).toEqual([]);
      expect((await readdir(volumesDir())).filter((n) => n.startsWith('.'))).toEqual([]);
    });
  });

  describe('rollback crash recovery', () => {
    it('renames the old directory back when a rollback died between its two renames', async () => {
      const volume = await variedVolume('db');
      await snapshotOf(volume, 'db-1');
      const original = await readTreeEntries(join(volumesDir(), 'db'));
      const pid = await deadPid();
      await rename(
        join(volumesDir(), 'db'),
        join(volumesDir(), `.db.rollback-old-${pid}-0badf00d`),
      );
      await mkdir(join(volumesDir(), `.db.rollback-new-${pid}-0badf00d`));

      const restarted = testLocalDriver({ dataDir });
      expect(await restarted.getVolume(ref('db'))).toMatchObject({ uid: volume.uid });
      expect(treeDifferences(await readTreeEntries(join(volumesDir(), 'db')), original)).toEqual(
        [],
      );
      expect((await readdir(volumesDir())).filter((n) => n.startsWith('.'))).toEqual([]);
      await restarted.close();
    });

    it('removes the old directory when the rollback had already swapped it out', async () => {
      await variedVolume('db');
      const pid = await deadPid();
      await mkdir(join(volumesDir(), `.db.rollback-old-${pid}-0badf00d`));

      const restarted = testLocalDriver({ dataDir });
      await restarted.listVolumes();
      expect((await readdir(volumesDir())).filter((n) => n.startsWith('.'))).toEqual([]);
      await restarted.close();
    });
  });

  describe('volumes', () => {
    it('reads namespace and labels from <name>.volume.yaml, and defaults without one', async () => {
      await writeLocalVolume(dataDir, { name: 'plain' });
      await mkdir(join(volumesDir(), 'labelled'));
      await writeFile(
        join(volumesDir(), 'labelled.volume.yaml'),
        'namespace: shop\nlabels:\n  app: shop\n',
      );

      expect(await driver.listVolumes()).toEqual([
        expect.objectContaining({
          name: 'labelled',
          namespace: 'shop',
          labels: { app: 'shop' },
          sizeBytes: 0,
        }),
        expect.objectContaining({
          name: 'plain',
          namespace: 'default',
          labels: {},
          sizeBytes: 1000,
        }),
      ]);
    });

    it('skips hidden entries, files and names that are not DNS labels', async () => {
      await writeLocalVolume(dataDir, { name: 'ok' });
      await mkdir(join(volumesDir(), '.hidden'));
      await mkdir(join(volumesDir(), 'Not A Label'));
      await writeFile(join(volumesDir(), 'stray-file'), '');
      expect((await driver.listVolumes()).map((v) => v.name)).toEqual(['ok']);
    });

    it('names the file when its YAML is broken', async () => {
      await writeLocalVolume(dataDir, { name: 'broken' });
      const file = join(volumesDir(), 'broken.volume.yaml');
      await writeFile(file, 'namespace: shop\nlabels: [unclosed\n');

      const listing = driver.listVolumes();
      await expect(listing).rejects.toBeInstanceOf(MalformedFileError);
      await expect(listing).rejects.toMatchObject({ file, message: expect.stringContaining(file) });
    });

    it('finds volumes written before it started, without reading their size', async () => {
      await writeLocalVolume(dataDir, { name: 'db', namespace: 'shop', labels: { app: 'shop' } });
      await writeLocalVolume(dataDir, { name: 'web', namespace: 'shop', labels: { app: 'web' } });
      const selector = { matchLabels: { app: 'shop' } };

      const found = await driver.findVolumes({ namespace: 'shop', selector });
      expect(found).toEqual([
        {
          namespace: 'shop',
          name: 'db',
          uid: expect.any(String),
          labels: { app: 'shop' },
          phase: 'Bound',
        },
      ]);
      expect(found[0]?.uid).toBe((await driver.getVolume(ref('db', 'shop')))?.uid);
      expect((await readdir(volumesDir())).filter((n) => n.startsWith('.'))).toEqual([]);
    });

    it('fails every find while a metadata file is broken, and finds again once it is fixed', async () => {
      await writeLocalVolume(dataDir, { name: 'db', namespace: 'shop', labels: { app: 'shop' } });
      const query = { namespace: 'shop', names: ['db'] };
      expect(await driver.findVolumes(query)).toHaveLength(1);
      const file = join(volumesDir(), 'db.volume.yaml');

      await writeFile(file, 'namespace: shop\nlabels: [unclosed\n');
      await expect(driver.findVolumes(query)).rejects.toMatchObject({ file });
      await expect(driver.findVolumes({ namespace: 'blog' })).rejects.toBeInstanceOf(
        MalformedFileError,
      );

      await writeFile(file, 'namespace: shop\nlabels:\n  app: fixed\n');
      expect(await driver.findVolumes(query)).toEqual([
        expect.objectContaining({ name: 'db', labels: { app: 'fixed' } }),
      ]);
    });

    it('warns and rescans when its watch stops reporting, and still finds what changed', async () => {
      const warnings: string[] = [];
      const watched = testLocalDriver({ dataDir, warn: (message) => warnings.push(message) });
      try {
        await writeLocalVolume(dataDir, { name: 'db', namespace: 'shop' });
        expect(await watched.findVolumes({ namespace: 'shop', selector: {} })).toHaveLength(1);

        // The watched directory itself goes away: its watch can report nothing more.
        await rm(volumesDir(), { recursive: true });
        await writeLocalVolume(dataDir, { name: 'web', namespace: 'shop' });
        const found = await watched.findVolumes({ namespace: 'shop', selector: {} });

        expect(found.map((v) => v.name)).toEqual(['web']);
        expect(warnings).toEqual([expect.stringContaining('rescanning')]);
        // The new watch reports changes again.
        await writeLocalVolume(dataDir, { name: 'db', namespace: 'shop' });
        const again = await watched.findVolumes({ namespace: 'shop', selector: {} });
        expect(again.map((v) => v.name)).toEqual(['db', 'web']);
      } finally {
        await watched.close();
      }
    });

    it('keeps a uid for the directory’s life and gives a recreated directory a new one', async () => {
      const dir = await writeLocalVolume(dataDir, { name: 'db' });
      const first = await driver.getVolume(ref('db'));
      expect(await driver.getVolume(ref('db'))).toMatchObject({ uid: first?.uid });

      await rm(dir, { recursive: true });
      await writeLocalVolume(dataDir, { name: 'db' });
      const recreated = await driver.getVolume(ref('db'));
      expect(recreated?.uid).toBeDefined();
      expect(recreated?.uid).not.toBe(first?.uid);
    });
  });
});
