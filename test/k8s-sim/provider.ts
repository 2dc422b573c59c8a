import { randomUUID } from 'node:crypto';

/** What a storage backend enforces, per CSI driver. */
export interface DriverRules {
  /** Snapshots one volume may hold at the provider (retained ones included). */
  maxSnapshotsPerVolume?: number;
  /** A volume restored from a snapshot must have exactly the snapshot's size (CCE/everest). */
  restoreRequiresEqualCapacity?: boolean;
  /** Only one snapshot of a volume may be in progress at a time. */
  oneSnapshotInProgressPerVolume?: boolean;
}

/** Known driver behaviour; anything not listed is unlimited and lenient. */
export const DEFAULT_DRIVER_RULES: Record<string, DriverRules> = {
  'disk.csi.everest.io': { maxSnapshotsPerVolume: 7, restoreRequiresEqualCapacity: true },
};

/** A disk at the provider. */
export interface ProviderVolume {
  handle: string;
  driver: string;
  sizeBytes: number;
  /** What the disk was made with: restores must keep them. */
  storageClassName?: string;
  accessModes: string[];
  volumeMode: string;
  /** Snapshot the disk was restored from, if any. */
  sourceSnapshot?: string;
  /** Snapshot last rolled back onto the disk, if any. */
  rolledBackTo?: string;
}

/** A snapshot at the provider. */
export interface ProviderSnapshot {
  handle: string;
  driver: string;
  volumeHandle: string;
  sizeBytes: number;
  createdAt: Date;
  ready: boolean;
  /** The source disk's class and modes at snapshot time. */
  storageClassName?: string;
  accessModes: string[];
  volumeMode: string;
}

/** A provider-side failure, worded as the CSI driver reports it. */
export class ProviderError extends Error {
  constructor(
    readonly grpcCode: string,
    message: string,
  ) {
    super(`rpc error: code = ${grpcCode} desc = ${message}`);
    this.name = 'ProviderError';
  }
}

/**
 * The storage backend behind the simulated CSI drivers: disks and snapshots with the provider's
 * own limits (per-disk snapshot caps count retained snapshots too, as Huawei EVS does).
 */
export class FakeStorageProvider {
  readonly volumes = new Map<string, ProviderVolume>();
  readonly snapshots = new Map<string, ProviderSnapshot>();
  private readonly rules: Record<string, DriverRules>;

  constructor(rules: Record<string, DriverRules> = {}) {
    this.rules = { ...DEFAULT_DRIVER_RULES, ...rules };
  }

  /** The rules of a driver (empty when unknown). */
  rulesOf(driver: string): DriverRules {
    return this.rules[driver] ?? {};
  }

  /** Creates a disk. */
  createVolume(spec: Omit<ProviderVolume, 'handle'>): ProviderVolume {
    const volume = { ...spec, handle: randomUUID() };
    this.volumes.set(volume.handle, volume);
    return volume;
  }

  /** Deletes a disk (its snapshots stay, as with most CSI drivers). */
  deleteVolume(handle: string): void {
    this.volumes.delete(handle);
  }

  /** Snapshots held for a disk. */
  snapshotsOf(volumeHandle: string): ProviderSnapshot[] {
    return [...this.snapshots.values()].filter((s) => s.volumeHandle === volumeHandle);
  }

  /**
   * Takes a snapshot, enforcing the per-disk cap (`cap` overrides the driver's) and the
   * one-in-progress rule; throws {@link ProviderError} like the CSI driver would.
   */
  createSnapshot(volumeHandle: string, cap?: number): ProviderSnapshot {
    const volume = this.volumes.get(volumeHandle);
    if (!volume) throw new ProviderError('NotFound', `volume ${volumeHandle} not found`);
    const rules = this.rulesOf(volume.driver);
    const existing = this.snapshotsOf(volumeHandle);
    const limit = cap ?? rules.maxSnapshotsPerVolume;
    if (limit !== undefined && existing.length >= limit) {
      throw new ProviderError(
        'ResourceExhausted',
        `maximum number of snapshots reached: disk ${volumeHandle} already has ${existing.length} snapshots, the limit is ${limit} per disk`,
      );
    }
    if (rules.oneSnapshotInProgressPerVolume && existing.some((s) => !s.ready)) {
      throw new ProviderError(
        'Aborted',
        `a snapshot of disk ${volumeHandle} is already being created`,
      );
    }
    const snapshot: ProviderSnapshot = {
      handle: `snap-${randomUUID()}`,
      driver: volume.driver,
      volumeHandle,
      sizeBytes: volume.sizeBytes,
      createdAt: new Date(),
      ready: false,
      storageClassName: volume.storageClassName,
      accessModes: [...volume.accessModes],
      volumeMode: volume.volumeMode,
    };
    this.snapshots.set(snapshot.handle, snapshot);
    return snapshot;
  }

  /** Deletes a snapshot (no-op when already gone). */
  deleteSnapshot(handle: string): void {
    this.snapshots.delete(handle);
  }

  /** Rolls a disk back onto one of its snapshots. */
  rollback(snapshotHandle: string): ProviderVolume {
    const snapshot = this.snapshots.get(snapshotHandle);
    const volume = snapshot && this.volumes.get(snapshot.volumeHandle);
    if (!snapshot || !volume)
      throw new ProviderError('NotFound', `snapshot ${snapshotHandle} or its disk not found`);
    volume.rolledBackTo = snapshotHandle;
    return volume;
  }
}
