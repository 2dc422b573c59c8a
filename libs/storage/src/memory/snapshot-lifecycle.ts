import { randomUUID } from 'node:crypto';
import { SnapshotConflictError, SnapshotLimitError, VolumeNotFoundError } from '../errors.js';
import type {
  CreateSnapshotInput,
  CreateSnapshotResult,
  Snapshot,
  Volume,
  VolumeRef,
} from '../snapshot-driver.js';
import { flatString } from '../shared/flat-string.js';
import type { FailureInjector } from './failure-injector.js';
import type { MemoryDriverOptions, MemorySnapshotInput } from './memory-options.js';
import { copySnapshot, keyOf, type MemoryStore, type SnapshotRecord } from './memory-store.js';

/** Counters the lifecycle keeps for `MemoryDriver.stats`. */
export interface LifecycleCounts {
  creates: number;
  adopts: number;
  deletes: number;
}

/**
 * The synchronous core of the memory driver: creation with adoption and the cap check (atomic,
 * because nothing awaits in between), the Creating → Ready (or Failed) timer, Terminating.
 */
export class SnapshotLifecycle {
  readonly counts: LifecycleCounts = { creates: 0, adopts: 0, deletes: 0 };
  private readonly cap: number;
  private readonly clock: () => Date;

  constructor(
    private readonly store: MemoryStore,
    private readonly failures: FailureInjector,
    private readonly options: MemoryDriverOptions,
  ) {
    this.cap = options.maxSnapshotsPerVolume ?? 7;
    this.clock = options.clock ?? (() => new Date());
  }

  get maxSnapshotsPerVolume(): number {
    return this.cap;
  }

  create(input: CreateSnapshotInput): CreateSnapshotResult {
    const volume = this.requireSnapshotable(input.volume);
    const existing = this.store.record({ namespace: volume.namespace, name: input.name });
    if (existing) return this.adopt(existing, volume);
    const held = this.store.countForVolume(volume);
    if (held >= this.cap) {
      throw new SnapshotLimitError(
        `volume ${keyOf(volume)} holds ${held} snapshots; the cap is ${this.cap}`,
      );
    }
    const record: SnapshotRecord = {
      ...sourceOf(volume),
      volumeUid: volume.uid,
      snapshot: this.newSnapshot(
        volume.namespace,
        input.name,
        volume.name,
        'Creating',
        input.labels,
      ),
    };
    this.store.put(record);
    this.counts.creates++;
    this.scheduleReady(record, volume.sizeBytes);
    return { snapshot: copySnapshot(record.snapshot), adopted: false };
  }

  /** Seeds a snapshot as another tool would have made it (no cap, no timer). */
  seed(input: MemorySnapshotInput): Snapshot {
    const namespace = input.namespace ?? 'default';
    if (this.store.record({ namespace, name: input.name })) {
      throw new Error(`snapshot ${namespace}/${input.name} already exists`);
    }
    const volume = this.store.volume({ namespace, name: input.volumeName });
    const snapshot = this.newSnapshot(
      namespace,
      input.name,
      input.volumeName,
      input.state ?? 'Ready',
      input.labels,
    );
    if (input.createdAt) snapshot.createdAt = input.createdAt;
    const restoreSize = input.restoreSizeBytes ?? volume?.sizeBytes;
    if (restoreSize !== undefined) snapshot.restoreSizeBytes = restoreSize;
    if (input.error !== undefined) snapshot.error = input.error;
    const volumeUid = input.volumeUid ?? volume?.uid ?? randomUUID();
    this.store.put({ ...sourceOf(volume), volumeUid, snapshot });
    return copySnapshot(snapshot);
  }

  markTerminating(record: SnapshotRecord): void {
    if (record.timer) clearTimeout(record.timer);
    delete record.timer;
    record.snapshot.state = 'Terminating';
    record.snapshot.readyToUse = false;
    this.store.changed(record.snapshot);
  }

  private adopt(existing: SnapshotRecord, volume: Volume): CreateSnapshotResult {
    if (existing.snapshot.volumeName !== volume.name || existing.volumeUid !== volume.uid) {
      throw new SnapshotConflictError(
        `snapshot ${keyOf(existing.snapshot)} belongs to volume ${existing.snapshot.volumeName}, ` +
          `not to ${volume.name} (uid ${volume.uid})`,
      );
    }
    this.counts.adopts++;
    return { snapshot: copySnapshot(existing.snapshot), adopted: true };
  }

  private newSnapshot(
    namespace: string,
    name: string,
    volumeName: string,
    state: Snapshot['state'],
    labels: Record<string, string> = {},
  ): Snapshot {
    // Kept for as long as the snapshot lives: flat strings (see flatString).
    const kept: Record<string, string> = {};
    for (const [key, value] of Object.entries(labels)) kept[key] = flatString(value);
    return {
      namespace,
      name: flatString(name),
      uid: flatString(randomUUID()),
      volumeName,
      createdAt: this.clock(),
      state,
      readyToUse: state === 'Ready',
      labels: kept,
    };
  }

  private scheduleReady(record: SnapshotRecord, sizeBytes: number | undefined): void {
    const delay = this.options.readyDelayMs ?? 0;
    if (delay <= 0) this.becomeReady(record, sizeBytes);
    else record.timer = setTimeout(() => this.becomeReady(record, sizeBytes), delay);
  }

  private becomeReady(record: SnapshotRecord, sizeBytes: number | undefined): void {
    delete record.timer;
    const { snapshot } = record;
    if (snapshot.state !== 'Creating') return;
    const failure = this.failures.take('ready');
    if (failure) {
      snapshot.state = 'Failed';
      snapshot.error = failure.message;
    } else {
      snapshot.state = 'Ready';
      snapshot.readyToUse = true;
      if (sizeBytes !== undefined) snapshot.restoreSizeBytes = sizeBytes;
    }
    this.store.changed(snapshot);
  }

  private requireSnapshotable(ref: VolumeRef): Volume {
    const volume = this.store.volume(ref);
    if (!volume) throw new VolumeNotFoundError(`volume ${keyOf(ref)} does not exist`);
    if (volume.phase !== 'Bound') {
      throw new VolumeNotFoundError(
        `volume ${keyOf(ref)} is ${volume.phase}; only Bound volumes can be snapshotted`,
      );
    }
    return volume;
  }
}

/** What a restore needs to know of the source volume, copied when the snapshot is taken. */
export function sourceOf(
  volume: Volume | undefined,
): Pick<SnapshotRecord, 'storageClassName' | 'accessModes'> {
  const source: Pick<SnapshotRecord, 'storageClassName' | 'accessModes'> = {};
  if (volume?.storageClassName !== undefined) source.storageClassName = volume.storageClassName;
  if (volume?.accessModes !== undefined) source.accessModes = [...volume.accessModes];
  return source;
}
