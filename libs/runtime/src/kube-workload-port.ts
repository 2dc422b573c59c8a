import {
  QUIESCED_BY_ANNOTATION,
  QUIESCED_REPLICAS_ANNOTATION,
  type MountingPod,
  type QuiescedWorkload,
  type WorkloadName,
  type WorkloadPort,
} from '#lib/engine';
import { isLivePod, mountsClaim, type KubeWorkloads } from '#lib/kube';
import type { VolumeRef } from '#lib/storage';

/**
 * {@link WorkloadPort} over the Kubernetes API: pods by `spec.volumes[].persistentVolumeClaim`,
 * owners through ReplicaSets, replicas through the scale subresource, the recorded count in
 * the workload's annotations.
 */
export class KubeWorkloadPort implements WorkloadPort {
  constructor(private readonly workloads: KubeWorkloads) {}

  async podsMounting(volume: VolumeRef): Promise<MountingPod[]> {
    const pods = (await this.workloads.listPods(volume.namespace)).filter(
      (pod) => isLivePod(pod) && mountsClaim(pod, volume.name),
    );
    const result: MountingPod[] = [];
    for (const pod of pods) {
      const owner = await this.workloads.ownerOf(pod);
      result.push({
        name: pod.metadata.name,
        owner: owner ? { kind: owner.kind, name: owner.name } : undefined,
      });
    }
    return result;
  }

  async quiescedBy(namespace: string, owner: string): Promise<QuiescedWorkload[]> {
    const marked = await this.workloads.annotated(namespace, QUIESCED_REPLICAS_ANNOTATION);
    return marked
      .filter((w) => w.metadata.annotations?.[QUIESCED_BY_ANNOTATION] === owner)
      .map((w) => ({
        kind: w.kind,
        name: w.name,
        replicas: Number(w.metadata.annotations?.[QUIESCED_REPLICAS_ANNOTATION] ?? 0),
      }));
  }

  async scaleDown(namespace: string, workload: WorkloadName, owner: string): Promise<number> {
    const ref = { ...workload, namespace };
    const current = await this.workloads.get(ref);
    const recorded = current?.metadata.annotations?.[QUIESCED_REPLICAS_ANNOTATION];
    // Recorded by an earlier attempt: that count is the original one, not today's zero.
    const replicas = recorded !== undefined ? Number(recorded) : await this.workloads.replicas(ref);
    if (recorded === undefined) {
      await this.workloads.annotate(ref, {
        [QUIESCED_REPLICAS_ANNOTATION]: String(replicas),
        [QUIESCED_BY_ANNOTATION]: owner,
      });
    }
    await this.workloads.scale(ref, 0);
    return replicas;
  }

  async restore(namespace: string, workload: QuiescedWorkload): Promise<void> {
    const ref = { kind: workload.kind, name: workload.name, namespace };
    await this.workloads.scale(ref, workload.replicas);
    await this.workloads.annotate(ref, {
      [QUIESCED_REPLICAS_ANNOTATION]: null,
      [QUIESCED_BY_ANNOTATION]: null,
    });
  }
}
