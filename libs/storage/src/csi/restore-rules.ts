import { labelValue } from '#lib/policy';
import type { PersistentVolumeClaim, VolumeSnapshot } from '#lib/kube';
import { InvalidRequestError } from '../errors.js';
import type { RestoreToNewVolumeInput, Snapshot } from '../snapshot-driver.js';
import { RESTORED_FROM_LABEL, checkRestoreRules } from '../shared/restore-rules.js';
import type { CsiDriverRules } from './driver-rules.js';

/** What the CSI restore rules look at. */
export interface CsiRestoreSource {
  vs: VolumeSnapshot;
  snapshot: Snapshot;
  /** The claim the snapshot was taken from, when it still exists. */
  sourceClaim?: PersistentVolumeClaim;
  rules: CsiDriverRules;
}

/**
 * Every restore rule, checked before anything is created: the shared ones (ready snapshot,
 * size ≥ restoreSize, the source's storage class and access modes), then the driver's own
 * (everest: exactly the restore size). A snapshot whose source claim is gone needs the storage
 * class and access modes named. Each violation names its field.
 */
export function checkCsiRestore(input: RestoreToNewVolumeInput, source: CsiRestoreSource): void {
  const { sourceClaim, snapshot, rules } = source;
  checkRestoreRules(input, {
    snapshot,
    storageClassName: sourceClaim?.spec.storageClassName ?? input.target.storageClassName,
    accessModes: sourceClaim?.spec.accessModes ?? input.target.accessModes,
  });
  const { sizeBytes } = input.target;
  const restoreSize = snapshot.restoreSizeBytes;
  if (
    rules.restoreRequiresEqualCapacity === true &&
    sizeBytes !== undefined &&
    restoreSize !== undefined &&
    sizeBytes !== restoreSize
  ) {
    throw new InvalidRequestError(
      `target.size ${sizeBytes} bytes must equal the snapshot's restore size ${restoreSize}: ` +
        `this driver restores only to a disk of the source's capacity`,
      'target.size',
    );
  }
  if (sourceClaim === undefined && input.target.storageClassName === undefined) {
    throw new InvalidRequestError(
      `the source claim "${snapshot.volumeName}" of snapshot ${snapshot.name} no longer exists: ` +
        `name target.storageClassName (it must be the source's)`,
      'target.storageClassName',
    );
  }
}

/**
 * The claim to create: the source's class, access modes and volume mode unless named, the
 * restore size as the request unless a size is named (CCE would default to 10 GiB otherwise),
 * and the snapshot as its `dataSource`.
 */
export function restoredClaim(
  input: RestoreToNewVolumeInput,
  source: CsiRestoreSource,
): PersistentVolumeClaim {
  const { target } = input;
  const { sourceClaim, snapshot } = source;
  const spec: PersistentVolumeClaim['spec'] = {
    accessModes: target.accessModes ?? sourceClaim?.spec.accessModes ?? ['ReadWriteOnce'],
    storageClassName: target.storageClassName ?? sourceClaim?.spec.storageClassName,
    dataSource: {
      kind: 'VolumeSnapshot',
      apiGroup: 'snapshot.storage.k8s.io',
      name: snapshot.name,
    },
  };
  const storage = requestedStorage(input, source);
  if (storage !== undefined) spec.resources = { requests: { storage } };
  if (sourceClaim?.spec.volumeMode !== undefined) spec.volumeMode = sourceClaim.spec.volumeMode;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: { [RESTORED_FROM_LABEL]: labelValue(snapshot.name) },
    },
    spec,
  };
}

/** The snapshot's own restoreSize quantity unless another size is asked for. */
function requestedStorage(
  input: RestoreToNewVolumeInput,
  source: CsiRestoreSource,
): string | undefined {
  const { sizeBytes } = input.target;
  if (sizeBytes !== undefined && sizeBytes !== source.snapshot.restoreSizeBytes) {
    return String(sizeBytes);
  }
  return source.vs.status?.restoreSize ?? source.sourceClaim?.spec.resources?.requests?.storage;
}
