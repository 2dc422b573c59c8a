import { join } from 'node:path';
import { SnapshotCorruptedError } from '../errors.js';
import type { ArchiveContent, ManifestFile } from './manifest.js';
import { hashFile, walkTree, type TreeEntry } from './tree.js';

/**
 * Checks that the tree at `root` is exactly what `content` describes: the same set of files,
 * each with the recorded length, SHA-256 and permission bits, the same directories and the same
 * symbolic links; nothing missing and nothing extra. Any difference is a
 * `SnapshotCorruptedError` whose message starts with `label` and names the first path.
 */
export async function verifyTree(
  root: string,
  content: ArchiveContent,
  label: string,
): Promise<void> {
  const actual = new Map((await walkTree(root)).map((e) => [e.path, e]));
  const fail = (path: string, problem: string) =>
    new SnapshotCorruptedError(`${label}: ${path}: ${problem}`);
  for (const file of content.files) {
    const problem = await fileProblem(root, file, actual.get(file.path));
    if (problem) throw fail(file.path, problem);
    actual.delete(file.path);
  }
  for (const dir of content.directories) {
    if (actual.get(dir)?.kind !== 'directory') throw fail(dir, 'directory missing');
    actual.delete(dir);
  }
  for (const link of content.symlinks) {
    const entry = actual.get(link.path);
    if (entry?.kind !== 'symlink' || entry.target !== link.target)
      throw fail(link.path, 'link differs');
    actual.delete(link.path);
  }
  const extra = actual.keys().next();
  if (!extra.done) throw fail(extra.value, 'not in the snapshot');
}

async function fileProblem(
  root: string,
  expected: ManifestFile,
  entry: TreeEntry | undefined,
): Promise<string | undefined> {
  if (entry?.kind !== 'file') return 'missing';
  if (entry.bytes !== expected.bytes) return `${entry.bytes} bytes, expected ${expected.bytes}`;
  if (entry.mode !== expected.mode)
    return `mode ${octal(entry.mode)}, expected ${octal(expected.mode)}`;
  const { sha256 } = await hashFile(join(root, expected.path));
  return sha256 === expected.sha256 ? undefined : 'checksum mismatch';
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
