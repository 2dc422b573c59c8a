import { labelValue } from '#lib/policy';
import { InvalidRequestError, SnapshotNotFoundError, VolumeNotFoundError } from '../errors.js';
import type { RestoreToNewVolumeInput, SnapshotRef, Volume } from '../snapshot-driver.js';
import {
  checkRestoreRules,
  RESTORED_FROM_LABEL,
  targetExistsError,
} from '../shared/restore-rules.js';
import { keyOf, type MemoryStore, type SnapshotRecord } from './memory-store.js';

/** The snapshot's record, or `SnapshotNotFoundError`. */
export function requireRecord(store: MemoryStore, ref: SnapshotRef): SnapshotRecord {
  const record = store.record(ref);
  if (!record) throw new SnapshotNotFoundError(`snapshot ${keyOf(ref)} does not exist`);
  return record;
}

/**
 * A new volume entry for a restore: the provider rules first (target free, size, class, access
 * modes), then a volume of the requested size (default: the restore size) with the source's
 * class and access modes. No bytes: the memory driver stores none.
 */
export function restoreVolume(store: MemoryStore, input: RestoreToNewVolumeInput): Volume {
  const record = requireRecord(store, input.snapshot);
  if (store.volume(input.target)) throw targetExistsError(input);
  checkRestoreRules(input, record);
  return store.addVolume({
    namespace: input.target.namespace,
    name: input.target.name,
    labels: { [RESTORED_FROM_LABEL]: labelValue(input.snapshot.name) },
    sizeBytes: input.target.sizeBytes ?? record.snapshot.restoreSizeBytes,
    storageClassName: record.storageClassName,
    accessModes: record.accessModes,
  });
}

/** A rollback needs a Ready snapshot and its source volume, the same one (uid) it was taken of. */
export function checkRollback(store: MemoryStore, ref: SnapshotRef): void {
  const { snapshot, volumeUid } = requireRecord(store, ref);
  if (!snapshot.readyToUse) {
    throw new InvalidRequestError(`snapshot ${keyOf(ref)} is ${snapshot.state}`, 'snapshot');
  }
  const volume = store.volume({ namespace: ref.namespace, name: snapshot.volumeName });
  if (volume?.uid !== volumeUid) {
    throw new VolumeNotFoundError(`source volume ${snapshot.volumeName} of ${keyOf(ref)} is gone`);
  }
}
