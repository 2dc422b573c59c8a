import type { VolumeSnapshotClass } from '#lib/kube';

/** The VolumeSnapshotClass annotation that sets the per-volume snapshot cap. */
export const MAX_SNAPSHOTS_ANNOTATION = 'snapwarden.io/max-snapshots-per-volume';
/** The annotation that marks a class as its driver's default. */
export const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

/**
 * Cap for drivers with no known limit and no annotation. Generic CSI has no cap; a finite
 * number keeps retention arithmetic simple and is far above any sane retention.
 */
export const DEFAULT_MAX_SNAPSHOTS = 1000;

/** What a CSI driver's backend enforces, beyond the generic CSI rules. */
export interface CsiDriverRules {
  maxSnapshotsPerVolume?: number;
  /** A claim restored from a snapshot must request exactly the snapshot's restore size. */
  restoreRequiresEqualCapacity?: boolean;
  /** The backend takes one snapshot of a disk at a time. */
  oneInFlightPerVolume?: boolean;
  /** Snapshots can be rolled back onto their source volume (LocalVolumeSnapshotRestore). */
  rollback?: boolean;
}

/**
 * Known backends (PRODUCT.md, "The domain"):
 * - Huawei CCE/EVS `disk.csi.everest.io`: 7 snapshots per disk; a restored disk must have the
 *   source's capacity (CCE defaults to 10 GiB when none is requested, so we always request the
 *   restore size); EVS allows one snapshot in progress per disk, so a second one would fail
 *   instead of queueing — the engine must serialise them.
 * - HwameiStor `lvm.hwameistor.io`, `disk.hwameistor.io`: rollback via LocalVolumeSnapshotRestore.
 */
export const KNOWN_DRIVERS: Readonly<Record<string, CsiDriverRules>> = {
  'disk.csi.everest.io': {
    maxSnapshotsPerVolume: 7,
    restoreRequiresEqualCapacity: true,
    oneInFlightPerVolume: true,
  },
  'lvm.hwameistor.io': { rollback: true },
  'disk.hwameistor.io': { rollback: true },
};

/** The rules of one driver (none for drivers we know nothing about). */
export function rulesFor(driver: string | undefined): CsiDriverRules {
  return (driver === undefined ? undefined : KNOWN_DRIVERS[driver]) ?? {};
}

/** The cap of a class: its annotation when it is a positive integer, else the driver's, else 1000. */
export function maxSnapshotsFor(vsClass: VolumeSnapshotClass | undefined): number {
  return knownCapOf(vsClass) ?? DEFAULT_MAX_SNAPSHOTS;
}

/** The cap a class states: its annotation when it is a positive integer, else its driver's known cap. */
export function knownCapOf(vsClass: VolumeSnapshotClass | undefined): number | undefined {
  const annotated = Number(vsClass?.metadata.annotations?.[MAX_SNAPSHOTS_ANNOTATION]);
  if (Number.isInteger(annotated) && annotated > 0) return annotated;
  return rulesFor(vsClass?.driver).maxSnapshotsPerVolume;
}

/** The class a driver uses when none is named: the one annotated as default (exactly one). */
export function defaultClassFor(
  classes: VolumeSnapshotClass[],
  driver: string,
): VolumeSnapshotClass | undefined {
  const defaults = classes.filter(
    (c) => c.driver === driver && c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
  );
  return defaults.length === 1 ? defaults[0] : undefined;
}
