import type { VolumeRef } from '#lib/storage';

/** A Deployment or StatefulSet, by kind and name (in the claim's namespace). */
export interface WorkloadName {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
}

/** A pod that mounts a claim, and the workload controlling it (none for a bare pod). */
export interface MountingPod {
  name: string;
  owner?: WorkloadName;
}

/** A workload scaled down for a rollback, with the replica count recorded on it. */
export interface QuiescedWorkload extends WorkloadName {
  replicas: number;
}

/** Annotation holding a quiesced workload's original replica count. */
export const QUIESCED_REPLICAS_ANNOTATION = 'snapwarden.io/quiesced-replicas';
/** Annotation naming the restore (`namespace/name`) that quiesced a workload. */
export const QUIESCED_BY_ANNOTATION = 'snapwarden.io/quiesced-by';

/**
 * The workloads around a claim (kubernetes mode). The replica count is recorded ON the
 * workload (annotations) before it is scaled to zero, so whoever runs next (a retried job, the
 * next pass after a crash) finds and restores it.
 */
export interface WorkloadPort {
  /** Pods not finished that mount the claim. */
  podsMounting(volume: VolumeRef): Promise<MountingPod[]>;
  /** Workloads of `namespace` quiesced by `owner` and not restored yet. */
  quiescedBy(namespace: string, owner: string): Promise<QuiescedWorkload[]>;
  /** Records the current replica count on the workload, then scales it to zero; returns the count. */
  scaleDown(namespace: string, workload: WorkloadName, owner: string): Promise<number>;
  /** Scales back to the recorded count, then removes the annotations. */
  restore(namespace: string, workload: QuiescedWorkload): Promise<void>;
}
