import { stat } from 'node:fs/promises';
import { SnapshotCorruptedError } from '../errors.js';
import type { ArchiveContent } from './archive/archive-content.js';
import type { FaultInjector } from './archive/archive-job.js';
import { runArchiveJob } from './archive/archive-runner.js';
import { isNotFound, remove } from './fs-util.js';
import type { SnapshotManifest } from './manifest.js';

/** How restores extract: the watchdog's bound and injected faults. */
export interface ExtractSettings {
  stallMs: number;
  fault?: FaultInjector;
}

/**
 * Writes a Ready snapshot's data into the new directory `dest` and proves it is the data that
 * was snapshotted, in one pass: every entry is checked against the manifest as it is written
 * and the archive's checksum as it is read (invariant 7). On any failure `dest` is removed,
 * so nothing half-written remains, and the error is the first cause, not the cleanup's.
 */
export async function materialize(
  manifest: SnapshotManifest,
  archiveFile: string,
  dest: string,
  settings: ExtractSettings,
): Promise<void> {
  const label = `snapshot ${manifest.namespace}/${manifest.name}`;
  const expected = contentOf(manifest, label);
  try {
    await stat(archiveFile);
  } catch (error) {
    if (isNotFound(error))
      throw new SnapshotCorruptedError(`${label}: archive ${archiveFile} is missing`);
    throw error;
  }
  const owners = process.getuid?.() === 0;
  const job = { op: 'extract' as const, archive: archiveFile, dest, expected, owners };
  try {
    const fault = settings.fault?.('extract');
    await runArchiveJob(
      { ...job, ...(fault ? { fault } : {}) },
      { label, stallMs: settings.stallMs },
    );
  } catch (error) {
    await remove(dest).catch(() => undefined);
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
    hardLinks: manifest.hardLinks ?? [],
    fifos: manifest.fifos ?? [],
    restoreSizeBytes: manifest.restoreSizeBytes ?? 0,
  };
}
