import { rm } from 'node:fs/promises';
import { SnapshotTimeoutError } from '../errors.js';
import type {
  CreateSnapshotInput,
  CreateSnapshotResult,
  DriverCapabilities,
  OperationReport,
  RestoreToNewVolumeInput,
  Snapshot,
  SnapshotDriver,
  SnapshotRef,
  Volume,
  VolumeQuery,
  VolumeRef,
} from '../snapshot-driver.js';
import { closedError, sleep, throwIfAnyAborted } from '../shared/abortable.js';
import { KeyedMutex } from '../shared/keyed-mutex.js';
import { isSnapshotRef } from '../shared/names.js';
import { notReadyMessage, settledSnapshot } from '../shared/readiness.js';
import type { FaultInjector } from './archive/archive-job.js';
import { DEFAULT_STALL_MS } from './archive/archive-runner.js';
import { Leftovers } from './leftovers.js';
import { LocalLayout } from './local-layout.js';
import { LocalRestorer } from './local-restorer.js';
import { LocalVolumeIndex } from './local-volume-index.js';
import { LocalVolumeStore } from './local-volume-store.js';
import { toSnapshot } from './manifest.js';
import { ManifestStore } from './manifest-store.js';
import { OperationJournal } from './operation-journal.js';
import { SnapshotBuilder } from './snapshot-builder.js';
import { SnapshotCreator, volumeKey } from './snapshot-creator.js';
import { VolumeIdentities } from './volume-identity.js';

export interface LocalDriverOptions {
  /** Root of volumes, snapshots and driver state (see `LocalLayout`). */
  dataDir: string;
  /** The cap this driver enforces itself, like a cloud provider would. Default 7. */
  maxSnapshotsPerVolume?: number;
  /** Source of snapshot creation times. Default: the system clock. */
  clock?: () => Date;
  /** How often `waitUntilReady` re-reads a Creating manifest. Default 200 ms. */
  pollIntervalMs?: number;
  /** An archive job that moves no byte for this long is stopped and fails. Default 60 s. */
  archiveStallMs?: number;
  /** A builder renews its lease this often; 3 missed renewals orphan its build. Default 2 s. */
  builderHeartbeatMs?: number;
  /** Test only: decides per archive job which fault it suffers. */
  archiveFault?: FaultInjector;
  /** Where the volume index reports a watch failure or a correction. Default: a process warning. */
  warn?: (message: string) => void;
  /** The volume index rescans the volumes directory this often, to catch a dropped event. Default 5 min. */
  volumeResyncMs?: number;
}

/**
 * Volumes are directories under `<dataDir>/volumes/`, snapshots are gzip tar archives with a
 * manifest of checksums under `<dataDir>/snapshots/<namespace>/`. The manifest is the commit
 * point: a snapshot exists iff its manifest does, and it is Ready only once the archive it
 * describes is complete and in place. Restores and rollbacks verify every byte against the
 * manifest before anything becomes visible (invariant 7).
 *
 * Concurrency: operations on one volume are serialised inside this process; across processes
 * sharing the data directory, the engine's volume lock provides the exclusion (invariant 4),
 * and temporary names carry the pid so a dead process's leftovers can be told apart and
 * recovered (on the first call of a new driver, and before each restore or rollback).
 */
export class LocalDriver implements SnapshotDriver {
  readonly name = 'local';
  private readonly layout: LocalLayout;
  private readonly maxSnapshotsPerVolume: number;
  private readonly pollIntervalMs: number;
  private readonly volumes: LocalVolumeStore;
  private readonly volumeIndex: LocalVolumeIndex;
  private readonly manifests: ManifestStore;
  private readonly builder: SnapshotBuilder;
  private readonly creator: SnapshotCreator;
  private readonly restorer: LocalRestorer;
  private readonly leftovers: Leftovers;
  private readonly mutex = new KeyedMutex();
  private readonly closing = new AbortController();
  private readonly background = new Map<string, Promise<void>>();
  private recovered?: Promise<void>;

  constructor(options: LocalDriverOptions) {
    const clock = options.clock ?? (() => new Date());
    this.layout = new LocalLayout(options.dataDir);
    this.maxSnapshotsPerVolume = options.maxSnapshotsPerVolume ?? 7;
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
    const identities = new VolumeIdentities(this.layout);
    this.volumes = new LocalVolumeStore(this.layout, identities);
    this.volumeIndex = new LocalVolumeIndex(this.layout, this.volumes, {
      warn: options.warn ?? ((message) => process.emitWarning(message, 'VolumeIndexWarning')),
      resyncMs: options.volumeResyncMs ?? 300_000,
      syncTimeoutMs: 2_000,
    });
    this.manifests = new ManifestStore(this.layout);
    const stallMs = options.archiveStallMs ?? DEFAULT_STALL_MS;
    const fault = options.archiveFault;
    this.builder = new SnapshotBuilder(this.layout, this.manifests, clock, {
      stallMs,
      heartbeatMs: options.builderHeartbeatMs ?? 2000,
      ...(fault ? { fault } : {}),
    });
    this.leftovers = new Leftovers(this.layout);
    const { volumes, manifests, builder, leftovers, mutex, layout } = this;
    const cap = this.maxSnapshotsPerVolume;
    this.creator = new SnapshotCreator({
      volumes,
      manifests,
      builder,
      mutex,
      clock,
      maxSnapshotsPerVolume: cap,
    });
    const settings = { stallMs, ...(fault ? { fault } : {}) };
    this.restorer = new LocalRestorer({
      layout,
      manifests,
      volumes,
      identities,
      leftovers,
      mutex,
      settings,
      journal: new OperationJournal(layout, clock),
    });
  }

