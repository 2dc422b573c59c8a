import type { FakeStorageProvider } from './provider.js';
import { parseQuantity } from './quantity.js';
import { getPath, getString, type KubeObject, strings } from './types.js';

/** What the provisioner needs to know to restore a claim from a snapshot. */
export interface RestoreSource {
  snapshotHandle: string;
  snapshotName: string;
  restoreSizeBytes?: number;
}

/** The objects a restore check looks at. */
export interface RestoreInput {
  claim: KubeObject;
  snapshot: KubeObject | undefined;
  content: KubeObject | undefined;
  driver: string;
  provider: FakeStorageProvider;
}

function prefix(name: string): string {
  return `error getting handle for DataSource Type VolumeSnapshot by Name ${name}`;
}

function snapshotProblem(
  name: string,
  snapshot: KubeObject | undefined,
  content: KubeObject | undefined,
): string | undefined {
  if (!snapshot)
    return `${prefix(name)}: error getting snapshot ${name} from api server: volumesnapshots.snapshot.storage.k8s.io "${name}" not found`;
  if (snapshot.metadata.deletionTimestamp)
    return `${prefix(name)}: snapshot ${name} is currently being deleted`;
  if (getPath(snapshot, ['status', 'readyToUse']) !== true)
    return `${prefix(name)}: snapshot ${name} is not Ready`;
  if (!getString(content, ['status', 'snapshotHandle']))
    return `${prefix(name)}: snapshot handle of ${name} is not known yet`;
  return undefined;
}

function sizeProblem(
  input: RestoreInput,
  requested: number,
  restoreSize: number | undefined,
): string | undefined {
  if (restoreSize === undefined) return undefined;
  const name = input.snapshot?.metadata.name ?? '';
  if (requested < restoreSize) {
    return `requested volume size ${requested} is less than the size ${restoreSize} for the source snapshot ${name}`;
  }
  if (
    input.provider.rulesOf(input.driver).restoreRequiresEqualCapacity &&
    requested !== restoreSize
  ) {
    return `requested volume size ${requested} must equal the size ${restoreSize} of the source snapshot ${name}: ${input.driver} restores a snapshot only to a disk of the same capacity`;
  }
  return undefined;
}

function sameModes(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((m) => b.includes(m));
}

function shapeProblem(input: RestoreInput, handle: string): string | undefined {
  const source = input.provider.snapshots.get(handle);
  if (!source) return undefined;
  const claimClass = getString(input.claim, ['spec', 'storageClassName']);
  if (source.storageClassName !== undefined && claimClass !== source.storageClassName) {
    return `storage class "${claimClass ?? ''}" differs from the source volume's storage class "${source.storageClassName}": a disk restored from a snapshot must keep the source disk's type`;
  }
  const modes = strings(getPath(input.claim, ['spec', 'accessModes']));
  if (!sameModes(modes, source.accessModes)) {
    return `access modes [${modes.join(' ')}] differ from the source volume's access modes [${source.accessModes.join(' ')}]`;
  }
  const volumeMode = getString(input.claim, ['spec', 'volumeMode']) ?? 'Filesystem';
  if (volumeMode !== source.volumeMode) {
    return `requested volume mode ${volumeMode} does not match the source snapshot's volume mode ${source.volumeMode}`;
  }
  return source.driver === input.driver
    ? undefined
    : `the source snapshot was taken by driver ${source.driver}, not ${input.driver}`;
}

/**
 * Checks the restore rules for a claim with a VolumeSnapshot data source: the snapshot exists and
 * is ready; the requested size is at least `restoreSize` (exactly it for drivers that require
 * equal capacity); storage class, access modes and volume mode match the source volume. Returns
 * the source, or the message of the `ProvisioningFailed` event.
 */
export function checkRestore(input: RestoreInput): RestoreSource | string {
  const name =
    input.snapshot?.metadata.name ?? getString(input.claim, ['spec', 'dataSource', 'name']) ?? '';
  const problem = snapshotProblem(name, input.snapshot, input.content);
  if (problem) return problem;
  const handle = getString(input.content, ['status', 'snapshotHandle']) ?? '';
  const requested =
    parseQuantity(getPath(input.claim, ['spec', 'resources', 'requests', 'storage'])) ?? 0;
  const size = getPath(input.content, ['status', 'restoreSize']);
  const restoreSize = typeof size === 'number' ? size : undefined;
  const failure = sizeProblem(input, requested, restoreSize) ?? shapeProblem(input, handle);
  return failure ?? { snapshotHandle: handle, snapshotName: name, restoreSizeBytes: restoreSize };
}
