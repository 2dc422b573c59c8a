import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  isDirectory,
  isProcessAlive,
  remove,
  tempOwner,
  tempSuffix,
  unlessMissing,
} from './fs-util.js';
import type { LocalLayout } from './local-layout.js';
import { isHeld } from './temp-registry.js';

const ROLLBACK_OLD = /^\.(?<volume>[a-z0-9-]+)\.rollback-old-\d+-[0-9a-f]{8}$/;
const TEMPORARY = /^\.(restore-|.+\.rollback-new-|.+\.tmp-)\d+-[0-9a-f]{8}$/;

/** Hidden directory a restore extracts into before it is renamed to the new volume. */
export function restoreTempName(): string {
  return `.restore-${tempSuffix()}`;
}

/** Hidden directory a rollback extracts into before it is swapped in. */
export function rollbackNewName(volume: string): string {
  return `.${volume}.rollback-new-${tempSuffix()}`;
}

/** Hidden name the volume's directory is renamed to while a rollback swaps it out. */
export function rollbackOldName(volume: string): string {
  return `.${volume}.rollback-old-${tempSuffix()}`;
}

/**
 * Temporary files and directories of the local driver, and what to do with them after a
 * crash. Every temporary name carries the pid of the process using it; a leftover whose
 * process is gone, or is this process but not held by it (a previous run with the same pid),
 * is garbage:
 * - `.<volume>.rollback-old-*`: a rollback died between its two renames (or before removing
 *   the old directory). If the volume's directory is missing it is renamed back, undoing the
 *   half-done rollback; otherwise the rollback completed and it is removed.
 * - `.restore-*`, `.<volume>.rollback-new-*`, `.<file>.tmp-*`: unfinished work, removed.
 */
export class Leftovers {
  constructor(private readonly layout: LocalLayout) {}

  /** Repairs and cleans what dead processes left in the volumes and snapshots directories. */
  async recover(): Promise<void> {
    await this.recoverVolumes();
    const namespaces = await hiddenOrNot(this.layout.snapshotsRoot, false);
    for (const ns of namespaces) await this.sweepSnapshots(ns);
  }

  /** Removes unfinished archives and manifests of dead processes in one namespace. */
  async sweepSnapshots(namespace: string): Promise<void> {
    await this.sweep(this.layout.snapshotsDir(namespace));
  }

  /** The volumes directory part of `recover`: undo half-done rollbacks, drop temporaries. */
  async recoverVolumes(): Promise<void> {
    const dir = this.layout.volumesDir;
    for (const name of await hiddenOrNot(dir, true)) {
      const volume = ROLLBACK_OLD.exec(name)?.groups?.volume;
      if (volume === undefined || !this.isStale(join(dir, name))) continue;
      await this.restoreOld(join(dir, name), this.layout.volumeDir(volume));
    }
    await this.sweep(dir);
  }

  private async restoreOld(old: string, volumeDir: string): Promise<void> {
    if (await isDirectory(volumeDir)) await remove(old);
    else await rename(old, volumeDir);
  }

  private async sweep(dir: string): Promise<void> {
    for (const name of await hiddenOrNot(dir, true)) {
      const path = join(dir, name);
      if (TEMPORARY.test(name) && this.isStale(path))
        await rm(path, { recursive: true, force: true });
    }
  }

  private isStale(path: string): boolean {
    if (isHeld(path)) return false;
    const owner = tempOwner(path);
    if (owner === undefined) return false;
    return owner === process.pid || !isProcessAlive(owner);
  }
}

async function hiddenOrNot(dir: string, hidden: boolean): Promise<string[]> {
  const names = await unlessMissing(() => readdir(dir));
  return (names ?? []).filter((n) => n.startsWith('.') === hidden);
}
