import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lutimes,
  mkdir,
  open,
  rename,
  symlink,
  utimes,
  chown,
} from 'node:fs/promises';
import { promisify } from 'node:util';
import { manifestPath, type ArchiveContent } from './archive-content.js';
import { ByteReader } from './byte-reader.js';
import { SparseWriter } from './sparse-writer.js';
import {
  ArchiveFormatError,
  BLOCK,
  decodeBlock,
  parsePax,
  printable,
  resolveHeader,
  type Extensions,
  type TarHeader,
} from './tar-format.js';

const run = promisify(execFile);
const SLASH = Buffer.from('/');

/** Where and how to extract. */
export interface UnpackOptions {
  /** An existing, empty directory: the archive's root. */
  dest: string;
  /** What the archive must hold, exactly (from the snapshot's manifest). */
  expected: ArchiveContent;
  /** Restore numeric owners (only root may). */
  owners: boolean;
}

type Expectation =
  | { kind: 'file'; bytes: number; sha256: string; mode: number }
  | { kind: 'directory' }
  | { kind: 'symlink' | 'hardlink'; target: string }
  | { kind: 'fifo'; mode: number };

/**
 * Extracts an uncompressed tar stream into `dest`, checking every entry against the manifest
 * while it is written (one pass, no second read). It never writes outside `dest`: paths are
 * relative with no `..`, every parent must be a directory this extraction created (so nothing
 * is written through a symbolic link), files are created exclusively without following links,
 * and hard links may only point at files extracted before. Runs of zeros are left as holes.
 * Directory modes and times are applied last, deepest first.
 */
export async function unpackTree(source: AsyncIterator<Buffer>, options: UnpackOptions) {
  const unpacker = new TreeUnpacker(options);
  const reader = new ByteReader(source);
  let ext: Extensions = {};
  for (;;) {
    const raw = decodeBlock(await reader.exact(BLOCK));
    if (!raw) break;
    if ('xgLK'.includes(raw.typeflag)) {
      const data = (await reader.exact(padded(raw.size))).subarray(0, raw.size);
      if (raw.typeflag === 'x') parsePax(data, ext);
      else if (raw.typeflag === 'L') ext.path = cString(data);
      else if (raw.typeflag === 'K') ext.linkpath = cString(data);
      continue;
    }
    const header = resolveHeader(raw, ext);
    ext = {};
    await unpacker.entry(header, reader);
  }
  await reader.drain();
  await unpacker.finish();
}

class TreeUnpacker {
  private readonly expected = new Map<string, Expectation>();
  private readonly directories = new Set<string>(['.']);
  private readonly files = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly pendingDirectories: { absolute: Buffer; header: TarHeader }[] = [];
  private fifoCount = 0;

  constructor(private readonly options: UnpackOptions) {
    const { expected } = options;
    for (const f of expected.files) this.expected.set(f.path, { kind: 'file', ...f });
    for (const d of expected.directories) this.expected.set(d, { kind: 'directory' });
    for (const s of expected.symlinks)
      this.expected.set(s.path, { kind: 'symlink', target: s.target });
    for (const h of expected.hardLinks ?? []) {
      this.expected.set(h.path, { kind: 'hardlink', target: h.target });
    }
    for (const p of expected.fifos ?? []) this.expected.set(p.path, { kind: 'fifo', mode: p.mode });
  }

  async entry(header: TarHeader, reader: ByteReader): Promise<void> {
    const key = this.checkPath(header);
    const absolute = this.absolute(header.path);
    if (key === '.') {
      if (header.kind !== 'directory') throw this.fail(header, 'the root is not a directory');
      this.pendingDirectories.unshift({ absolute, header });
      return;
    }
    const expectation = this.expected.get(key);
    if (expectation?.kind !== header.kind) {
      throw this.fail(header, `${header.kind} is not in the snapshot's manifest as such`);
    }
    this.expected.delete(key);
    if (header.kind === 'directory') {
      await mkdir(absolute, { mode: 0o700 });
      this.directories.add(key);
      this.pendingDirectories.push({ absolute, header });
    } else if (header.kind === 'file' && expectation.kind === 'file') {
      await this.file(header, absolute, reader, expectation);
      this.files.add(key);
    } else if (expectation.kind === 'hardlink' || expectation.kind === 'symlink') {
      await this.link(header, absolute, expectation.target);
    } else if (expectation.kind === 'fifo') {
      await this.fifo(header, absolute);
    }
  }

