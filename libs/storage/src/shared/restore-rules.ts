import { InvalidRequestError } from '../errors.js';
import type { RestoreToNewVolumeInput, Snapshot } from '../snapshot-driver.js';

/** What a restore rule needs to know about the snapshot's source volume. */
export interface RestoreSource {
  snapshot: Snapshot;
  storageClassName?: string;
  accessModes?: string[];
}

/** The label a restored volume carries, naming the snapshot it came from. */
export const RESTORED_FROM_LABEL = 'snapwarden.io/restored-from';

/**
 * The provider rules for a new volume made from a snapshot, checked before anything is
 * written: same namespace as the snapshot, a snapshot that is ready, a requested size of at
 * least the restore size, and the source's storage class and access modes (when the target
 * names them). Each violation is an `InvalidRequestError` naming the offending field.
 * Whether the target already exists is the caller's check (the drivers know how to look).
 */
export function checkRestoreRules(input: RestoreToNewVolumeInput, source: RestoreSource): void {
  const { target } = input;
  const { snapshot } = source;
  if (!snapshot.readyToUse) {
    throw new InvalidRequestError(
      `snapshot ${snapshot.namespace}/${snapshot.name} is ${snapshot.state}, not ready to restore`,
      'snapshot',
    );
  }
  checkSize(target.sizeBytes, snapshot.restoreSizeBytes);
  if (
    target.storageClassName !== undefined &&
    target.storageClassName !== source.storageClassName
  ) {
    throw new InvalidRequestError(
      `target.storageClassName "${target.storageClassName}" must match the source volume's ` +
        `(${source.storageClassName ?? 'none'})`,
      'target.storageClassName',
    );
  }
  if (target.accessModes !== undefined && !sameSet(target.accessModes, source.accessModes ?? [])) {
    throw new InvalidRequestError(
      `target.accessModes [${target.accessModes.join(', ')}] must match the source volume's ` +
        `[${(source.accessModes ?? []).join(', ')}]`,
      'target.accessModes',
    );
  }
}

/** The target must live in the snapshot's namespace (snapshots are namespaced). */
export function checkRestoreNamespace(input: RestoreToNewVolumeInput): void {
  if (input.target.namespace !== input.snapshot.namespace) {
    throw new InvalidRequestError(
      `target.namespace "${input.target.namespace}" must equal the snapshot's namespace ` +
        `"${input.snapshot.namespace}"`,
      'target.namespace',
    );
  }
}

/** The target volume exists already: a restore never overwrites a volume. */
export function targetExistsError(input: RestoreToNewVolumeInput): InvalidRequestError {
  return new InvalidRequestError(
    `target.name "${input.target.name}" already exists; a restore creates a new volume`,
    'target.name',
  );
}

function checkSize(requested: number | undefined, restoreSize: number | undefined): void {
  if (requested === undefined || restoreSize === undefined || requested >= restoreSize) return;
  throw new InvalidRequestError(
    `target.size ${requested} bytes is smaller than the snapshot's restore size ${restoreSize}`,
    'target.size',
  );
}

function sameSet(a: string[], b: string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((x) => right.has(x));
}
