import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';

/** Every attribute a restore must reproduce, of one entry; paths are hex-free, see `key`. */
export interface EntryState {
  type: 'file' | 'directory' | 'symlink' | 'fifo' | 'other';
  mode: string;
  uid: number;
  gid: number;
  /** Microseconds: what utimes(2) through Node can set exactly. */
  mtimeUs: bigint;
  size?: number;
  sha256?: string;
  target?: string;
  /** Other names of the same inode (hard links), sorted. */
  links?: string[];
  /** True when the file occupies less than half its length on disk. */
  sparse?: boolean;
}

/**
 * The state of a tree, keyed by the JSON of each name's bytes (so non-UTF-8 names, newlines
 * and NFC/NFD twins stay distinct): type, full mode incl. setuid/setgid/sticky, owner, mtime,
 * content digest, link target, hard-link group and sparseness. The root is the key `"."`.
 */
export async function captureTreeState(root: string): Promise<Map<string, EntryState>> {
  const states = new Map<string, EntryState>();
  const inodes = new Map<string, string[]>();
  const visit = async (abs: Buffer, rel: Buffer | undefined): Promise<void> => {
    const info = await lstat(abs, { bigint: true });
    const name = rel === undefined ? '.' : key(rel);
    states.set(name, await describe(abs, info));
    if (info.isFile() && info.nlink > 1n) {
      const inode = `${info.dev}:${info.ino}`;
      inodes.set(inode, [...(inodes.get(inode) ?? []), name]);
    }
    if (!info.isDirectory()) return;
    const names = await readdir(abs, { encoding: 'buffer' });
    for (const child of names.sort((a, b) => Buffer.compare(a, b))) {
      const childRel = rel === undefined ? child : Buffer.concat([rel, Buffer.from('/'), child]);
      await visit(Buffer.concat([abs, Buffer.from('/'), child]), childRel);
    }
  };
  await visit(Buffer.from(root), undefined);
  for (const names of inodes.values()) {
    for (const name of names) {
      const state = states.get(name);
      if (state) state.links = names.filter((n) => n !== name).sort();
    }
  }
  return states;
}

/** Differences between two captured states, one line each; empty when they agree. */
export function stateDifferences(
  actual: Map<string, EntryState>,
  expected: Map<string, EntryState>,
  ignore: { root?: boolean; fields?: (keyof EntryState)[] } = {},
): string[] {
  const problems: string[] = [];
  for (const [name, want] of expected) {
    if (ignore.root && name === '.') continue;
    const got = actual.get(name);
    if (got) problems.push(...entryDifferences(name, got, want, ignore.fields ?? []));
    else problems.push(`${name}: missing`);
  }
  for (const name of actual.keys()) {
    if (!expected.has(name)) problems.push(`${name}: not expected`);
  }
  return problems;
}

function entryDifferences(
  name: string,
  got: EntryState,
  want: EntryState,
  ignored: (keyof EntryState)[],
): string[] {
  const problems: string[] = [];
  for (const field of Object.keys({ ...want, ...got }) as (keyof EntryState)[]) {
    if (ignored.includes(field)) continue;
    if (field === 'mtimeUs' && Math.abs(Number(got.mtimeUs - want.mtimeUs)) <= 1) continue;
    const a = JSON.stringify(got[field], bigints);
    const b = JSON.stringify(want[field], bigints);
    if (a !== b) problems.push(`${name}: ${field} is ${a}, expected ${b}`);
  }
  return problems;
}

function key(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes)
    ? JSON.stringify(text)
    : `hex:${bytes.toString('hex')}`;
}

async function describe(abs: Buffer, info: BigIntStats): Promise<EntryState> {
  const state: EntryState = {
    type: typeOf(info),
    mode: (Number(info.mode) & 0o7777).toString(8),
    uid: Number(info.uid),
    gid: Number(info.gid),
    mtimeUs: info.mtimeNs / 1000n,
  };
  if (info.isFile()) {
    state.size = Number(info.size);
    state.sha256 = await digest(abs);
    state.sparse = Number(info.blocks) * 512 < Number(info.size) / 2;
  }
  if (info.isSymbolicLink())
    state.target = (await readlink(abs, { encoding: 'buffer' })).toString('hex');
  return state;
}

function typeOf(info: BigIntStats): EntryState['type'] {
  if (info.isFile()) return 'file';
  if (info.isDirectory()) return 'directory';
  if (info.isSymbolicLink()) return 'symlink';
  return info.isFIFO() ? 'fifo' : 'other';
}

async function digest(abs: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
