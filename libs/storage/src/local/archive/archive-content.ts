import { isUtf8, printable } from './tar-format.js';

/**
 * Paths in a manifest are strings: a UTF-8 name as itself, any other byte string as NUL
 * followed by its base64 (a NUL can never occur in a file name, so the two cannot collide).
 */
export function manifestPath(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString('utf8') : `\0${bytes.toString('base64')}`;
}

/** The bytes a manifest path stands for (inverse of `manifestPath`). */
export function pathBytes(path: string): Buffer {
  return path.startsWith('\0') ? Buffer.from(path.slice(1), 'base64') : Buffer.from(path, 'utf8');
}

/** A regular file inside a snapshot archive. `mode` is the permission bits the archive holds. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
  mode: number;
}

/** A symbolic link (`target` as stored, never followed) or a hard link (`target` a file path). */
export interface ManifestLink {
  path: string;
  target: string;
}

/** A named pipe; only its name and mode are kept. */
export interface ManifestFifo {
  path: string;
  mode: number;
}

/** What an archive holds, recorded while it was written. */
export interface ArchiveContent {
  archive: { bytes: number; sha256: string };
  files: ManifestFile[];
  directories: string[];
  symlinks: ManifestLink[];
  /** Second and later names of a file with several hard links. */
  hardLinks?: ManifestLink[];
  fifos?: ManifestFifo[];
  /** Sockets and device nodes: not archived (see the README), named here so it is known. */
  skipped?: string[];
  /** Sum of the files' bytes: the smallest volume the snapshot fits into. */
  restoreSizeBytes: number;
}

/** How a snapshot's data was captured, kept in its manifest. */
export interface CaptureRecord {
  /** Files (and directories) that changed or vanished while they were read. */
  changedWhileRead: string[];
  /** How many changed; the list above is capped. */
  changedCount: number;
}

/** Most changed paths a manifest names; the count is always exact. */
export const MAX_CHANGED_LISTED = 100;

/** A manifest path as text for people: `\xNN` escapes for bytes that are not UTF-8. */
export function displayPath(path: string): string {
  return path.startsWith('\0') ? printable(pathBytes(path)) : path;
}
