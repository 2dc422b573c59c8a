import { MalformedFileError } from '../errors.js';
import type { Snapshot, SnapshotCapture, SnapshotState } from '../snapshot-driver.js';
import { displayPath } from './archive/archive-content.js';
import type { ArchiveContent, CaptureRecord } from './archive/archive-content.js';

export type {
  ArchiveContent,
  ManifestFifo,
  ManifestFile,
  ManifestLink,
} from './archive/archive-content.js';

/** The process building a Creating snapshot: a token and a heartbeat it renews while alive. */
export interface BuilderLease {
  token: string;
  heartbeatAt: string;
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
  /**
   * Who builds the archive while the state is Creating. A heartbeat older than the lease means
   * the builder is gone (crashed, killed, in any container): the snapshot is built again.
   */
  builder?: BuilderLease;
  /** How the data was read: files that changed meanwhile (see the README's guarantee). */
  capture?: CaptureRecord;
  /** Set when a build was interrupted and redone: the data is the volume at `rebuiltAt`. */
  interruption?: { interruptedAt: string; rebuiltAt: string };
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
  delete copy.builder;
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
  const capture = captureOf(manifest);
  if (capture) snapshot.capture = capture;
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

function captureOf(manifest: SnapshotManifest): SnapshotCapture | undefined {
  const { capture, interruption, skipped = [] } = manifest;
  if (!interruption && !capture?.changedCount && skipped.length === 0) return undefined;
  const result: SnapshotCapture = {
    changedWhileRead: (capture?.changedWhileRead ?? []).map(displayPath),
    changedCount: capture?.changedCount ?? 0,
  };
  if (skipped.length > 0) result.skipped = skipped.map(displayPath);
  if (interruption) Object.assign(result, interruption);
  return result;
}
