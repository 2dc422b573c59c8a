import type { KubeClient, VolumeSnapshot, VolumeSnapshotContent } from '#lib/kube';
import type { Snapshot } from '../snapshot-driver.js';
import { toSnapshot } from './csi-snapshot-mapper.js';

/** An existing provider snapshot to bring under Kubernetes (and snapwarden) management. */
export interface ImportSnapshotInput {
  namespace: string;
  /** Name of the VolumeSnapshot to create. */
  name: string;
  /** The provider's id of the snapshot (e.g. an Alibaba Cloud `s-…` id). */
  snapshotHandle: string;
  /** The CSI driver that owns the snapshot, e.g. `diskplugin.csi.alibabacloud.com`. */
  driver: string;
  snapshotClassName?: string;
  labels?: Record<string, string>;
  /** What deleting the VolumeSnapshot does to the provider snapshot (default `Retain`: keep it). */
  deletionPolicy?: 'Delete' | 'Retain';
}

/** The VolumeSnapshotContent name of an imported snapshot: one per namespace and name. */
export function importedContentName(namespace: string, name: string): string {
  return `snapcontent-import-${namespace}-${name}`.slice(0, 253);
}

/**
 * Static import: a pre-bound VolumeSnapshotContent with `source.snapshotHandle`, then a
 * VolumeSnapshot whose source is that content. The snapshot controller binds them and reports
 * readiness and size. Imported snapshots have no source claim (`volumeName` is '').
 */
export async function importSnapshot(
  kube: KubeClient,
  input: ImportSnapshotInput,
): Promise<Snapshot> {
  const contentName = importedContentName(input.namespace, input.name);
  const content: VolumeSnapshotContent = {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotContent',
    metadata: { name: contentName },
    spec: {
      deletionPolicy: input.deletionPolicy ?? 'Retain',
      driver: input.driver,
      source: { snapshotHandle: input.snapshotHandle },
      volumeSnapshotRef: { name: input.name, namespace: input.namespace },
      ...(input.snapshotClassName === undefined
        ? {}
        : { volumeSnapshotClassName: input.snapshotClassName }),
    },
  };
  await kube.createVolumeSnapshotContent(content);
  const vs: VolumeSnapshot = {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name: input.name, namespace: input.namespace, labels: { ...(input.labels ?? {}) } },
    spec: {
      source: { volumeSnapshotContentName: contentName },
      ...(input.snapshotClassName === undefined
        ? {}
        : { volumeSnapshotClassName: input.snapshotClassName }),
    },
  };
  return toSnapshot(await kube.createVolumeSnapshot(vs));
}
