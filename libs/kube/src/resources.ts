/**
 * Typed shapes of the Kubernetes objects snapwarden reads and writes, as plain JSON (timestamps
 * are RFC 3339 strings). Only the fields snapwarden uses are declared.
 */

/** The subset of `metav1.ObjectMeta` snapwarden uses. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** Any object with a name: what informers cache and what `getCustom` returns. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** `metav1.Status` details of a failed operation, as VolumeSnapshots report them. */
export interface SnapshotError {
  message?: string;
  time?: string;
}

export const SNAPSHOT_GROUP = 'snapshot.storage.k8s.io';
export const SNAPSHOT_VERSION = 'v1';
export const HWAMEISTOR_GROUP = 'hwameistor.io';
export const HWAMEISTOR_VERSION = 'v1alpha1';

/** `snapshot.storage.k8s.io/v1 VolumeSnapshot` (namespaced). Exactly one source is set. */
export interface VolumeSnapshot extends KubeObject {
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    creationTime?: string;
    readyToUse?: boolean;
    /** A quantity such as `10Gi`. */
    restoreSize?: string;
    error?: SnapshotError;
  };
}

/** `snapshot.storage.k8s.io/v1 VolumeSnapshotContent` (cluster-scoped). */
export interface VolumeSnapshotContent extends KubeObject {
  spec: {
    deletionPolicy: 'Delete' | 'Retain';
    driver: string;
    source: { volumeHandle?: string; snapshotHandle?: string };
    volumeSnapshotClassName?: string;
    volumeSnapshotRef: {
      name: string;
      namespace: string;
      uid?: string;
      kind?: string;
      apiVersion?: string;
    };
    sourceVolumeMode?: string;
  };
  status?: {
    readyToUse?: boolean;
    /** Bytes. */
    restoreSize?: number;
    snapshotHandle?: string;
    error?: SnapshotError;
  };
}

/** `snapshot.storage.k8s.io/v1 VolumeSnapshotClass` (cluster-scoped). */
export interface VolumeSnapshotClass extends KubeObject {
  driver: string;
  deletionPolicy: 'Delete' | 'Retain';
  parameters?: Record<string, string>;
}

/** `hwameistor.io/v1alpha1 LocalVolumeSnapshotRestore` (cluster-scoped). */
export interface LocalVolumeSnapshotRestore extends KubeObject {
  spec: {
    /** A provider snapshot handle or a VolumeSnapshotContent name. */
    sourceVolumeSnapshot: string;
    restoreType: 'rollback' | 'create';
    targetVolume?: string;
  };
  status?: { state?: 'Submitted' | 'InProgress' | 'Completed' | 'Failed'; message?: string };
}

/** The subset of a core v1 PersistentVolumeClaim snapwarden uses. */
export interface PersistentVolumeClaim extends KubeObject {
  spec: {
    accessModes?: string[];
    storageClassName?: string;
    volumeMode?: string;
    volumeName?: string;
    resources?: { requests?: Record<string, string> };
    dataSource?: { kind: string; apiGroup?: string; name: string };
  };
  status?: {
    phase?: 'Pending' | 'Bound' | 'Lost';
    capacity?: Record<string, string>;
    accessModes?: string[];
  };
}

/** The subset of a storage.k8s.io/v1 StorageClass snapwarden uses. */
export interface StorageClass extends KubeObject {
  provisioner: string;
  parameters?: Record<string, string>;
  reclaimPolicy?: string;
}

/** True for plain JSON objects. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True for anything shaped like a Kubernetes object (a `metadata.name` string). */
export function isKubeObject(value: unknown): value is KubeObject {
  return isRecord(value) && isRecord(value.metadata) && typeof value.metadata.name === 'string';
}

/**
 * Narrows what client-node returns for custom objects (`object`/`any`) to a typed resource,
 * after checking it is shaped like a Kubernetes object. The caller names the type it asked for.
 */
export function asKubeObject<T extends KubeObject>(value: unknown): T {
  if (!isKubeObject(value)) throw new TypeError('the API returned something that is not an object');
  return value as T;
}

/** Items of a list response, each narrowed with {@link asKubeObject}. */
export function listItems<T extends KubeObject>(value: unknown): T[] {
  const items = isRecord(value) && Array.isArray(value.items) ? (value.items as unknown[]) : [];
  return items.map((item) => asKubeObject<T>(item));
}

/** `metadata.resourceVersion` of a list response ('' when absent). */
export function listResourceVersion(value: unknown): string {
  if (!isRecord(value) || !isRecord(value.metadata)) return '';
  const rv = value.metadata.resourceVersion;
  return typeof rv === 'string' ? rv : '';
}

/** Typed client-node models (Dates) as plain JSON, the shape watches deliver. */
export function toPlain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
