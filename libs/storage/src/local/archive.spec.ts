import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TransientDriverError } from '../errors.js';
import { makeTempDir } from '../testing/temp-dir.js';
import { readTreeEntries, treeDifferences, writeVariedTree } from '../testing/file-tree.js';
import { extractArchive, readArchiveContent, writeArchive } from './archive.js';
import { hashFile, walkTree, type TreeEntry } from './tree.js';

describe('archive', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let source: string;

  beforeEach(async () => {
    tmp = await makeTempDir();
    source = join(tmp.path, 'source');
    await writeVariedTree(source, 1);
  });

  afterEach(() => tmp.cleanup());

  it('round-trips a varied tree byte for byte, with its permission bits', async () => {
    await chmod(join(source, 'notes with spaces.txt'), 0o640);
    const file = join(tmp.path, 'a.tar.gz');
    await writeArchive(source, file);
    const out = join(tmp.path, 'out');
    await extractArchive(file, out);

    expect(treeDifferences(await readTreeEntries(out), await readTreeEntries(source))).toEqual([]);
    expect((await stat(join(out, 'notes with spaces.txt'))).mode & 0o777).toBe(0o640);
    const odd = 'nested/ünïcødé & #odd$ (name).dat';
    const seconds = async (root: string) =>
      Math.floor((await stat(join(root, odd))).mtimeMs / 1000);
    expect(await seconds(out)).toBe(await seconds(source));
  });

  it('describes exactly what the archive holds: checksums, sizes, directories and links', async () => {
    const file = join(tmp.path, 'a.tar.gz');
    await writeArchive(source, file);
    const content = await readArchiveContent(file);

    expect(content.archive).toEqual(await hashFile(file));
    const big = content.files.find((f) => f.path === 'big.bin');
    expect(big).toEqual({
      path: 'big.bin',
      ...(await hashFile(join(source, 'big.bin'))),
      mode: 0o644,
    });
    expect(content.files.map((f) => f.path)).toContain('nested/ünïcødé & #odd$ (name).dat');
    expect(content.files.map((f) => f.path)).toContain('nested/@at-sign');
    expect(content.directories).toEqual(expect.arrayContaining(['empty-dir', 'nested/deeper']));
    expect(content.symlinks).toEqual([
      { path: 'link-to-small', target: 'nested/deeper/small.bin' },
    ]);
    expect(content.restoreSizeBytes).toBe(content.files.reduce((n, f) => n + f.bytes, 0));
  });

  it('starts over with a fresh listing when a file vanishes between listing and reading', async () => {
    const file = join(tmp.path, 'a.tar.gz');
    let calls = 0;
    const walk = async (root: string): Promise<TreeEntry[]> => {
      calls++;
      const entries = await walkTree(root);
      return calls === 1
        ? [...entries, { kind: 'file', path: 'gone.bin', bytes: 1, mode: 0o644 }]
        : entries;
    };
    await writeArchive(source, file, { walk });

    expect(calls).toBe(2);
    const content = await readArchiveContent(file);
    expect(content.files.map((f) => f.path)).not.toContain('gone.bin');
  });

  it('gives up with a transient error, leaving no file, when the tree keeps changing', async () => {
    const file = join(tmp.path, 'a.tar.gz');
    const walk = (): Promise<TreeEntry[]> =>
      Promise.resolve([{ kind: 'file', path: 'always-gone.bin', bytes: 1, mode: 0o644 }]);
    await expect(writeArchive(source, file, { walk, attempts: 2 })).rejects.toBeInstanceOf(
      TransientDriverError,
    );
    expect(await readdir(tmp.path)).toEqual(['source']);
  });

  it('archives an empty directory as an empty archive', async () => {
    const empty = join(tmp.path, 'empty');
    await mkdir(empty);
    const file = join(tmp.path, 'e.tar.gz');
    await writeArchive(empty, file);
    const content = await readArchiveContent(file);
    expect(content.files).toEqual([]);
    expect(content.restoreSizeBytes).toBe(0);
  });
});
