import { createHash } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { errorCode } from '../fs-util.js';
import {
  MAX_CHANGED_LISTED,
  manifestPath,
  type ArchiveContent,
  type CaptureRecord,
} from './archive-content.js';
import {
  encodeHeader,
  endOfArchive,
  padding,
  type EntryKind,
  type TarHeader,
} from './tar-format.js';

const CHUNK = 256 * 1024;
const SLASH = Buffer.from('/');
const ROOT = Buffer.from('.');

/** What a pass over a tree recorded, apart from the archive's own checksum. */
export type PackedContent = Omit<ArchiveContent, 'archive'> & CaptureRecord;

/**
 * The tar stream (uncompressed) of the directory `root`, produced lazily so the consumer's
 * backpressure bounds memory. Each regular file is read once, hashed on the way, and checked
 * for change (size, mtime, ctime before and after); a file that changed or vanished is kept
 * as read and named in `content.changedWhileRead` instead of failing the pass. Files with
 * several links are stored once, later names as hard links. Symbolic links are stored as
 * links, never followed. A yielded chunk is only valid until the next one is requested:
 * the consumer must be done with it (e.g. wait for its write callback) before asking again.
 */
export async function* packTree(root: string, content: PackedContent): AsyncGenerator<Buffer> {
  const packer = new TreePacker(Buffer.from(root), content);
  yield* packer.entry(ROOT);
  yield endOfArchive();
}

/** An empty record to fill with `packTree`. */
export function emptyPackedContent(): PackedContent {
  return {
    files: [],
    directories: [],
    symlinks: [],
    hardLinks: [],
    fifos: [],
    skipped: [],
    restoreSizeBytes: 0,
    changedWhileRead: [],
    changedCount: 0,
  };
}

class TreePacker {
  private readonly linked = new Map<string, Buffer>();

  constructor(
    private readonly root: Buffer,
    private readonly content: PackedContent,
  ) {}

  async *entry(path: Buffer): AsyncGenerator<Buffer> {
    const absolute = this.absolute(path);
    const info = await missingAsUndefined(() => lstat(absolute, { bigint: true }));
    if (!info) {
      this.changed(path);
      return;
    }
    if (info.isDirectory()) yield* this.directory(path, info);
    else if (info.isFile()) yield* this.file(path, info);
    else if (info.isSymbolicLink()) yield* this.symlink(path, info);
    else if (info.isFIFO()) {
      this.content.fifos?.push({ path: manifestPath(path), mode: Number(info.mode) & 0o7777 });
      yield encodeHeader(header(path, 'fifo', info));
    } else this.content.skipped?.push(manifestPath(path));
  }

  private async *directory(path: Buffer, info: BigIntStats): AsyncGenerator<Buffer> {
    if (path !== ROOT) this.content.directories.push(manifestPath(path));
    yield encodeHeader(header(path, 'directory', info));
    const names = await missingAsUndefined(() =>
      readdir(this.absolute(path), { encoding: 'buffer' }),
    );
    if (!names) {
      this.changed(path);
      return;
    }
    names.sort((a, b) => Buffer.compare(a, b));
    for (const name of names) {
      yield* this.entry(path === ROOT ? name : Buffer.concat([path, SLASH, name]));
    }
  }

  private async *symlink(path: Buffer, info: BigIntStats): AsyncGenerator<Buffer> {
    const target = await missingAsUndefined(() =>
      readlink(this.absolute(path), { encoding: 'buffer' }),
    );
    if (!target) {
      this.changed(path);
      return;
    }
    this.content.symlinks.push({ path: manifestPath(path), target: manifestPath(target) });
    yield encodeHeader({ ...header(path, 'symlink', info), linkTarget: target });
  }

  private async *file(path: Buffer, listed: BigIntStats): AsyncGenerator<Buffer> {
    const key = `${listed.dev}:${listed.ino}`;
    const first = listed.nlink > 1n ? this.linked.get(key) : undefined;
    if (first) {
      this.content.hardLinks?.push({ path: manifestPath(path), target: manifestPath(first) });
      yield encodeHeader({ ...header(path, 'hardlink', listed), linkTarget: first });
      return;
    }
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
    const handle = await missingAsUndefined(() => open(this.absolute(path), flags));
    if (!handle) {
      this.changed(path);
      return;
    }
    try {
      const before = await handle.stat({ bigint: true });
      if (!before.isFile()) {
        this.changed(path);
        return;
      }
      yield* this.fileData(path, handle, before);
      if (listed.nlink > 1n) this.linked.set(key, path);
    } finally {
      await handle.close();
    }
  }

  private async *fileData(
    path: Buffer,
    handle: FileHandle,
    before: BigIntStats,
  ): AsyncGenerator<Buffer> {
    const size = Number(before.size);
    yield encodeHeader({ ...header(path, 'file', before), size });
    const hash = createHash('sha256');
    let position = 0;
    let shrank = false;
    // One buffer per file, reused: its garbage would otherwise pile up outside the JS heap
    // faster than the collector returns it (tens of MB of RSS for one big file).
    const reused = Buffer.allocUnsafe(Math.min(CHUNK, size));
    while (position < size) {
      const buffer = reused.subarray(0, Math.min(CHUNK, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      // The file shrank under us: its header promised `size` bytes, so zeros make up the rest.
      if (bytesRead === 0) {
        buffer.fill(0);
        shrank = true;
      }
      const chunk = bytesRead === 0 ? buffer : buffer.subarray(0, bytesRead);
      hash.update(chunk);
      position += chunk.length;
      yield chunk;
    }
    yield padding(size);
    const after = await handle.stat({ bigint: true });
    if (shrank || changedBetween(before, after)) this.changed(path);
    const mode = Number(before.mode) & 0o7777;
    this.content.files.push({
      path: manifestPath(path),
      bytes: size,
      sha256: hash.digest('hex'),
      mode,
    });
    this.content.restoreSizeBytes += size;
  }

  private changed(path: Buffer): void {
    this.content.changedCount++;
    if (this.content.changedWhileRead.length < MAX_CHANGED_LISTED) {
      this.content.changedWhileRead.push(manifestPath(path));
    }
  }

  private absolute(path: Buffer): Buffer {
    return path === ROOT ? this.root : Buffer.concat([this.root, SLASH, path]);
  }
}

function header(path: Buffer, kind: EntryKind, info: BigIntStats): TarHeader {
  return {
    path,
    kind,
    mode: Number(info.mode) & 0o7777,
    uid: Number(info.uid),
    gid: Number(info.gid),
    size: 0,
    mtimeNs: info.mtimeNs,
  };
}

function changedBetween(before: BigIntStats, after: BigIntStats): boolean {
  return (
    before.size !== after.size ||
    before.mtimeNs !== after.mtimeNs ||
    before.ctimeNs !== after.ctimeNs ||
    before.ino !== after.ino
  );
}

async function missingAsUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    const code = errorCode(error);
    // ELOOP: the name became a symbolic link between lstat and open (O_NOFOLLOW).
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw error;
  }
}