  capabilities(): Promise<DriverCapabilities> {
    return Promise.resolve({
      maxSnapshotsPerVolume: this.maxSnapshotsPerVolume,
      rollback: true,
      restoreToNewVolume: true,
      oneInFlightPerVolume: true,
      deletesInline: true,
    });
  }

  async listVolumes(namespace?: string): Promise<Volume[]> {
    await this.ready();
    return this.volumes.list(namespace);
  }

  /** Answered from the watched volume index: no volume is read, no tree walked (no size). */
  async findVolumes(query: VolumeQuery): Promise<Volume[]> {
    await this.ready();
    return this.volumeIndex.find(query);
  }

  async getVolume(ref: VolumeRef): Promise<Volume | undefined> {
    await this.ready();
    return this.volumes.get(ref);
  }

  async listSnapshots(volume: VolumeRef): Promise<Snapshot[]> {
    await this.ready();
    return (await this.manifests.listForVolume(volume)).map(toSnapshot);
  }

  async listAllSnapshots(namespace?: string): Promise<Snapshot[]> {
    await this.ready();
    return (await this.manifests.list(namespace)).map(toSnapshot);
  }

  async getSnapshot(ref: SnapshotRef): Promise<Snapshot | undefined> {
    await this.ready();
    const manifest = await this.manifests.read(ref.namespace, ref.name);
    return manifest && toSnapshot(manifest);
  }

  async createSnapshot(input: CreateSnapshotInput): Promise<CreateSnapshotResult> {
    await this.ready();
    await this.leftovers.recoverVolumes();
    await this.leftovers.sweepSnapshots(input.volume.namespace);
    return this.creator.create(input);
  }

  /**
   * Local snapshots are built inside `createSnapshot`, so this usually returns at once. A
   * Creating snapshot is re-read every `pollIntervalMs`; one whose builder died is built again
   * in the background (so a caller that only waits still gets it).
   */
  async waitUntilReady(
    ref: SnapshotRef,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Snapshot> {
    await this.ready();
    const deadline = Date.now() + timeoutMs;
    const signals = [signal, this.closing.signal];
    for (;;) {
      throwIfAnyAborted(signals);
      const manifest = await this.manifests.read(ref.namespace, ref.name);
      const ready = settledSnapshot(manifest && toSnapshot(manifest), ref);
      if (ready) return ready;
      if (manifest && this.builder.isOrphan(manifest)) {
        this.inBackground(`${ref.namespace}/${ref.name}`, () =>
          this.creator.resumeInBackground(manifest),
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new SnapshotTimeoutError(notReadyMessage(ref, timeoutMs));
      await sleep(Math.min(this.pollIntervalMs, remaining), signals);
    }
  }

  /** Marks the manifest Terminating, removes the archive, then the manifest. Missing: done. */
  async deleteSnapshot(ref: SnapshotRef): Promise<void> {
    // Such a name can never exist, and must never reach a path.
    if (!isSnapshotRef(ref)) return;
    await this.ready();
    const manifest = await this.manifests.read(ref.namespace, ref.name);
    const removeArchive = () =>
      rm(this.layout.archiveFile(ref.namespace, ref.name), { force: true });
    if (!manifest) {
      await removeArchive();
      return;
    }
    await this.mutex.run(volumeKey(manifest.volumeName), async () => {
      const current = await this.manifests.read(ref.namespace, ref.name);
      if (!current) return;
      if (current.state !== 'Terminating')
        await this.manifests.write({ ...current, state: 'Terminating' });
      await removeArchive();
      await this.manifests.remove(ref.namespace, ref.name);
    });
  }

  async restoreToNewVolume(input: RestoreToNewVolumeInput): Promise<Volume & OperationReport> {
    await this.ready();
    return this.restorer.restoreToNewVolume(input);
  }

  async rollback(ref: SnapshotRef): Promise<OperationReport> {
    await this.ready();
    return this.restorer.rollback(ref);
  }

  /** Stops waiters (they reject) and lets background builds finish. */
  async close(): Promise<void> {
    this.closing.abort(closedError(this.name));
    this.volumeIndex.close();
    await Promise.allSettled([...this.background.values()]);
  }

  /** Crash recovery, once per driver instance, before its first operation. */
  private ready(): Promise<void> {
    this.recovered ??= this.leftovers.recover().catch((error: unknown) => {
      this.recovered = undefined;
      throw error;
    });
    return this.recovered;
  }

  /** Starts `start` unless a job of that key is running; close() waits for it. */
  private inBackground(key: string, start: () => Promise<void>): void {
    if (this.background.has(key)) return;
    const job = start().finally(() => this.background.delete(key));
    this.background.set(key, job);
  }
}
