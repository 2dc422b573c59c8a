import { randomBytes } from 'node:crypto';
import { link, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MalformedFileError } from '../errors.js';
import { holding } from './temp-registry.js';

/** True for the errors that mean "that path is not there (any more)". */
export function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The `code` of a Node system error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** Runs `fn` and returns undefined instead of throwing when the path it touches is missing. */
export async function unlessMissing<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  const info = await unlessMissing(() => stat(path));
  return info?.isDirectory() ?? false;
}

export async function pathExists(path: string): Promise<boolean> {
  return (await unlessMissing(() => stat(path))) !== undefined;
}

/**
 * Suffix of every temporary name the local driver writes: `<pid>-<random>`. The pid lets any
 * process tell a leftover of a dead process (garbage to clean) from work still in progress.
 */
export function tempSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The pid encoded in a temporary name made with `tempSuffix`, if any. */
export function tempOwner(name: string): number | undefined {
  const match = /-(\d+)-[0-9a-f]{8}$/.exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** True while a process with that pid exists on this machine. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/** Flushes a file's data to disk, so a rename that follows never publishes an empty file. */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` atomically: a temporary file beside it, flushed, then renamed over
 * `path`. Readers see the old content or the new, never a partial file.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temp = tempPathFor(path);
  await holding(temp, async () => {
    try {
      await writeTemp(temp, data);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  });
}

/**
 * Like `writeFileAtomic`, but only if `path` does not exist yet: the file is published with
 * link(2), which fails when the name is taken, so two writers can never both win.
 * Returns false when `path` already existed.
 */
export async function createFileExclusive(path: string, data: string): Promise<boolean> {
  const temp = tempPathFor(path);
  return holding(temp, async () => {
    try {
      await writeTemp(temp, data);
      await link(temp, path);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw error;
    } finally {
      await rm(temp, { force: true });
    }
  });
}

/** A hidden temporary name beside `path`: `.<name>.tmp-<pid>-<random>`. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${tempSuffix()}`);
}

async function writeTemp(temp: string, data: string): Promise<void> {
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file or directory tree; a missing path is not an error. */
export async function remove(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Parses JSON read from `file`; a syntax error becomes a `MalformedFileError` naming it. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MalformedFileError(file, `invalid JSON: ${(error as Error).message}`);
  }
}
