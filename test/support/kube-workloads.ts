import type { KubeObject, KubeSim } from '../k8s-sim/index.js';
import { SNAPSHOT_API } from './kube-cluster.js';

/** The HwameiStor LVM CSI driver: its claims are restored by in-place Rollback. */
export const HWAMEISTOR = 'lvm.hwameistor.io';

/**
 * Seeds a HwameiStor storage class (`hwameistor-lvm`) and its snapshot class
 * (`hwameistor-snap`, the default one for the driver).
 */
export function seedHwameiStor(sim: KubeSim): void {
  sim.store.seed({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'hwameistor-lvm' },
    provisioner: HWAMEISTOR,
  });
  sim.store.seed({
    apiVersion: SNAPSHOT_API,
    kind: 'VolumeSnapshotClass',
    metadata: {
      name: 'hwameistor-snap',
      annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
    },
    driver: HWAMEISTOR,
    deletionPolicy: 'Delete',
  });
}

/** A pod template labelled `app: <app>` with one container (named `app` unless given). */
export function podTemplate(app: string, volumes: unknown[] = [], container = app) {
  return {
    metadata: { labels: { app } },
    spec: { containers: [{ name: container }], volumes },
  };
}

/** Options of {@link deployment}. */
export interface DeploymentOptions {
  /** The claim every pod mounts (as volume `data`); none when absent. */
  claim?: string;
  replicas?: number;
  /** The container's name (default: the Deployment's name). */
  container?: string;
}

/**
 * A Deployment whose pods (`<name>-sim-<i>` once the simulator's controllers run) mount
 * `options.claim`.
 */
export function deployment(
  namespace: string,
  name: string,
  options: DeploymentOptions = {},
): KubeObject {
  const volumes = options.claim
    ? [{ name: 'data', persistentVolumeClaim: { claimName: options.claim } }]
    : [];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: name } },
      template: podTemplate(name, volumes, options.container),
    },
  };
}

/**
 * A StatefulSet whose pod `<name>-<i>` mounts claim `<claimTemplate>-<name>-<i>` (which must
 * exist before the simulator starts the pod).
 */
export function statefulSet(
  namespace: string,
  name: string,
  claimTemplate: string,
  replicas = 1,
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: podTemplate(name),
      volumeClaimTemplates: [{ metadata: { name: claimTemplate } }],
    },
  };
}
