import type { AppsV1Api } from '@kubernetes/client-node';
import { clientNode, mergePatchOptions } from './client-node.js';
import type { KubeClient } from './kube-client.js';
import { undefinedIfNotFound } from './kube-api-error.js';
import { asKubeObject, listItems, toPlain, type KubeObject } from './resources.js';

/** An owner reference as pods and ReplicaSets carry it. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** The subset of a core/v1 Pod snapwarden uses (hooks and quiesce). */
export interface Pod extends KubeObject {
  metadata: KubeObject['metadata'] & { ownerReferences?: OwnerReference[] };
  spec?: {
    containers?: { name: string }[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
  status?: { phase?: string };
}

/** A workload that can be scaled: `Deployment` or `StatefulSet` (apps/v1). */
export interface WorkloadRef {
  kind: 'Deployment' | 'StatefulSet';
  namespace: string;
  name: string;
}

/** A Deployment or StatefulSet as read for quiesce. */
export interface Workload extends KubeObject {
  metadata: KubeObject['metadata'] & { ownerReferences?: OwnerReference[] };
  spec?: { replicas?: number };
}

/** Whether a pod mounts the claim `claimName` (in its own namespace). */
export function mountsClaim(pod: Pod, claimName: string): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claimName);
}

/** Whether a pod is running or about to (neither finished nor being deleted). */
export function isLivePod(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * Pods, owners and the scale subresource of Deployments and StatefulSets, through
 * client-node's typed APIs and the {@link KubeClient}'s rate limit and retries. RBAC: pods
 * `list`; replicasets `get` (a Deployment owns its pods through a ReplicaSet); deployments and
 * statefulsets `get`/`patch` (the recorded replica count is an annotation) and `list` (the
 * workloads a restore left scaled down); their `scale` subresource `get`/`patch`.
 */
export class KubeWorkloads {
  private readonly apps: AppsV1Api;

  constructor(private readonly kube: KubeClient) {
    this.apps = kube.kc.makeApiClient(clientNode().AppsV1Api);
  }

  /** Pods of a namespace, optionally by label selector. */
  async listPods(namespace: string, labelSelector?: string): Promise<Pod[]> {
    const list = await this.kube.request(
      () => this.kube.core.listNamespacedPod({ namespace, labelSelector }),
      true,
    );
    return listItems<Pod>(toPlain(list));
  }

  /**
   * The Deployment or StatefulSet controlling a pod (through its ReplicaSet for Deployments),
   * or undefined for a pod no scalable workload controls.
   */
  async ownerOf(pod: Pod): Promise<WorkloadRef | undefined> {
    const namespace = pod.metadata.namespace ?? '';
    const owner = controllerOf(pod);
    if (owner?.kind === 'StatefulSet') return { kind: 'StatefulSet', namespace, name: owner.name };
    if (owner?.kind !== 'ReplicaSet') return undefined;
    const rs = await undefinedIfNotFound(async () =>
      asKubeObject<Workload>(
        toPlain(
          await this.kube.request(
            () => this.apps.readNamespacedReplicaSet({ namespace, name: owner.name }),
            true,
          ),
        ),
      ),
    );
    const deployment = rs ? controllerOf(rs) : undefined;
    return deployment?.kind === 'Deployment'
      ? { kind: 'Deployment', namespace, name: deployment.name }
      : undefined;
  }

  /** The workload object (for its annotations). */
  async get(ref: WorkloadRef): Promise<Workload | undefined> {
    const { namespace, name } = ref;
    return undefinedIfNotFound(async () =>
      asKubeObject<Workload>(
        toPlain(
          await this.kube.request(
            () =>
              ref.kind === 'Deployment'
                ? this.apps.readNamespacedDeployment({ namespace, name })
                : this.apps.readNamespacedStatefulSet({ namespace, name }),
            true,
          ),
        ),
      ),
    );
  }

  /** `spec.replicas` from the scale subresource. */
  async replicas(ref: WorkloadRef): Promise<number> {
    const { namespace, name } = ref;
    const scale = await this.kube.request(
      () =>
        ref.kind === 'Deployment'
          ? this.apps.readNamespacedDeploymentScale({ namespace, name })
          : this.apps.readNamespacedStatefulSetScale({ namespace, name }),
      true,
    );
    return scale.spec?.replicas ?? 0;
  }

  /** Sets `spec.replicas` through the scale subresource (a merge patch: idempotent). */
  async scale(ref: WorkloadRef, replicas: number): Promise<void> {
    const { namespace, name } = ref;
    const body = { spec: { replicas } };
    await this.kube.request(
      () =>
        ref.kind === 'Deployment'
          ? this.apps.patchNamespacedDeploymentScale({ namespace, name, body }, mergePatchOptions())
          : this.apps.patchNamespacedStatefulSetScale(
              { namespace, name, body },
              mergePatchOptions(),
            ),
      true,
    );
  }

  /** Sets (a string) or removes (null) annotations of the workload (one merge patch). */
  async annotate(ref: WorkloadRef, annotations: Record<string, string | null>): Promise<void> {
    const { namespace, name } = ref;
    const body = { metadata: { annotations } };
    await this.kube.request(
      () =>
        ref.kind === 'Deployment'
          ? this.apps.patchNamespacedDeployment({ namespace, name, body }, mergePatchOptions())
          : this.apps.patchNamespacedStatefulSet({ namespace, name, body }, mergePatchOptions()),
      true,
    );
  }

  /** Deployments and StatefulSets of a namespace carrying `annotation`. */
  async annotated(namespace: string, annotation: string): Promise<(WorkloadRef & Workload)[]> {
    const [deployments, statefulSets] = await Promise.all([
      this.kube.request(() => this.apps.listNamespacedDeployment({ namespace }), true),
      this.kube.request(() => this.apps.listNamespacedStatefulSet({ namespace }), true),
    ]);
    const pick = (list: unknown, kind: WorkloadRef['kind']) =>
      listItems<Workload>(toPlain(list))
        .filter((w) => w.metadata.annotations?.[annotation] !== undefined)
        .map((w) => ({ ...w, kind, namespace, name: w.metadata.name }));
    return [...pick(deployments, 'Deployment'), ...pick(statefulSets, 'StatefulSet')];
  }
}

function controllerOf(object: {
  metadata: { ownerReferences?: OwnerReference[] };
}): OwnerReference | undefined {
  const refs = object.metadata.ownerReferences ?? [];
  return refs.find((r) => r.controller === true) ?? refs[0];
}
