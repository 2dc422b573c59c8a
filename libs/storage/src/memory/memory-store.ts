import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Snapshot, SnapshotRef, Volume, VolumePhase, VolumeRef } from '../snapshot-driver.js';

/** A volume to add to the memory driver; everything but the name has a default. */
export interface MemoryVolumeInput {
  namespace?: string;
  name: string;
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
  private readonly volumes = new Map<string, Volume>();
  private readonly snapshots = new Map<string, SnapshotRecord>();

  constructor() {
    // One listener per waiter; thousands may wait at once in a benchmark.
    this.changes.setMaxListeners(0);
  }

  addVolume(input: MemoryVolumeInput): Volume {
    const volume: Volume = {
      namespace: input.namespace ?? 'default',
      name: input.name,
      uid: randomUUID(),
      labels: { ...input.labels },
      phase: input.phase ?? 'Bound',
      sizeBytes: input.sizeBytes ?? GIB,
      accessModes: input.accessModes ? [...input.accessModes] : ['ReadWriteOnce'],
    };
    if (input.storageClassName !== undefined) volume.storageClassName = input.storageClassName;
    const key = keyOf(volume);
    if (this.volumes.has(key)) throw new Error(`volume ${key} already exists`);
    this.volumes.set(key, volume);
    return copyVolume(volume);
  }

  removeVolume(ref: VolumeRef): boolean {
    return this.volumes.delete(keyOf(ref));
  }

  volume(ref: VolumeRef): Volume | undefined {
    return this.volumes.get(keyOf(ref));
  }

  listVolumes(namespace?: string): Volume[] {
    return [...this.volumes.values()]
      .filter((v) => namespace === undefined || v.namespace === namespace)
      .map(copyVolume);
  }

  record(ref: SnapshotRef): SnapshotRecord | undefined {
    return this.snapshots.get(keyOf(ref));
  }

  put(record: SnapshotRecord): void {
    this.snapshots.set(keyOf(record.snapshot), record);
    this.changed(record.snapshot);
  }

  delete(ref: SnapshotRef): void {
    const record = this.snapshots.get(keyOf(ref));
    if (record?.timer) clearTimeout(record.timer);
    this.snapshots.delete(keyOf(ref));
    this.changed(ref);
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
    let count = 0;
    for (const { snapshot } of this.snapshots.values()) {
      if (snapshot.namespace === volume.namespace && snapshot.volumeName === volume.name) count++;
    }
    return count;
  }

  clearTimers(): void {
    for (const record of this.snapshots.values()) {
      if (record.timer) clearTimeout(record.timer);
      delete record.timer;
    }
  }
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
