import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { KubeSim } from './server.js';
import { eventually, type SimClients } from './sim-client.js';
import type { KubeObject } from './types.js';

/** Names used by the storage scenarios. */
export const EVEREST = 'disk.csi.everest.io';
export const GENERIC = 'hostpath.csi.k8s.io';

/** Seeds storage classes and snapshot classes for both a capped (everest) and a generic driver. */
export function seedStorage(sim: KubeSim): void {
  const seed = (obj: KubeObject): KubeObject => sim.store.seed(obj);
  seed({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'csi-disk' },
    provisioner: EVEREST,
  });
  seed({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'csi-disk-ssd' },
    provisioner: EVEREST,
  });
  seed({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'hostpath' },
    provisioner: GENERIC,
    reclaimPolicy: 'Delete',
  });
  seed({
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: {
      name: 'everest-snap',
      annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
    },
    driver: EVEREST,
    deletionPolicy: 'Delete',
  });
  seed({
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: {
      name: 'hostpath-retain',
      annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
    },
    driver: GENERIC,
    deletionPolicy: 'Retain',
  });
}

/** A claim manifest. */
export function claim(
  name: string,
  storageClassName: string,
  size = '10Gi',
  extra: Partial<V1PersistentVolumeClaim['spec']> = {},
): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      storageClassName,
      ...extra,
    },
  };
}

/** Creates a claim and waits until it is Bound. */
export async function boundClaim(
  c: SimClients,
  namespace: string,
  body: V1PersistentVolumeClaim,
): Promise<V1PersistentVolumeClaim> {
  await c.core.createNamespacedPersistentVolumeClaim({ namespace, body });
  const name = body.metadata?.name ?? '';
  return eventually(
    async () => {
      const read = await c.core.readNamespacedPersistentVolumeClaim({ name, namespace });
      return read.status?.phase === 'Bound' ? read : undefined;
    },
    3000,
    `claim ${name} bound`,
  );
}

/** A VolumeSnapshot as the custom objects API returns it. */
export interface Snapshot {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  spec: {
    source: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    readyToUse?: boolean;
    restoreSize?: string;
    creationTime?: string;
    boundVolumeSnapshotContentName?: string;
    error?: { message: string };
  };
}

/** Snapshot API helpers over the custom objects client. */
export function snapshots(c: SimClients, namespace: string) {
  const base = {
    group: 'snapshot.storage.k8s.io',
    version: 'v1',
    namespace,
    plural: 'volumesnapshots',
  };
  return {
    create: (name: string, claimName: string, className?: string): Promise<Snapshot> =>
      c.custom.createNamespacedCustomObject({
        ...base,
        body: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name },
          spec: {
            source: { persistentVolumeClaimName: claimName },
            ...(className ? { volumeSnapshotClassName: className } : {}),
          },
        },
      }) as Promise<Snapshot>,
    createStatic: (name: string, contentName: string): Promise<Snapshot> =>
      c.custom.createNamespacedCustomObject({
        ...base,
        body: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: { name },
          spec: { source: { volumeSnapshotContentName: contentName } },
        },
      }) as Promise<Snapshot>,
    get: (name: string): Promise<Snapshot> =>
      c.custom.getNamespacedCustomObject({ ...base, name }) as Promise<Snapshot>,
    delete: (name: string): Promise<unknown> =>
      c.custom.deleteNamespacedCustomObject({ ...base, name }),
    /** Waits until the probe holds for the snapshot. */
    until: (
      name: string,
      probe: (s: Snapshot) => boolean,
      what: string,
      timeoutMs = 3000,
    ): Promise<Snapshot> =>
      eventually(
        async () => {
          const s = (await c.custom.getNamespacedCustomObject({ ...base, name })) as Snapshot;
          return probe(s) ? s : undefined;
        },
        timeoutMs,
        what,
      ),
  };
}
