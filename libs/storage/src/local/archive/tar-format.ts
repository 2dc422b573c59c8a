/**
 * The POSIX.1-2001 (PAX) tar format, as far as snapwarden writes and reads it. Names are byte
 * strings end to end: they travel as Buffers and are written into PAX records unchanged
 * (`hdrcharset=BINARY` when they are not UTF-8, as GNU tar does).
 */

export const BLOCK = 512;

/** The entry kinds an archive of a volume holds. */
export type EntryKind = 'file' | 'hardlink' | 'symlink' | 'directory' | 'fifo';

/** One archive entry's header, after PAX and GNU long-name records are applied. */
export interface TarHeader {
  /** Relative path without a trailing slash; `.` is the volume's root directory. */
  path: Buffer;
  kind: EntryKind;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow the header (0 for everything but files). */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Target of a symbolic or hard link. */
  linkTarget?: Buffer;
}

/** Thrown for anything in an archive that is not a well-formed entry snapwarden can restore. */
export class ArchiveFormatError extends Error {
  override name = 'ArchiveFormatError';
}

const TYPEFLAG: Record<EntryKind, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  directory: '5',
  fifo: '6',
};
const KIND_OF: Record<string, EntryKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '5': 'directory',
  '6': 'fifo',
};
const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

/** Blocks for one entry: a PAX header carrying path, link target and exact mtime, then ustar. */
export function encodeHeader(header: TarHeader): Buffer {
  const records: Buffer[] = [paxRecord('path', header.path), paxRecord('mtime', mtimeText(header))];
  if (header.linkTarget) records.push(paxRecord('linkpath', header.linkTarget));
  if (header.size > MAX_OCTAL_11) records.push(paxRecord('size', String(header.size)));
  if (header.uid > MAX_OCTAL_7) records.push(paxRecord('uid', String(header.uid)));
  if (header.gid > MAX_OCTAL_7) records.push(paxRecord('gid', String(header.gid)));
  const binary = [header.path, header.linkTarget].some((b) => b !== undefined && !isUtf8(b));
  if (binary) records.unshift(paxRecord('hdrcharset', 'BINARY'));
  const pax = Buffer.concat(records);
  const paxName = Buffer.from(`PaxHeaders/${header.path.subarray(-80).toString('latin1')}`);
  return Buffer.concat([
    ustar({ name: paxName, typeflag: 'x', size: pax.length, mode: 0o644, mtimeNs: header.mtimeNs }),
    pad(pax),
    ustar({
      name: ustarName(header),
      typeflag: TYPEFLAG[header.kind],
      size: header.kind === 'file' ? header.size : 0,
      mode: header.mode,
      uid: header.uid,
      gid: header.gid,
      mtimeNs: header.mtimeNs,
      linkname: header.linkTarget?.subarray(0, 100),
    }),
  ]);
}

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** What one raw header block says, before PAX records are applied. */
export interface RawHeader {
  typeflag: string;
  name: Buffer;
  linkname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
}

/** Decodes one header block; undefined for a zero block (the end of the archive). */
export function decodeBlock(block: Buffer): RawHeader | undefined {
  if (block.every((b) => b === 0)) return undefined;
  if (!checksumMatches(block)) throw new ArchiveFormatError('tar header checksum mismatch');
  const ustarMagic = block.subarray(257, 263).equals(Buffer.from('ustar\0'));
  let name = cString(block.subarray(0, 100));
  const prefix = ustarMagic ? cString(block.subarray(345, 500)) : Buffer.alloc(0);
  if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  return {
    typeflag: String.fromCharCode(block[156] ?? 0),
    name,
    linkname: cString(block.subarray(157, 257)),
    mode: readNumber(block.subarray(100, 108)),
    uid: readNumber(block.subarray(108, 116)),
    gid: readNumber(block.subarray(116, 124)),
    size: readNumber(block.subarray(124, 136)),
    mtimeNs: BigInt(readNumber(block.subarray(136, 148))) * 1_000_000_000n,
  };
}

/** Pending extended attributes from PAX (`x`) and GNU long-name (`L`, `K`) entries. */
export interface Extensions {
  path?: Buffer;
  linkpath?: Buffer;
  size?: number;
  mtimeNs?: bigint;
  uid?: number;
  gid?: number;
}

/** Parses the records of a PAX extended header into `into`. */
export function parsePax(data: Buffer, into: Extensions): void {
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0 || at + length > data.length) {
      throw new ArchiveFormatError('malformed PAX record');
    }
    const record = data.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals < 0) throw new ArchiveFormatError('malformed PAX record');
    applyPax(record.subarray(0, equals).toString('latin1'), record.subarray(equals + 1), into);
    at += length;
  }
}

/** Combines a raw header with the extensions that preceded it into a restorable header. */
export function resolveHeader(raw: RawHeader, ext: Extensions): TarHeader {
  const kind = kindOf(raw);
  const header: TarHeader = {
    path: normalisePath(ext.path ?? raw.name),
    kind,
    mode: raw.mode & 0o7777,
    uid: ext.uid ?? raw.uid,
    gid: ext.gid ?? raw.gid,
    size: ext.size ?? raw.size,
    mtimeNs: ext.mtimeNs ?? raw.mtimeNs,
  };
  const target = ext.linkpath ?? raw.linkname;
  if (kind === 'symlink') header.linkTarget = target;
  if (kind === 'hardlink') header.linkTarget = normalisePath(target);
  return header;
}