  /** Directory modes and times, children before parents; then nothing may be missing. */
  async finish(): Promise<void> {
    const missing = this.expected.keys().next();
    if (!missing.done) {
      throw new ArchiveFormatError(`${missing.value}: in the manifest but not in the archive`);
    }
    for (const { absolute, header } of this.pendingDirectories.reverse()) {
      if (this.options.owners) await chown(absolute, header.uid, header.gid);
      await chmod(absolute, header.mode);
      await utimes(absolute, seconds(header.mtimeNs), seconds(header.mtimeNs));
    }
  }

  private async file(
    header: TarHeader,
    absolute: Buffer,
    reader: ByteReader,
    expected: { bytes: number; sha256: string; mode: number },
  ): Promise<void> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(absolute, flags, 0o600);
    try {
      const hash = createHash('sha256');
      const writer = new SparseWriter(handle);
      for await (const piece of reader.pieces(header.size)) {
        hash.update(piece);
        await writer.write(piece);
      }
      await writer.end(header.size);
      await reader.exact(padded(header.size) - header.size);
      const sha256 = hash.digest('hex');
      if (header.size !== expected.bytes || sha256 !== expected.sha256) {
        throw this.fail(header, 'checksum mismatch');
      }
      if (header.mode !== expected.mode) throw this.fail(header, 'mode differs from the manifest');
      if (this.options.owners) await handle.chown(header.uid, header.gid);
      await handle.chmod(header.mode);
      await handle.utimes(seconds(header.mtimeNs), seconds(header.mtimeNs));
    } finally {
      await handle.close();
    }
  }

  private async link(header: TarHeader, absolute: Buffer, expected: string): Promise<void> {
    const target = header.linkTarget ?? Buffer.alloc(0);
    if (manifestPath(target) !== expected) throw this.fail(header, 'link target differs');
    if (header.kind === 'hardlink') {
      if (!this.files.has(manifestPath(target))) {
        throw this.fail(header, 'hard link to a file not extracted before it');
      }
      await link(this.absolute(target), absolute);
      return;
    }
    await symlink(target, absolute);
    if (this.options.owners) await lchown(absolute, header.uid, header.gid);
    await lutimes(absolute, seconds(header.mtimeNs), seconds(header.mtimeNs));
  }

  /** Node has no mkfifo: mkfifo(1) makes it under a plain name, then a rename gives its name. */
  private async fifo(header: TarHeader, absolute: Buffer): Promise<void> {
    const temp = `${this.options.dest}/.fifo-${this.fifoCount++}`;
    await run('mkfifo', ['-m', '600', temp]);
    await rename(temp, absolute);
    if (this.options.owners) await chown(absolute, header.uid, header.gid);
    await chmod(absolute, header.mode);
    await utimes(absolute, seconds(header.mtimeNs), seconds(header.mtimeNs));
  }

  /** The manifest key of a safe path, or an error: no `..`, no absolute path, no repeats. */
  private checkPath(header: TarHeader): string {
    const { path } = header;
    const key = manifestPath(path);
    if (key === '.') return key;
    if (path.includes(0) || path[0] === 0x2f) throw this.fail(header, 'path is not relative');
    const parts = split(path);
    if (parts.some((p) => p.length === 0 || p.equals(DOT) || p.equals(DOTDOT))) {
      throw this.fail(header, 'path has an empty, "." or ".." component');
    }
    const parent =
      parts.length === 1 ? '.' : manifestPath(path.subarray(0, path.lastIndexOf(0x2f)));
    if (!this.directories.has(parent)) {
      throw this.fail(header, 'its parent is not a directory extracted before it');
    }
    if (this.seen.has(key)) throw this.fail(header, 'the archive holds this path twice');
    this.seen.add(key);
    return key;
  }

  private absolute(path: Buffer): Buffer {
    const root = Buffer.from(this.options.dest);
    return path.equals(DOT) ? root : Buffer.concat([root, SLASH, path]);
  }

  private fail(header: TarHeader, problem: string): ArchiveFormatError {
    return new ArchiveFormatError(`${printable(header.path)}: ${problem}`);
  }
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

function split(path: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path[i] === 0x2f) {
      parts.push(path.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function cString(data: Buffer): Buffer {
  const end = data.indexOf(0);
  return Buffer.from(end < 0 ? data : data.subarray(0, end));
}

/** Seconds as utimes wants them; via microseconds so a double keeps the precision. */
function seconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}
