import type { PersistentVolumeClaim, VolumeSnapshot } from '#lib/kube';
import type { Snapshot, SnapshotState, Volume, VolumePhase } from '../snapshot-driver.js';
import { quantityBytes } from './quantity.js';

/** The claim a VolumeSnapshot was taken from ('' for a statically imported one). */
export function sourceClaimName(vs: VolumeSnapshot): string {
  return vs.spec.source.persistentVolumeClaimName ?? '';
}

/**
 * A VolumeSnapshot's state: `Terminating` once it has a deletionTimestamp (finalizers keep it),
 * `Ready` when `readyToUse`, `Failed` when the controller reported `status.error`, else `Creating`.
 */
export function snapshotState(vs: VolumeSnapshot): SnapshotState {
  if (vs.metadata.deletionTimestamp !== undefined) return 'Terminating';
  if (vs.status?.readyToUse === true) return 'Ready';
  if (vs.status?.error !== undefined) return 'Failed';
  return 'Creating';
}

/** A VolumeSnapshot as the engine sees it; `volumeName` is the source claim. */
export function toSnapshot(vs: VolumeSnapshot): Snapshot {
  const state = snapshotState(vs);
  const created = vs.status?.creationTime ?? vs.metadata.creationTimestamp;
  const snapshot: Snapshot = {
    namespace: vs.metadata.namespace ?? '',
    name: vs.metadata.name,
    uid: vs.metadata.uid ?? '',
    volumeName: sourceClaimName(vs),
    createdAt: created === undefined ? new Date(0) : new Date(created),
    state,
    readyToUse: state === 'Ready',
    labels: { ...(vs.metadata.labels ?? {}) },
    ...optional('snapshotClassName', vs.spec.volumeSnapshotClassName),
  };
  const restoreSizeBytes = quantityBytes(vs.status?.restoreSize);
  if (restoreSizeBytes !== undefined) snapshot.restoreSizeBytes = restoreSizeBytes;
  if (vs.status?.error !== undefined) {
    snapshot.error = vs.status.error.message ?? 'the snapshot controller reported an error';
  }
  return snapshot;
}

/** A PersistentVolumeClaim as a Volume: phase, capacity (else the request), class and modes. */
export function toVolume(claim: PersistentVolumeClaim): Volume {
  const volume: Volume = {
    namespace: claim.metadata.namespace ?? '',
    name: claim.metadata.name,
    uid: claim.metadata.uid ?? '',
    labels: { ...(claim.metadata.labels ?? {}) },
    phase: claimPhase(claim),
  };
  const size = quantityBytes(
    claim.status?.capacity?.storage ?? claim.spec.resources?.requests?.storage,
  );
  if (size !== undefined) volume.sizeBytes = size;
  if (claim.spec.storageClassName !== undefined)
    volume.storageClassName = claim.spec.storageClassName;
  if (claim.spec.accessModes !== undefined) volume.accessModes = [...claim.spec.accessModes];
  return volume;
}

function claimPhase(claim: PersistentVolumeClaim): VolumePhase {
  const phase = claim.status?.phase;
  return phase === 'Bound' || phase === 'Lost' ? phase : 'Pending';
}

/** The VolumeSnapshot manifest for a new snapshot of a claim. */
export function snapshotManifest(input: {
  namespace: string;
  name: string;
  claimName: string;
  className: string;
  labels: Record<string, string>;
}): VolumeSnapshot {
  return {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name: input.name, namespace: input.namespace, labels: { ...input.labels } },
    spec: {
      source: { persistentVolumeClaimName: input.claimName },
      volumeSnapshotClassName: input.className,
    },
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}
