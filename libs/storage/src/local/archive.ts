import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { TransientDriverError } from '../errors.js';
import { asError } from '../shared/as-error.js';
import { errorCode } from './fs-util.js';
import type { ArchiveContent, ManifestFile, ManifestSymlink } from './manifest.js';
import { hashFile, walkTree, type TreeEntry } from './tree.js';

/** Options of `writeArchive`; `walk` is replaceable so tests can make files vanish on cue. */
export interface WriteArchiveOptions {
  attempts?: number;
  walk?: (root: string) => Promise<TreeEntry[]>;
}

// Archives are our own, so a highly compressible volume (a file of zeros) is not a zip bomb.
const READ_OPTIONS = { strict: true, maxDecompressionRatio: Infinity } as const;

// Errors that mean the tree changed under the archiver: an entry vanished, or a file shrank
// or grew between its stat and its read (node-tar reports the latter as code EOF).
const CHANGED_WHILE_READING = new Set(['ENOENT', 'ENOTDIR', 'EOF']);

/**
 * Writes a gzip tar archive of the directory `root` to `dest`: portable headers (no owner
 * names or ids), `/`-separated relative paths, directories, regular files and symbolic links,
 * streamed. Hard links are stored as separate copies. When the tree changes during the pass
 * (a file vanishes or changes size) the pass is repeated with a fresh listing, up to
 * `attempts` times; after that it is a `TransientDriverError`. On failure `dest` is removed.
 */
export async function writeArchive(
  root: string,
  dest: string,
  options: WriteArchiveOptions = {},
): Promise<void> {
  const { attempts = 3, walk = walkTree } = options;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await packOnce(root, await walk(root), dest);
      return;
    } catch (error) {
      await rm(dest, { force: true });
      if (!CHANGED_WHILE_READING.has(errorCode(error) ?? '')) throw error;
      last = error;
    }
  }
  throw new TransientDriverError(
    `${root} kept changing while it was archived (${attempts} attempts): ${(last as Error).message}`,
  );
}

/**
 * Reads an archive back: its own checksum and length, and every entry with the SHA-256 of its
 * data. This, not the directory it came from, is what a manifest records.
 */
export async function readArchiveContent(file: string): Promise<ArchiveContent> {
  const archive = await hashFile(file);
  const files: ManifestFile[] = [];
  const directories: string[] = [];
  const symlinks: ManifestSymlink[] = [];
  const hashing: Promise<void>[] = [];
  let unsupported: string | undefined;
  await tar.t({
    ...READ_OPTIONS,
    file,
    onReadEntry: (entry) => {
      const path = entryPath(entry.path);
      if (path === '') return;
      if (isFileType(entry.type)) hashing.push(hashEntry(entry, path, files));
      else if (entry.type === 'Directory') directories.push(path);
      else if (entry.type === 'SymbolicLink') symlinks.push({ path, target: entry.linkpath ?? '' });
      else unsupported ??= `${path} (${entry.type})`;
    },
  });
  await Promise.all(hashing);
  if (unsupported) throw new Error(`archive ${file} holds an unsupported entry: ${unsupported}`);
  files.sort((a, b) => compare(a.path, b.path));
  const restoreSizeBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  return { archive, files, directories, symlinks, restoreSizeBytes };
}

/** Extracts an archive into `dest` (created), with the exact permission bits it holds. */
export async function extractArchive(file: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await tar.x({
    ...READ_OPTIONS,
    file,
    cwd: dest,
    chmod: true,
    processUmask: 0,
    preserveOwner: false,
  });
}

async function packOnce(root: string, entries: TreeEntry[], dest: string): Promise<void> {
  const pack = new tar.Pack({
    cwd: root,
    gzip: true,
    portable: true,
    noDirRecurse: true,
    linkCache: new NoLinkCache<`${number}:${number}`, string>(),
    onWriteEntry: sameRealmMtime,
  });
  let failure: Error | undefined;
  // Keeps a later entry error from becoming an uncaught 'error' event once the pipeline stopped.
  pack.on('error', (error: unknown) => (failure ??= asError(error)));
  // The root entry keeps an empty volume's archive a valid (non-empty) tar stream.
  pack.add('.');
  for (const entry of entries) pack.add(entry.path);
  pack.end();
  // The first entry error says more (path, code) than the pipeline's own.
  const piped = await pipeline(pack, createWriteStream(dest)).then(
    () => undefined,
    (error: unknown) => asError(error),
  );
  if (failure) throw failure;
  if (piped) throw piped;
}

/**
 * node-tar encodes a PAX mtime (long or non-ASCII names) only when `mtime instanceof Date`;
 * fs.Stats dates can come from another realm (they do under jest's VM modules), which would
 * write an unparseable date. A Date made here is always of the realm node-tar runs in.
 */
function sameRealmMtime(entry: tar.WriteEntry): void {
  if (entry.stat && entry.type !== 'Directory') entry.mtime = new Date(entry.stat.mtimeMs);
}

/** A link cache that never remembers: every hard-linked path is archived as a full file. */
class NoLinkCache<K, V> extends Map<K, V> {
  override set(): this {
    return this;
  }
}

function hashEntry(entry: tar.ReadEntry, path: string, out: ManifestFile[]): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    entry.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    entry.on('error', reject);
    entry.on('end', () => {
      out.push({ path, bytes, sha256: hash.digest('hex'), mode: (entry.mode ?? 0o644) & 0o7777 });
      resolve();
    });
  });
}

function isFileType(type: string): boolean {
  return type === 'File' || type === 'OldFile' || type === 'ContiguousFile';
}

function entryPath(raw: string): string {
  return raw.replace(/^\.\//, '').replace(/\/+$/, '');
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
