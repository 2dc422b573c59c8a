import { MalformedFileError } from '../errors.js';
import type { Snapshot, SnapshotState } from '../snapshot-driver.js';

/** A regular file inside a snapshot archive. `mode` is the permission bits the archive holds. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
  mode: number;
}

export interface ManifestSymlink {
  path: string;
  target: string;
}

/** What an archive holds, read back from the archive itself. */
export interface ArchiveContent {
  archive: { bytes: number; sha256: string };
  files: ManifestFile[];
  directories: string[];
  symlinks: ManifestSymlink[];
  /** Sum of the files' bytes: the smallest volume the snapshot fits into. */
  restoreSizeBytes: number;
}

/**
 * `<dataDir>/snapshots/<namespace>/<name>.json`. Its existence is the snapshot's existence (the
 * commit point); `archive`, `files` and `restoreSizeBytes` are filled in when it turns Ready.
 */
export interface SnapshotManifest extends Partial<ArchiveContent> {
  version: 1;
  name: string;
  namespace: string;
  uid: string;
  volumeName: string;
  volumeUid: string;
  createdAt: string;
  state: SnapshotState;
  labels: Record<string, string>;
  error?: string;
  /** Process building the archive while the state is Creating; a dead builder means redo. */
  builderPid?: number;
}

const STATES: readonly SnapshotState[] = ['Creating', 'Ready', 'Failed', 'Terminating'];
const REQUIRED_STRINGS = ['name', 'namespace', 'uid', 'volumeName', 'volumeUid', 'createdAt'];

/** Checks the shape of a parsed manifest; anything else is a `MalformedFileError`. */
export function asManifest(value: unknown, file: string): SnapshotManifest {
  if (typeof value !== 'object' || value === null) {
    throw new MalformedFileError(file, 'a snapshot manifest must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const missing = REQUIRED_STRINGS.find((key) => typeof record[key] !== 'string');
  if (missing) throw new MalformedFileError(file, `manifest field "${missing}" must be a string`);
  if (!STATES.includes(record.state as SnapshotState)) {
    throw new MalformedFileError(file, `manifest state ${JSON.stringify(record.state)} is unknown`);
  }
  if (record.state === 'Ready' && (!record.archive || !Array.isArray(record.files))) {
    throw new MalformedFileError(file, 'a Ready manifest must list its archive and files');
  }
  return { ...(record as unknown as SnapshotManifest), labels: asLabels(record.labels) };
}

/** The manifest without its builder (once Ready or Failed nobody is building it). */
export function withoutBuilder(manifest: SnapshotManifest): SnapshotManifest {
  const copy = { ...manifest };
  delete copy.builderPid;
  return copy;
}

/** The driver-independent view of a manifest. */
export function toSnapshot(manifest: SnapshotManifest): Snapshot {
  const snapshot: Snapshot = {
    namespace: manifest.namespace,
    name: manifest.name,
    uid: manifest.uid,
    volumeName: manifest.volumeName,
    createdAt: new Date(manifest.createdAt),
    state: manifest.state,
    readyToUse: manifest.state === 'Ready',
    labels: { ...manifest.labels },
  };
  if (manifest.restoreSizeBytes !== undefined)
    snapshot.restoreSizeBytes = manifest.restoreSizeBytes;
  if (manifest.error !== undefined) snapshot.error = manifest.error;
  return snapshot;
}

function asLabels(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(
    Object.entries(value).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );
}
