import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type {
  Snapshot,
  SnapshotRef,
  Volume,
  VolumePhase,
  VolumeQuery,
  VolumeRef,
} from '../snapshot-driver.js';
import { flatString } from '../shared/flat-string.js';
import { VolumeIndex } from '../shared/volume-index.js';

/** A volume to add to the memory driver; everything but the name has a default. */
export interface MemoryVolumeInput {
  namespace?: string;
  name: string;
  /** Default a random UUID; processes seeding the same volumes give them the same uid. */
  uid?: string;
  labels?: Record<string, string>;
  /** Default 1 GiB. */
  sizeBytes?: number;
  storageClassName?: string;
  accessModes?: string[];
  /** Default Bound; only Bound volumes can be snapshotted. */
  phase?: VolumePhase;
}

/** A snapshot record: the snapshot and what a restore must know of its source volume. */
export interface SnapshotRecord {
  snapshot: Snapshot;
  volumeUid: string;
  storageClassName?: string;
  accessModes?: string[];
  timer?: NodeJS.Timeout;
}

const GIB = 1024 ** 3;

/** Volumes and snapshots of one memory driver, and the event each snapshot change emits. */
export class MemoryStore {
  readonly changes = new EventEmitter();
  private readonly volumes = new VolumeIndex();
  private readonly snapshots = new Map<string, SnapshotRecord>();
  /** Snapshot keys per source volume, so per-volume reads do not scan every snapshot. */
  private readonly byVolume = new Map<string, Set<string>>();

  constructor() {
    // One listener per waiter; thousands may wait at once in a benchmark.
    this.changes.setMaxListeners(0);
  }

  addVolume(input: MemoryVolumeInput): Volume {
    const volume: Volume = {
      namespace: input.namespace ?? 'default',
      name: input.name,
      uid: input.uid ?? randomUUID(),
      labels: { ...input.labels },
      phase: input.phase ?? 'Bound',
      sizeBytes: input.sizeBytes ?? GIB,
      accessModes: input.accessModes ? [...input.accessModes] : ['ReadWriteOnce'],
    };
    if (input.storageClassName !== undefined) volume.storageClassName = input.storageClassName;
    if (this.volumes.get(volume)) throw new Error(`volume ${keyOf(volume)} already exists`);
    this.volumes.upsert(volume);
    return copyVolume(volume);
  }

  removeVolume(ref: VolumeRef): boolean {
    return this.volumes.remove(ref);
  }

  /** Replaces the volume's labels; undefined when it does not exist. */
  relabelVolume(ref: VolumeRef, labels: Record<string, string>): Volume | undefined {
    const volume = this.volumes.get(ref);
    if (!volume) return undefined;
    const relabelled = { ...volume, labels: { ...labels } };
    this.volumes.upsert(relabelled);
    return copyVolume(relabelled);
  }

  volume(ref: VolumeRef): Volume | undefined {
    return this.volumes.get(ref);
  }

  listVolumes(namespace?: string): Volume[] {
    return this.volumes.list(namespace).map(copyVolume);
  }

  findVolumes(query: VolumeQuery): Volume[] {
    return this.volumes.find(query).map(copyVolume);
  }

  record(ref: SnapshotRef): SnapshotRecord | undefined {
    return this.snapshots.get(keyOf(ref));
  }

  put(record: SnapshotRecord): void {
    const key = flatString(keyOf(record.snapshot));
    const previous = this.snapshots.get(key);
    if (previous) this.unindex(key, previous.snapshot);
    this.snapshots.set(key, record);
    const volumeKey = sourceKeyOf(record.snapshot);
    let keys = this.byVolume.get(volumeKey);
    if (!keys) {
      keys = new Set<string>();
      this.byVolume.set(flatString(volumeKey), keys);
    }
    keys.add(key);
    this.changed(record.snapshot);
  }

  delete(ref: SnapshotRef): void {
    const key = keyOf(ref);
    const record = this.snapshots.get(key);
    if (record?.timer) clearTimeout(record.timer);
    if (record) this.unindex(key, record.snapshot);
    this.snapshots.delete(key);
    this.changed(ref);
  }

  /** Every snapshot whose source is `volume`. */
  snapshotsOf(volume: VolumeRef): Snapshot[] {
    const keys = this.byVolume.get(keyOf(volume)) ?? [];
    const result: Snapshot[] = [];
    for (const key of keys) {
      const record = this.snapshots.get(key);
      if (record) result.push(copySnapshot(record.snapshot));
    }
    return result;
  }

  private unindex(key: string, snapshot: Snapshot): void {
    const keys = this.byVolume.get(sourceKeyOf(snapshot));
    keys?.delete(key);
    if (keys?.size === 0) this.byVolume.delete(sourceKeyOf(snapshot));
  }

  /** Tells waiters that the snapshot changed (state, or gone). */
  changed(ref: SnapshotRef): void {
    this.changes.emit(keyOf(ref));
  }

  listSnapshots(filter: (s: Snapshot) => boolean): Snapshot[] {
    return [...this.snapshots.values()]
      .map((r) => r.snapshot)
      .filter(filter)
      .map(copySnapshot);
  }

  countForVolume(volume: VolumeRef): number {
    return this.byVolume.get(keyOf(volume))?.size ?? 0;
  }

  clearTimers(): void {
    for (const record of this.snapshots.values()) {
      if (record.timer) clearTimeout(record.timer);
      delete record.timer;
    }
  }
}

function sourceKeyOf(snapshot: Snapshot): string {
  return `${snapshot.namespace}/${snapshot.volumeName}`;
}

/** The event name and map key of a namespaced object. */
export function keyOf(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

export function copyVolume(volume: Volume): Volume {
  const copy: Volume = { ...volume, labels: { ...volume.labels } };
  if (volume.accessModes) copy.accessModes = [...volume.accessModes];
  return copy;
}

export function copySnapshot(snapshot: Snapshot): Snapshot {
  return { ...snapshot, labels: { ...snapshot.labels }, createdAt: new Date(snapshot.createdAt) };
}
