import { SnapshotCorruptedError } from '../errors.js';
import { extractArchive } from './archive.js';
import { isNotFound, remove } from './fs-util.js';
import type { ArchiveContent, SnapshotManifest } from './manifest.js';
import { hashFile } from './tree.js';
import { verifyTree } from './verify-tree.js';

/**
 * Writes a Ready snapshot's data into the new directory `dest` and proves it is the data that
 * was snapshotted: the archive's checksum is checked before extracting, every extracted entry
 * after (invariant 7). On any failure `dest` is removed, so nothing half-written remains.
 */
export async function materialize(
  manifest: SnapshotManifest,
  archiveFile: string,
  dest: string,
): Promise<void> {
  const label = `snapshot ${manifest.namespace}/${manifest.name}`;
  const content = contentOf(manifest, label);
  try {
    await checkArchive(archiveFile, content, label);
    await extractArchive(archiveFile, dest);
    await verifyTree(dest, content, label);
  } catch (error) {
    await remove(dest);
    throw error;
  }
}

function contentOf(manifest: SnapshotManifest, label: string): ArchiveContent {
  const { archive, files } = manifest;
  if (!archive || !files) throw new SnapshotCorruptedError(`${label}: manifest lists no archive`);
  return {
    archive,
    files,
    directories: manifest.directories ?? [],
    symlinks: manifest.symlinks ?? [],
    restoreSizeBytes: manifest.restoreSizeBytes ?? 0,
  };
}

async function checkArchive(file: string, content: ArchiveContent, label: string): Promise<void> {
  let actual: { sha256: string; bytes: number };
  try {
    actual = await hashFile(file);
  } catch (error) {
    if (isNotFound(error)) throw new SnapshotCorruptedError(`${label}: archive ${file} is missing`);
    throw error;
  }
  if (actual.sha256 !== content.archive.sha256 || actual.bytes !== content.archive.bytes) {
    throw new SnapshotCorruptedError(`${label}: archive ${file} does not match its checksum`);
  }
}
