import { KubeClient, type PersistentVolumeClaim } from '#lib/kube';
import { CsiDriver, type Volume } from '#lib/storage';
import { type KubeSim, eventually, simKubeConfig, startKubeSim } from '../k8s-sim/index.js';
import { seedStorage } from '../k8s-sim/scenario.js';

export const HWAMEISTOR = 'lvm.hwameistor.io';
export const CEPHFS = 'cephfs.csi.ceph.com';
export const ACK = 'diskplugin.csi.alibabacloud.com';

/** A simulator with the four seed systems' classes, a `shop` namespace and a CSI driver on it. */
export interface CsiWorld {
  sim: KubeSim;
  kube: KubeClient;
  driver: CsiDriver;
  /** Creates a claim and waits until the driver sees it Bound. */
  boundClaim(
    name: string,
    storageClassName: string,
    extra?: Partial<PersistentVolumeClaim['spec']>,
  ): Promise<Volume>;
  stop(): Promise<void>;
}

function storageClass(sim: KubeSim, name: string, provisioner: string): void {
  sim.store.seed({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name },
    provisioner,
  });
}

function snapshotClass(
  sim: KubeSim,
  name: string,
  driver: string,
  deletionPolicy: 'Delete' | 'Retain',
  annotations: Record<string, string> = {
    'snapshot.storage.kubernetes.io/is-default-class': 'true',
  },
): void {
  sim.store.seed({
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: { name, annotations },
    driver,
    deletionPolicy,
  });
}

/** Seeds storage: everest (`csi-disk`, cap 7), generic `hostpath`, HwameiStor, CephFS and ACK. */
export function seedSeedSystems(sim: KubeSim): void {
  seedStorage(sim);
  storageClass(sim, 'hwameistor-lvm', HWAMEISTOR);
  snapshotClass(sim, 'hwameistor-snap', HWAMEISTOR, 'Delete');
  storageClass(sim, 'cephfs', CEPHFS);
  storageClass(sim, 'cephfs-other', CEPHFS);
  snapshotClass(sim, 'cephfs-snap', CEPHFS, 'Delete');
  storageClass(sim, 'alicloud-disk', ACK);
  snapshotClass(sim, 'ack-retain', ACK, 'Retain', {});
  snapshotClass(sim, 'ack-delete', ACK, 'Delete', {});
  snapshotClass(sim, 'hostpath-capped', 'hostpath.csi.k8s.io', 'Delete', {
    'snapwarden.io/max-snapshots-per-volume': '2',
  });
  sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  sim.store.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blog' } });
}

/** Starts a simulator, seeds it, and builds a CsiDriver whose informers have synced. */
export async function startCsiWorld(): Promise<CsiWorld> {
  const sim = await startKubeSim({
    snapshotReadyDelayMs: 30,
    provisionDelayMs: 10,
    restoreDelayMs: 30,
  });
  seedSeedSystems(sim);
  const kube = new KubeClient(simKubeConfig(sim), { retry: { baseDelayMs: 10 } });
  const driver = new CsiDriver({ kube, rollbackPollMs: 20 });
  await driver.ready();
  return {
    sim,
    kube,
    driver,
    async boundClaim(name, storageClassName, extra = {}) {
      await kube.createClaim({
        metadata: { name, namespace: 'shop', labels: { app: 'shop' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '10Gi' } },
          storageClassName,
          ...extra,
        },
      });
      return eventually(
        async () => {
          const volume = await driver.getVolume({ namespace: 'shop', name });
          return volume?.phase === 'Bound' ? volume : undefined;
        },
        3000,
        `claim ${name} bound`,
      );
    },
    async stop() {
      await driver.close();
      await sim.stop();
    },
  };
}

/** Seeds a VolumeSnapshot made by someone else (a person, another tool). */
export function seedForeignSnapshot(
  sim: KubeSim,
  name: string,
  claimName: string,
  className?: string,
): void {
  sim.store.seed({
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshot',
    metadata: { name, namespace: 'shop' },
    spec: {
      source: { persistentVolumeClaimName: claimName },
      ...(className === undefined ? {} : { volumeSnapshotClassName: className }),
    },
  });
}
