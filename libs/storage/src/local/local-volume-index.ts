import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Volume, VolumeQuery } from '../snapshot-driver.js';
import { isDnsLabel } from '../shared/names.js';
import { VolumeIndex } from '../shared/volume-index.js';
import { tempSuffix, unlessMissing } from './fs-util.js';
import { VOLUME_META_SUFFIX, type LocalLayout } from './local-layout.js';
import type { LocalVolumeStore } from './local-volume-store.js';
import { fingerprintOf } from './volume-identity.js';

/** Settings of a {@link LocalVolumeIndex}. */
export interface LocalVolumeIndexOptions {
  /** Where a watch failure, a missed event or a correction is reported. */
  warn: (message: string) => void;
  /** Every this often the directory is rescanned, to catch what a watch may drop. */
  resyncMs: number;
  /** How long a find waits for its own marker to come back through the watch. */
  syncTimeoutMs: number;
}

/** What a volume's entry was read from: its directory and its metadata file. */
interface Entry {
  stamp: string;
  volume: Volume;
}

/** Volumes re-read at once while the index catches up (bounded, not one per volume). */
const BATCH = 256;
const MARKER_PREFIX = '.index-sync.tmp-';

/**
 * The local driver's volumes, indexed by label and kept up to date by a watch of the volumes
 * directory, so that a tick's `findVolumes` reads no volume. Each volume (directory and
 * `<name>.volume.yaml`) is read once when first seen and again only when an event names it;
 * its size is left to `getVolume`/`listVolumes`, never computed here.
 *
 * Freshness: every find writes a hidden marker file into the watched directory and waits for
 * its event; the watch delivers events in order, so by then every change made before the
 * find was reported, and the find waits until those volumes were re-read. A marker that does
 * not come back in time, a watch error, or an event without a name is reported through
 * `warn` and answered by a rescan of the whole directory (never a silently stale index); a
 * periodic rescan catches what a watch may drop without saying so (inotify overflow), and
 * reports what it corrected. A metadata file that cannot be read fails every find, as it
 * fails `listVolumes`, until it is fixed.
 */
