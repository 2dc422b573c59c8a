import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SnapshotCorruptedError } from '../../errors.js';
import { testLocalDriver, writeLocalVolume, writeManifest } from '../../testing/local-harness.js';
import { makeTempDir } from '../../testing/temp-dir.js';
import type { ArchiveContent } from './archive-content.js';
import { encodeHeader, endOfArchive, padding, type EntryKind } from './tar-format.js';
import { unpackTree } from './unpack-tree.js';

interface Entry {
  path: string;
  kind: EntryKind;
  data?: string;
  target?: string;
}

/** A tar stream of hand-written entries: what a tampered or hostile archive could hold. */
function tarOf(entries: Entry[]): Buffer {
  const blocks = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    blocks.push(
      encodeHeader({
        path: Buffer.from(e.path),
        kind: e.kind,
        mode: e.kind === 'directory' ? 0o755 : 0o644,
        uid: 0,
        gid: 0,
        size: data.length,
        mtimeNs: 1_600_000_000_000_000_000n,
        ...(e.target === undefined ? {} : { linkTarget: Buffer.from(e.target) }),
      }),
      data,
      padding(data.length),
    );
  }
  return Buffer.concat([...blocks, endOfArchive()]);
}

/** A manifest that lists exactly these entries, so only the path rules can refuse them. */
function contentOf(entries: Entry[], archive = Buffer.alloc(0)): ArchiveContent {
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  return {
    archive: { bytes: archive.length, sha256: sha(archive) },
    files: entries
      .filter((e) => e.kind === 'file')
      .map((e) => ({
        path: e.path,
        bytes: (e.data ?? '').length,
        sha256: sha(e.data ?? ''),
        mode: 0o644,
      })),
    directories: entries.filter((e) => e.kind === 'directory').map((e) => e.path),
    symlinks: entries
      .filter((e) => e.kind === 'symlink')
      .map((e) => ({ path: e.path, target: e.target ?? '' })),
    hardLinks: entries
      .filter((e) => e.kind === 'hardlink')
      .map((e) => ({ path: e.path, target: e.target ?? '' })),
    restoreSizeBytes: 0,
  };
}

async function* once(buffer: Buffer): AsyncGenerator<Buffer> {
  yield await Promise.resolve(buffer);
}

describe('unpackTree never writes outside its target', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dest: string;

  beforeEach(async () => {
    tmp = await makeTempDir();
    dest = join(tmp.path, 'dest');
    await mkdir(dest);
    await mkdir(join(tmp.path, 'outside'));
  });

  afterEach(() => tmp.cleanup());

  const unpack = (entries: Entry[]) =>
    unpackTree(once(tarOf(entries)), {
      dest,
      expected: contentOf(entries),
      owners: false,
    });

  it.each<[string, Entry[], RegExp]>([
    ['a parent reference', [{ path: '../outside/x', kind: 'file', data: 'x' }], /"\.\." component/],
    ['an absolute path', [{ path: `${'/'}tmp/x`, kind: 'file', data: 'x' }], /not relative/],
    [
      'a file through a symbolic link',
      [
        { path: 'link', kind: 'symlink', target: '../outside' },
        { path: 'link/x', kind: 'file', data: 'x' },
      ],
      /parent is not a directory extracted before it/,
    ],
    [
      'a hard link to a file outside',
      [{ path: 'h', kind: 'hardlink', target: '../outside/secret' }],
      /not extracted before it/,
    ],
    [
      'the same path twice',
      [
        { path: 'a', kind: 'file', data: 'x' },
        { path: 'a', kind: 'file', data: 'x' },
      ],
      /holds this path twice/,
    ],
  ])('refuses %s', async (_case, entries, problem) => {
    await writeFile(join(tmp.path, 'outside', 'secret'), 'keep');
    await expect(unpack(entries)).rejects.toThrow(problem);
    expect(await readdir(join(tmp.path, 'outside'))).toEqual(['secret']);
    expect(await readFile(join(tmp.path, 'outside', 'secret'), 'utf8')).toBe('keep');
  });

  it('keeps absolute and escaping symbolic links as links, never following them', async () => {
    await unpack([
      { path: 'abs', kind: 'symlink', target: '/etc/passwd' },
      { path: 'up', kind: 'symlink', target: '../outside' },
    ]);
    expect((await readdir(dest)).sort()).toEqual(['abs', 'up']);
    expect(await readdir(join(tmp.path, 'outside'))).toEqual([]);
  });

  it('fails a restore of a hostile archive at once with the cause, leaving nothing', async () => {
    const driver = testLocalDriver({ dataDir: tmp.path });
    try {
      await writeLocalVolume(tmp.path, { name: 'db' });
      const entries: Entry[] = [{ path: '../../escape', kind: 'file', data: 'x' }];
      const archive = gzipSync(tarOf(entries));
      const manifest = await writeManifest(tmp.path, {
        name: 'db-1',
        volumeName: 'db',
        state: 'Ready',
      });
      const file = join(tmp.path, 'snapshots', 'default', 'db-1');
      await writeFile(`${file}.tar.gz`, archive);
      await writeFile(
        `${file}.json`,
        JSON.stringify({ ...manifest, ...contentOf(entries, archive) }),
      );

      const restore = driver.restoreToNewVolume({
        snapshot: { namespace: 'default', name: 'db-1' },
        target: { namespace: 'default', name: 'copy' },
      });
      await expect(restore).rejects.toBeInstanceOf(SnapshotCorruptedError);
      await expect(restore).rejects.toThrow(
        /\.\.\/\.\.\/escape: path has an empty, "\." or "\.\." component/,
      );
      expect((await readdir(join(tmp.path, 'volumes'))).sort()).toEqual(['db']);
    } finally {
      await driver.close();
    }
  });
});
