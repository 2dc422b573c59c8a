import { copyFile, lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testLocalDriver } from '../../testing/local-harness.js';
import { makeTempDir } from '../../testing/temp-dir.js';

const FIXTURES = fileURLToPath(new URL('../../testing/fixtures/', import.meta.url));
const ref = (name: string) => ({ namespace: 'default', name });

describe('snapshots written before this archive format (node-tar 7.5.23)', () => {
  it('restore and roll back, verified against their manifest', async () => {
    const tmp = await makeTempDir();
    const driver = testLocalDriver({ dataDir: tmp.path });
    try {
      await mkdir(join(tmp.path, 'volumes', 'old'), { recursive: true });
      const volume = await driver.getVolume(ref('old'));
      const snapshots = join(tmp.path, 'snapshots', 'default');
      await mkdir(snapshots, { recursive: true });
      await copyFile(join(FIXTURES, 'node-tar-7.5.23.tar.gz'), join(snapshots, 'old-1.tar.gz'));
      const manifest = JSON.parse(
        await readFile(join(FIXTURES, 'node-tar-7.5.23.json'), 'utf8'),
      ) as Record<string, unknown>;
      await writeFile(
        join(snapshots, 'old-1.json'),
        JSON.stringify({ ...manifest, volumeUid: volume?.uid }),
      );

      await driver.restoreToNewVolume({ snapshot: ref('old-1'), target: ref('copy') });
      await driver.rollback(ref('old-1'));

      for (const dir of ['copy', 'old']) {
        const root = join(tmp.path, 'volumes', dir);
        expect(await readFile(join(root, 'nested', 'deeper', 'small.bin'), 'utf8')).toBe('small');
        expect((await lstat(join(root, 'empty.txt'))).mode & 0o7777).toBe(0o640);
        expect(await readlink(join(root, 'link-to-small'))).toBe('nested/deeper/small.bin');
        expect(await readFile(join(root, 'n'.repeat(150)), 'utf8')).toBe('long name');
        expect((await lstat(join(root, 'empty-dir'))).isDirectory()).toBe(true);
      }
    } finally {
      await driver.close();
      await tmp.cleanup();
    }
  });
});