export class LocalVolumeIndex {
  private readonly index = new VolumeIndex();
  private readonly entries = new Map<string, Entry>();
  private readonly errors = new Map<string, Error>();
  private readonly dirty = new Set<string>();
  private readonly audited = new Set<string>();
  /** Dirty because of a rescan, not of an event: an unchanged stamp means unchanged. */
  private readonly rescanned = new Set<string>();
  private readonly markers = new Map<string, () => void>();
  private corrections = 0;
  private draining?: Promise<void>;
  private watcher?: FSWatcher;
  private starting?: Promise<void>;
  private resyncTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly layout: LocalLayout,
    private readonly store: LocalVolumeStore,
    private readonly options: LocalVolumeIndexOptions,
  ) {}

  /** How many volumes the index holds. */
  get size(): number {
    return this.index.size;
  }

  /** See `SnapshotDriver.findVolumes`; the first call watches and scans the directory. */
  async find(query: VolumeQuery): Promise<Volume[]> {
    await this.start();
    await this.barrier();
    const [failure] = this.errors.values();
    if (failure) throw failure;
    return this.index.find(query).map((v) => ({ ...v, labels: { ...v.labels } }));
  }

  /** Stops watching and rescanning. */
  close(): void {
    this.closed = true;
    clearInterval(this.resyncTimer);
    this.stopWatching();
    for (const seen of this.markers.values()) seen();
  }

  private start(): Promise<void> {
    this.starting ??= this.watchAndScan().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  /** Watches first, then scans: a change made during the scan is reported by the watch. */
  private async watchAndScan(): Promise<void> {
    await mkdir(this.layout.volumesDir, { recursive: true });
    this.stopWatching();
    this.watcher = this.watch();
    await this.rescan(false);
    if (this.resyncTimer === undefined) {
      this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs).unref();
    }
  }

  /**
   * A watch of the volumes directory, or undefined when the system refuses one (no inotify,
   * watches exhausted): then every find rescans the directory, correct but in proportion to
   * the volumes, and each periodic rescan tries to watch again.
   */
  private watch(): FSWatcher | undefined {
    try {
      const watcher = watch(this.layout.volumesDir, { persistent: false }, (_event, filename) =>
        this.onEvent(filename),
      );
      watcher.on('error', (error) =>
        this.restartInBackground(`the volumes directory watch failed: ${error.message}`),
      );
      return watcher;
    } catch (error) {
      this.options.warn(
        `local volume index: cannot watch ${this.layout.volumesDir} (${String(error)}); every find rescans it`,
      );
      return undefined;
    }
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Reports the reason and starts over: a new watch and a full rescan. */
  private restart(reason: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.options.warn(`local volume index: ${reason}; rescanning ${this.layout.volumesDir}`);
    this.starting = undefined;
    return this.start();
  }

  /** A restart nobody waits for; if it fails, the next find starts again (and says why). */
  private restartInBackground(reason: string): void {
    this.restart(reason).catch((error: unknown) =>
      this.options.warn(`local volume index: restart failed: ${String(error)}`),
    );
  }

  private onEvent(filename: string | null): void {
    if (filename === null)
      return this.restartInBackground('the watch reported a change without a name');
    const marker = this.markers.get(filename);
    if (marker) return marker();
    const name = volumeNameOf(filename);
    if (name === undefined) return;
    // An event means a change, even one its stamp cannot tell (same size, same clock tick).
    this.rescanned.delete(name);
    this.markDirty(name);
  }

  /**
   * Waits until every change made before the call was seen and applied: a marker file goes
   * through the watch behind them. Without its event in time, rescans.
   */
  private async barrier(): Promise<void> {
    if (this.watcher === undefined) return this.rescan(false);
    const name = `${MARKER_PREFIX}${tempSuffix()}`;
    const file = join(this.layout.volumesDir, name);
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<boolean>((resolve) => {
      this.markers.set(name, () => resolve(true));
      // Decided after the loop's next poll: a marker event already queued (a loop that was
      // blocked past the timeout) still counts.
      const late = () => setImmediate(() => resolve(false));
      timer = setTimeout(late, this.options.syncTimeoutMs);
    });
    try {
      const written = await writeFile(file, '').then(
        () => true,
        () => false,
      );
      if (!written) await this.restart(`cannot write a marker into ${this.layout.volumesDir}`);
      else if (!(await seen)) {
        await this.restart(
          `no event from the volumes directory watch within ${this.options.syncTimeoutMs} ms`,
        );
      }
    } finally {
      clearTimeout(timer);
      this.markers.delete(name);
      await rm(file, { force: true });
    }
    await this.drain();
  }

  /** Re-reads every volume, the indexed ones and those in the directory. */
  private async rescan(audit: boolean): Promise<void> {
    const listed = (await unlessMissing(() => readdir(this.layout.volumesDir))) ?? [];
    const names = new Set(listed.flatMap((entry) => volumeNameOf(entry) ?? []));
    for (const name of [...this.entries.keys(), ...this.errors.keys()]) names.add(name);
    for (const name of names) {
      if (audit) this.audited.add(name);
      this.rescanned.add(name);
      this.markDirty(name);
    }
    await this.drain();
  }

  /** The periodic rescan; what it had to correct, the watch had missed: reported. */
  private async resync(): Promise<void> {
    if (this.closed) return;
    if (this.watcher === undefined) return this.restartInBackground('watching again');
    this.corrections = 0;
    try {
      await this.rescan(true);
    } catch (error) {
      this.options.warn(`local volume index: periodic rescan failed: ${String(error)}`);
    }
    if (this.corrections > 0) {
      this.options.warn(
        `local volume index: the periodic rescan corrected ${this.corrections} volume(s) the watch had not reported`,
      );
    }
  }

  private markDirty(name: string): void {
    this.dirty.add(name);
    void this.drain();
  }

  /** Re-reads dirty volumes, a batch at a time, until none is left; one loop at a time. */
  private async drain(): Promise<void> {
    while (this.dirty.size > 0 || this.draining) {
      this.draining ??= this.drainLoop().finally(() => (this.draining = undefined));
      await this.draining;
    }
  }

  private async drainLoop(): Promise<void> {
    while (this.dirty.size > 0) {
      const batch = [...this.dirty].slice(0, BATCH);
      for (const name of batch) this.dirty.delete(name);
      await Promise.all(batch.map((name) => this.refresh(name)));
    }
  }

  /**
   * Reads one volume again. A rescan skips the metadata and identity of a volume whose
   * directory and metadata file did not move; an event always re-reads them.
   */
  private async refresh(name: string): Promise<void> {
    const audited = this.audited.delete(name);
    const trustStamp = this.rescanned.delete(name);
    try {
      const stamp = await this.stampOf(name);
      if (trustStamp && stamp !== undefined && stamp === this.entries.get(name)?.stamp) return;
      const changed = stamp === undefined ? this.forget(name) : await this.reread(name, stamp);
      if (changed && audited) this.corrections += 1;
    } catch (error) {
      this.forget(name);
      this.errors.set(name, error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The directory's identity and the metadata file's, or undefined without a directory. */
  private async stampOf(name: string): Promise<string | undefined> {
    const fingerprint = await fingerprintOf(this.layout.volumeDir(name));
    if (fingerprint === undefined) return undefined;
    const meta = await unlessMissing(() =>
      stat(this.layout.volumeMetaFile(name), { bigint: true }),
    );
    const file = meta ? `${meta.ino}:${meta.size}:${meta.mtimeNs}:${meta.ctimeNs}` : '-';
    return `${fingerprint}|${file}`;
  }

  private async reread(name: string, stamp: string): Promise<boolean> {
    const fingerprint = stamp.slice(0, stamp.indexOf('|'));
    const volume = await this.store.describe(name, fingerprint);
    const before = this.entries.get(name)?.volume;
    this.forget(name);
    this.entries.set(name, { stamp, volume });
    this.index.upsert(volume);
    return before === undefined || !sameVolume(before, volume);
  }

  /** Drops the volume (gone, or unreadable); true when the index held it. */
  private forget(name: string): boolean {
    const entry = this.entries.get(name);
    this.errors.delete(name);
    if (!entry) return false;
    this.entries.delete(name);
    this.index.remove(entry.volume);
    return true;
  }
}

/** The volume an entry of the volumes directory belongs to (its directory or its metadata). */
function volumeNameOf(entry: string): string | undefined {
  const name = entry.endsWith(VOLUME_META_SUFFIX)
    ? entry.slice(0, -VOLUME_META_SUFFIX.length)
    : entry;
  return isDnsLabel(name) ? name : undefined;
}

function sameVolume(a: Volume, b: Volume): boolean {
  return (
    a.namespace === b.namespace &&
    a.uid === b.uid &&
    JSON.stringify(Object.entries(a.labels).sort()) ===
      JSON.stringify(Object.entries(b.labels).sort())
  );
}
