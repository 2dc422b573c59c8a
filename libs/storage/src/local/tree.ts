import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { unlessMissing } from './fs-util.js';

/** One entry of a directory tree, with a `/`-separated path relative to the tree's root. */
export type TreeEntry =
  | { kind: 'directory'; path: string }
  | { kind: 'file'; path: string; bytes: number; mode: number }
  | { kind: 'symlink'; path: string; target: string };

/**
 * Lists a directory tree: directories, regular files and symbolic links (not followed);
 * sockets, FIFOs and devices are left out, as an archive cannot hold them. Entries that vanish
 * while the walk runs are skipped rather than failing it. Parents precede their children and
 * siblings are sorted, so the same tree always lists the same way.
 */
export async function walkTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  await walkInto(root, '', entries);
  return entries;
}

/** Total bytes of the regular files in a tree. */
export async function treeBytes(root: string): Promise<number> {
  const entries = await walkTree(root);
  return entries.reduce((sum, e) => sum + (e.kind === 'file' ? e.bytes : 0), 0);
}

/** SHA-256 (hex) and length of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function walkInto(root: string, prefix: string, out: TreeEntry[]): Promise<void> {
  const names = await unlessMissing(() => readdir(join(root, prefix)));
  for (const name of (names ?? []).sort()) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    const entry = await describe(join(root, path), path);
    if (!entry) continue;
    out.push(entry);
    if (entry.kind === 'directory') await walkInto(root, path, out);
  }
}

async function describe(absolute: string, path: string): Promise<TreeEntry | undefined> {
  const info = await unlessMissing(() => lstat(absolute));
  if (!info) return undefined;
  if (info.isDirectory()) return { kind: 'directory', path };
  if (info.isFile()) return { kind: 'file', path, bytes: info.size, mode: info.mode & 0o7777 };
  if (!info.isSymbolicLink()) return undefined;
  const target = await unlessMissing(() => readlink(absolute));
  return target === undefined ? undefined : { kind: 'symlink', path, target };
}