function kindOf(raw: RawHeader): EntryKind {
  const kind = KIND_OF[raw.typeflag];
  if (kind === undefined) {
    throw new ArchiveFormatError(
      `${printable(raw.name)}: entry type ${JSON.stringify(raw.typeflag)} is not supported`,
    );
  }
  // Pre-POSIX archives mark directories with a trailing slash on a file entry.
  const oldDirectory = kind === 'file' && raw.typeflag !== '7' && endsWithSlash(raw.name);
  return oldDirectory ? 'directory' : kind;
}

/** A byte string as text for messages: UTF-8 where valid, `\xNN` escapes where not. */
export function printable(bytes: Buffer): string {
  if (isUtf8(bytes)) return JSON.stringify(bytes.toString('utf8')).slice(1, -1);
  return [...bytes]
    .map((b) =>
      b >= 0x20 && b < 0x7f && b !== 0x5c
        ? String.fromCharCode(b)
        : `\\x${b.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

/** True when `bytes` is valid UTF-8 (it round-trips through a string unchanged). */
export function isUtf8(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

function applyPax(key: string, value: Buffer, into: Extensions): void {
  const text = () => value.toString('latin1');
  if (key === 'path') into.path = Buffer.from(value);
  else if (key === 'linkpath') into.linkpath = Buffer.from(value);
  else if (key === 'size') into.size = paxInteger(text(), key);
  else if (key === 'uid') into.uid = paxInteger(text(), key);
  else if (key === 'gid') into.gid = paxInteger(text(), key);
  else if (key === 'mtime') into.mtimeNs = paxTime(text());
  else if (key.startsWith('GNU.sparse')) {
    throw new ArchiveFormatError('GNU sparse entries are not supported');
  }
}

function paxInteger(text: string, key: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new ArchiveFormatError(`PAX ${key} ${JSON.stringify(text.slice(0, 40))} is invalid`);
  }
  return value;
}

function paxTime(text: string): bigint {
  const match = /^(-?\d+)(?:\.(\d{1,9})\d*)?$/.exec(text);
  if (!match) throw new ArchiveFormatError(`PAX mtime ${JSON.stringify(text.slice(0, 40))}`);
  const seconds = BigInt(match[1] ?? '0');
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return seconds * 1_000_000_000n + (seconds < 0n ? -fraction : fraction);
}

function mtimeText(header: TarHeader): string {
  const seconds = header.mtimeNs / 1_000_000_000n;
  const nanos = header.mtimeNs % 1_000_000_000n;
  if (nanos === 0n) return String(seconds);
  if (nanos < 0n) return String(seconds - 1n);
  return `${seconds}.${String(nanos).padStart(9, '0')}`;
}

function paxRecord(key: string, value: Buffer | string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length)
    length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function ustarName(header: TarHeader): Buffer {
  const suffix = header.kind === 'directory' && !header.path.equals(Buffer.from('.')) ? '/' : '';
  const name = Buffer.concat([header.path, Buffer.from(suffix)]);
  return name.length <= 100 ? name : name.subarray(0, 100);
}

interface UstarFields {
  name: Buffer;
  typeflag: string;
  size: number;
  mode: number;
  uid?: number;
  gid?: number;
  mtimeNs: bigint;
  linkname?: Buffer | undefined;
}

function ustar(fields: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  fields.name.copy(block, 0, 0, 100);
  writeOctal(block, 100, 8, fields.mode & 0o7777);
  writeOctal(block, 108, 8, Math.min(fields.uid ?? 0, MAX_OCTAL_7));
  writeOctal(block, 116, 8, Math.min(fields.gid ?? 0, MAX_OCTAL_7));
  writeOctal(block, 124, 12, fields.size > MAX_OCTAL_11 ? 0 : fields.size);
  const seconds = Number(fields.mtimeNs / 1_000_000_000n);
  writeOctal(block, 136, 12, Math.min(Math.max(seconds, 0), MAX_OCTAL_11));
  block.write(fields.typeflag, 156, 'latin1');
  fields.linkname?.copy(block, 157, 0, 100);
  block.write('ustar\x0000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  const sum = block.reduce((total, b) => total + b, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'latin1');
}

function pad(data: Buffer): Buffer {
  return Buffer.concat([data, padding(data.length)]);
}

function checksumMatches(block: Buffer): boolean {
  const stored = readNumber(block.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function readNumber(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // GNU base-256: big-endian two's complement with the top bit as the marker.
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = cString(field).toString('latin1').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new ArchiveFormatError(`bad number field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function cString(field: Buffer): Buffer {
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end));
}

function endsWithSlash(name: Buffer): boolean {
  return name.length > 0 && name[name.length - 1] === 0x2f;
}

/** Drops a leading `./` and trailing slashes; an empty result is the root, `.`. */
function normalisePath(path: Buffer): Buffer {
  let start = 0;
  let end = path.length;
  while (end - start >= 2 && path[start] === 0x2e && path[start + 1] === 0x2f) {
    start += 2;
    while (path[start] === 0x2f && start < end - 1) start++;
  }
  while (end > start + 1 && path[end - 1] === 0x2f) end--;
  const result = path.subarray(start, end);
  return result.length === 0 ? Buffer.from('.') : Buffer.from(result);
}
