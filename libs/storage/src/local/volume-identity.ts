import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { MalformedFileError } from '../errors.js';
import { parseJson, unlessMissing, writeFileAtomic } from './fs-util.js';
import type { LocalLayout } from './local-layout.js';

interface IdentityRecord {
  uid: string;
  /** Fingerprints of the directories that are this volume (two only during a rollback). */
  fingerprints: string[];
}

/**
 * The identity of a directory on this file system: device, inode and birth time. A directory
 * that is deleted and made again gets a new one; a rename keeps it.
 */
export async function fingerprintOf(dir: string): Promise<string | undefined> {
  const info = await unlessMissing(() => stat(dir, { bigint: true }));
  if (!info?.isDirectory()) return undefined;
  return `${info.dev}:${info.ino}:${info.birthtimeNs}`;
}

/**
 * Volume uids. A uid is derived from the volume's name and its directory's fingerprint the
 * first time the volume is seen (deterministic, so two processes seeing it at once agree, even
 * while its metadata file is still being written: the namespace is not part of it) and stored in
 * `<dataDir>/volume-ids/<name>.json` together with the fingerprints it belongs to. A directory
 * with an unknown fingerprint is a recreated volume and gets a new uid; a rollback, which
 * replaces the directory on purpose, registers the new directory's fingerprint before the
 * swap so the uid survives it (and survives a crash in the middle of it).
 */
export class VolumeIdentities {
  constructor(private readonly layout: LocalLayout) {}

  /** The uid of the volume `name` whose directory has `fingerprint`. */
  async resolve(name: string, fingerprint: string): Promise<string> {
    const record = await this.read(name);
    if (record?.fingerprints.includes(fingerprint)) return record.uid;
    const uid = uidFrom(`${name}@${fingerprint}`);
    await this.write(name, { uid, fingerprints: [fingerprint] });
    return uid;
  }

  /** Makes `fingerprint` another directory of the volume (before a rollback swaps it in). */
  async addFingerprint(name: string, fingerprint: string): Promise<void> {
    const record = await this.require(name);
    await this.write(name, { ...record, fingerprints: [...record.fingerprints, fingerprint] });
  }

  /** Keeps only `fingerprint` (after a rollback completed). */
  async keepOnly(name: string, fingerprint: string): Promise<void> {
    const record = await this.require(name);
    await this.write(name, { ...record, fingerprints: [fingerprint] });
  }

  private async require(name: string): Promise<IdentityRecord> {
    const record = await this.read(name);
    if (!record) throw new Error(`volume ${name} has no identity record yet`);
    return record;
  }

  private async read(name: string): Promise<IdentityRecord | undefined> {
    const file = this.layout.identityFile(name);
    const text = await unlessMissing(() => readFile(file, 'utf8'));
    if (text === undefined) return undefined;
    const value = parseJson(text, file);
    if (!isIdentityRecord(value))
      throw new MalformedFileError(file, 'not a volume identity record');
    return value;
  }

  private async write(name: string, record: IdentityRecord): Promise<void> {
    await mkdir(this.layout.identitiesDir, { recursive: true });
    await writeFileAtomic(this.layout.identityFile(name), JSON.stringify(record));
  }
}

function uidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20, 32),
  ].join('-');
}

function isIdentityRecord(value: unknown): value is IdentityRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<IdentityRecord>;
  return (
    typeof record.uid === 'string' &&
    Array.isArray(record.fingerprints) &&
    record.fingerprints.every((f) => typeof f === 'string')
  );
}
